//! Staff administration of units and desks: the tree, creation, edits and moves, deactivation,
//! desks with their codes and posters, validation, permissions by role, and the audit trail.

use crate::common;

use common::location;

use common::{StaffClient, TestApp, full_answers, with_hidden};
use serde_json::Value;

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const BAO_HOA: &str = "xuan-loc.bao-hoa";
const XUAN_BAC_DESK: &str = "Bộ phận Tiếp nhận và Trả kết quả xã Xuân Bắc";
const PUBLIC_URL: &str = "https://hailong.example.gov.vn";

/// The id of the first desk of the unit with `code`.
async fn desk_id(app: &TestApp, code: &str) -> i32 {
    app.sql()
        .await
        .query_one(
            "SELECT d.id FROM desks d JOIN units u ON u.id = d.unit_id WHERE u.code = $1 \
             ORDER BY d.id LIMIT 1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0)
}

async fn account_id(app: &TestApp, username: &str) -> i32 {
    app.sql()
        .await
        .query_one("SELECT id FROM accounts WHERE username = $1", &[&username])
        .await
        .unwrap()
        .get(0)
}

/// The audit entries of `action` on entity `id`: (account, before, after), oldest first.
async fn audit(app: &TestApp, action: &str, id: i32) -> Vec<(Option<i32>, Value, Value)> {
    let rows = app
        .sql()
        .await
        .query(
            "SELECT account_id, before::text, after::text FROM audit_log \
             WHERE action = $1 AND entity_id = $2 ORDER BY id",
            &[&action, &id.to_string()],
        )
        .await
        .unwrap();
    let parse =
        |text: Option<String>| text.map_or(Value::Null, |t| serde_json::from_str(&t).unwrap());
    rows.into_iter()
        .map(|r| (r.get(0), parse(r.get(1)), parse(r.get(2))))
        .collect()
}

/// Audit entries about units and desks.
async fn audit_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM audit_log WHERE entity IN ('unit', 'desk')")
        .await
}

/// The table row of a page that contains `needle`.
fn row_of<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} is not on the page"));
    let start = html[..at].rfind("<tr>").expect("inside a table row");
    let end = at + html[at..].find("</tr>").expect("a closed row");
    &html[start..end]
}

/// Asserts that `message` is shown inside the form field `field` (next to it).
fn assert_next_to(html: &str, field: &str, message: &str) {
    let label = format!("for=\"f-{field}\"");
    let at = html
        .find(&label)
        .unwrap_or_else(|| panic!("no field {field}"));
    let start = html[..at].rfind("<div class=\"field").expect("a field");
    let end = at + html[at..].find("</div>").expect("a closed field");
    let block = &html[start..end];
    assert!(
        block.starts_with("<div class=\"field err\"") && block.contains(message),
        "{field}: expected “{message}” next to the field, got {block}"
    );
}

/// Submits one complete survey at the desk with public `code`.
async fn answer(app: &TestApp, code: &str) {
    let (_, token, version) = app.open_survey(code).await;
    let fields = full_answers("4");
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// The text a QR code in `png` holds (exactly one readable code).
fn decode_qr(png: &[u8]) -> String {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code");
    grids[0].decode().expect("a readable QR code").1
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

// ----- units -----

#[tokio::test]
async fn the_unit_list_is_a_tree_of_the_accounts_scope() {
    let app = TestApp::spawn().await;
    answer(&app, &app.desk_code(XUAN_BAC).await).await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let response = admin.get("/staff/units").await;
    assert_eq!(response.status(), 200);
    let html = text(response).await;
    assert!(
        html.contains("href=\"/staff/units/new\""),
        "admins can add units"
    );
    let province = row_of(&html, "UBND tỉnh Đồng Nai");
    assert!(province.contains("<td>Tỉnh</td>") && province.contains("dong-nai"));
    assert!(
        province.contains("kế thừa: Khảo sát sự hài lòng về dịch vụ hành chính công <small class=\"code\" title=\"Mã mẫu phiếu\">sipas-1001-dich-vu</small>"),
        "{province}"
    );
    let district = row_of(&html, "UBND huyện Xuân Lộc");
    assert!(district.contains("<td>Huyện</td>"));
    assert!(
        district.contains("<td>Khảo sát sự hài lòng về dịch vụ hành chính công <small class=\"code\" title=\"Mã mẫu phiếu\">sipas-1001-dich-vu</small></td>"),
        "own form: {district}"
    );
    // Depth: the province is not indented, the district once, its units twice.
    assert!(!province.contains('└'));
    assert!(district.contains("└"), "{district}");
    let commune = row_of(&html, "UBND xã Xuân Bắc");
    assert!(commune.contains("\u{a0}\u{a0}\u{a0}\u{a0}└"), "{commune}");
    assert!(commune.contains("<td>Xã</td>"));
    assert!(commune.contains("xuan-loc.xuan-bac"));
    assert!(commune.contains("Đang hoạt động"));
    assert!(commune.contains("kế thừa: Khảo sát sự hài lòng về dịch vụ hành chính công <small class=\"code\" title=\"Mã mẫu phiếu\">sipas-1001-dich-vu</small>"));
    assert!(
        commune.contains("<td class=\"num\">1</td><td class=\"num\">1</td>"),
        "one desk, one response: {commune}"
    );
    let office = row_of(&html, "Văn phòng HĐND và UBND huyện");
    assert!(office.contains("<td>Phòng/ban</td>"));
    assert!(
        office.contains("<td class=\"num\">2</td><td class=\"num\">0</td>"),
        "{office}"
    );
    assert!(row_of(&html, "UBND thị trấn Gia Ray").contains("<td>Thị trấn</td>"));
    // Every unit, besides the links to add a unit and to import / export the list.
    assert_eq!(
        html.matches("href=\"/staff/units/").count() - 2,
        30,
        "every unit"
    );
    assert!(
        html.contains("không bị xóa"),
        "the page says units are not deleted"
    );

    // A unit account sees its subtree only, not indented, without the admin link.
    let unit = app.staff_with_role("xb.canbo", "unit", &[XUAN_BAC]).await;
    let html = text(unit.get("/staff/units").await).await;
    assert!(html.contains("UBND xã Xuân Bắc"));
    assert!(!html.contains("UBND xã Bảo Hòa") && !html.contains("UBND huyện Xuân Lộc"));
    assert!(!row_of(&html, "UBND xã Xuân Bắc").contains('└'));
    assert!(!html.contains("/staff/units/new"));
    let district_account = app.staff_with_role("xl.canbo", "unit", &["xuan-loc"]).await;
    let html = text(district_account.get("/staff/units").await).await;
    assert!(html.contains("UBND xã Bảo Hòa") && html.contains("UBND huyện Xuân Lộc"));
    assert!(!html.contains("UBND tỉnh Đồng Nai"));

    // Viewers read everything, with no admin link.
    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let html = text(viewer.get("/staff/units").await).await;
    assert!(html.contains("UBND tỉnh Đồng Nai") && html.contains("UBND xã Bảo Hòa"));
    assert!(!html.contains("/staff/units/new"));

    let anonymous = StaffClient::new(&app.address);
    let response = anonymous.get("/staff/units").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sign-in?next=%2Fstaff%2Funits");
}

#[tokio::test]
async fn an_admin_creates_a_unit_and_others_cannot() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let page = admin.get("/staff/units/new").await;
    assert_eq!(page.status(), 200);
    let html = text(page).await;
    for option in [
        "Tỉnh",
        "Huyện",
        "Phòng/ban",
        "Xã",
        "Thị trấn",
        "Phường",
        "Khác",
    ] {
        assert!(html.contains(&format!(">{option}</option>")), "{option}");
    }
    assert!(html.contains("Kế thừa từ đơn vị cấp trên"));
    assert!(html.contains("value=\"danh-gia-mot-cua\""));

    let district = app.unit_id("xuan-loc").await;
    let parent = district.to_string();
    let fields = [
        ("name", "  UBND xã Xuân Lộc Mới "),
        ("code", "xuan-loc.xuan-loc-moi"),
        ("kind", "commune"),
        ("parent", parent.as_str()),
        ("default_form", "danh-gia-mot-cua"),
    ];
    let before = audit_count(&app).await;
    // Neither unit accounts (404) nor viewers (403) nor anyone without the token.
    let unit = app.staff_with_role("xb.canbo", "unit", &[XUAN_BAC]).await;
    assert_eq!(unit.get("/staff/units/new").await.status(), 404);
    assert_eq!(unit.post("/staff/units/new", &fields).await.status(), 404);
    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    assert_eq!(viewer.get("/staff/units/new").await.status(), 404);
    assert_eq!(viewer.post("/staff/units/new", &fields).await.status(), 403);
    assert_eq!(
        admin.post_raw("/staff/units/new", &fields).await.status(),
        403
    );
    let anonymous = StaffClient::new(&app.address);
    let response = anonymous.post_raw("/staff/units/new", &fields).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in"));
    assert_eq!(app.count("SELECT count(*) FROM units").await, 30);
    assert_eq!(audit_count(&app).await, before);

    let response = admin.post("/staff/units/new", &fields).await;
    assert_eq!(response.status(), 303);
    let id = app.unit_id("xuan-loc.xuan-loc-moi").await;
    assert_eq!(location(&response), format!("/staff/units/{id}?ok=created"));
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT name, kind, parent_id, default_form_id, active FROM units WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "UBND xã Xuân Lộc Mới");
    assert_eq!(row.get::<_, String>(1), "commune");
    assert_eq!(row.get::<_, Option<i32>>(2), Some(district));
    assert_eq!(
        row.get::<_, Option<String>>(3).as_deref(),
        Some("danh-gia-mot-cua")
    );
    assert!(row.get::<_, bool>(4));
    let entries = audit(&app, "unit.create", id).await;
    assert_eq!(entries.len(), 1);
    let (by, before_json, after_json) = &entries[0];
    assert_eq!(*by, Some(account_id(&app, "an.admin").await));
    assert_eq!(*before_json, Value::Null);
    assert_eq!(after_json["code"], "xuan-loc.xuan-loc-moi");
    assert_eq!(after_json["name"], "UBND xã Xuân Lộc Mới");
    assert_eq!(after_json["parent_id"], district);

    let html = text(admin.get(&location(&response)).await).await;
    assert!(html.contains("Đã thêm đơn vị."));
    assert!(html.contains("<h1>UBND xã Xuân Lộc Mới</h1>"));
    assert!(html.contains("danh-gia-mot-cua"));
    // A unit at the top of the tree, inheriting the installation default.
    let response = admin
        .post(
            "/staff/units/new",
            &[
                ("name", "UBND tỉnh Bình Phước"),
                ("code", "binh-phuoc"),
                ("kind", "province"),
                ("parent", ""),
                ("default_form", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT parent_id, default_form_id FROM units WHERE code = 'binh-phuoc'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), None);
    assert_eq!(row.get::<_, Option<String>>(1), None);
}

#[tokio::test]
async fn a_refused_unit_stores_nothing_and_says_why() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let district = app.unit_id("xuan-loc").await.to_string();
    let too_long = "ữ".repeat(201);
    let cases: [(&str, &str, &str); 10] = [
        ("name", "   ", "Vui lòng nhập tên đơn vị."),
        ("name", too_long.as_str(), "không được dài quá 200 ký tự"),
        (
            "code",
            "xuan-loc.xuan-bac",
            "Mã đơn vị này đã được dùng cho một đơn vị khác.",
        ),
        ("code", "Xuân Lộc", "Mã đơn vị chỉ gồm chữ thường không dấu"),
        ("code", "-abc", "Mã đơn vị chỉ gồm chữ thường không dấu"),
        ("code", "", "Vui lòng nhập mã đơn vị."),
        ("parent", "999999", "Đơn vị cấp trên không tồn tại."),
        ("parent", "abc", "Đơn vị cấp trên không tồn tại."),
        (
            "default_form",
            "khong-co-mau-nay",
            "Mẫu phiếu không tồn tại.",
        ),
        ("kind", "planet", "Vui lòng chọn loại đơn vị."),
    ];
    let units = app.count("SELECT count(*) FROM units").await;
    let entries = audit_count(&app).await;
    for (field, value, message) in cases {
        let mut fields = vec![
            ("name", "UBND xã Thử Nghiệm"),
            ("code", "xuan-loc.thu-nghiem"),
            ("kind", "commune"),
            ("parent", district.as_str()),
            ("default_form", ""),
        ];
        fields.iter_mut().find(|(k, _)| *k == field).unwrap().1 = value;
        let response = admin.post("/staff/units/new", &fields).await;
        assert_eq!(response.status(), 422, "{field} = {value}");
        let html = text(response).await;
        assert_next_to(&html, field, message);
        assert!(html.contains("Chưa lưu được."));
        // The typed values come back.
        if field != "name" {
            assert!(html.contains("value=\"UBND xã Thử Nghiệm\""), "{field}");
        }
        assert_eq!(
            app.count("SELECT count(*) FROM units").await,
            units,
            "{field}"
        );
        assert_eq!(audit_count(&app).await, entries, "{field}");
    }
    // 200 characters (not bytes) is within the limit.
    let name = "ữ".repeat(200);
    let response = admin
        .post(
            "/staff/units/new",
            &[
                ("name", name.as_str()),
                ("code", "xuan-loc.dai"),
                ("kind", "other"),
                ("parent", district.as_str()),
                ("default_form", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn an_admin_renames_moves_and_changes_the_form_of_a_unit() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    let district = app.unit_id("xuan-loc").await;
    let town = app.unit_id("xuan-loc.gia-ray").await;
    let page = admin.get(&format!("/staff/units/{xuan_bac}")).await;
    assert_eq!(page.status(), 200);
    let html = text(page).await;
    assert!(html.contains("Sửa thông tin đơn vị") && html.contains("Ngừng hoạt động"));
    assert!(html.contains(XUAN_BAC_DESK));
    assert!(!html.contains(">Xóa"), "no deletion is offered");
    assert!(html.contains("không bị xóa"));
    // The unit itself cannot be chosen as its parent.
    assert!(
        html.contains(&format!("<option value=\"{xuan_bac}\" disabled>")),
        "{html}"
    );

    let town_text = town.to_string();
    let response = admin
        .post(
            &format!("/staff/units/{xuan_bac}"),
            &[
                ("name", "UBND phường Xuân Bắc"),
                ("kind", "ward"),
                ("parent", town_text.as_str()),
                ("default_form", "danh-gia-mot-cua"),
                // Ignored: the code does not change.
                ("code", "doi-ma"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/units/{xuan_bac}?ok=updated")
    );
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT name, kind, parent_id, default_form_id, code FROM units WHERE id = $1",
            &[&xuan_bac],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "UBND phường Xuân Bắc");
    assert_eq!(row.get::<_, String>(1), "ward");
    assert_eq!(row.get::<_, Option<i32>>(2), Some(town));
    assert_eq!(
        row.get::<_, Option<String>>(3).as_deref(),
        Some("danh-gia-mot-cua")
    );
    assert_eq!(row.get::<_, String>(4), XUAN_BAC);
    let entries = audit(&app, "unit.update", xuan_bac).await;
    assert_eq!(entries.len(), 1);
    let (by, before, after) = &entries[0];
    assert_eq!(*by, Some(account_id(&app, "an.admin").await));
    assert_eq!(before["name"], "UBND xã Xuân Bắc");
    assert_eq!(before["kind"], "commune");
    assert_eq!(before["parent_id"], district);
    assert_eq!(before["default_form_id"], Value::Null);
    assert_eq!(after["name"], "UBND phường Xuân Bắc");
    assert_eq!(after["kind"], "ward");
    assert_eq!(after["parent_id"], town);
    assert_eq!(after["default_form_id"], "danh-gia-mot-cua");
    let html = text(admin.get(&location(&response)).await).await;
    assert!(html.contains("Đã lưu thay đổi."));
    assert!(html.contains("UBND thị trấn Gia Ray"));
    // Its desk now shows the unit's new form.
    let survey = text(
        app.get(&format!("/s/{}", app.desk_code(XUAN_BAC).await))
            .await,
    )
    .await;
    assert!(survey.contains("Đánh giá sự phục vụ tại Bộ phận Tiếp nhận và Trả kết quả"));
    // The town's staff now look after the moved unit too.
    let town_staff = app
        .staff_with_role("gr.canbo", "unit", &["xuan-loc.gia-ray"])
        .await;
    assert_eq!(
        town_staff
            .get(&format!("/staff/units/{xuan_bac}"))
            .await
            .status(),
        200
    );

    // Saving the same values again writes no audit entry.
    let same = [
        ("name", "UBND phường Xuân Bắc"),
        ("kind", "ward"),
        ("parent", town_text.as_str()),
        ("default_form", "danh-gia-mot-cua"),
    ];
    let response = admin.post(&format!("/staff/units/{xuan_bac}"), &same).await;
    assert_eq!(response.status(), 303);
    assert_eq!(audit(&app, "unit.update", xuan_bac).await.len(), 1);
}

#[tokio::test]
async fn a_unit_cannot_move_into_its_own_subtree_and_bad_edits_store_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let district = app.unit_id("xuan-loc").await;
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    let province = app.unit_id("dong-nai").await.to_string();
    let own = district.to_string();
    let below = xuan_bac.to_string();
    let too_long = "a".repeat(201);
    let cases: [(&str, &str, &str); 6] = [
        (
            "parent",
            own.as_str(),
            "Không thể chuyển đơn vị vào chính nó hoặc vào một đơn vị trực thuộc của nó.",
        ),
        (
            "parent",
            below.as_str(),
            "Không thể chuyển đơn vị vào chính nó hoặc vào một đơn vị trực thuộc của nó.",
        ),
        ("parent", "999999", "Đơn vị cấp trên không tồn tại."),
        ("name", "", "Vui lòng nhập tên đơn vị."),
        ("name", too_long.as_str(), "không được dài quá 200 ký tự"),
        ("default_form", "khong-co", "Mẫu phiếu không tồn tại."),
    ];
    let entries = audit_count(&app).await;
    for (field, value, message) in cases {
        let mut fields = vec![
            ("name", "UBND huyện Xuân Lộc (mới)"),
            ("kind", "district"),
            ("parent", province.as_str()),
            ("default_form", "sipas-1001-dich-vu"),
        ];
        fields.iter_mut().find(|(k, _)| *k == field).unwrap().1 = value;
        let response = admin
            .post(&format!("/staff/units/{district}"), &fields)
            .await;
        assert_eq!(response.status(), 422, "{field} = {value}");
        let html = text(response).await;
        assert_next_to(&html, field, message);
        assert!(html.contains("Sửa thông tin đơn vị"));
        let row = app
            .sql()
            .await
            .query_one(
                "SELECT name, parent_id::text FROM units WHERE id = $1",
                &[&district],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "UBND huyện Xuân Lộc", "{field}");
        assert_eq!(
            row.get::<_, Option<String>>(1).as_deref(),
            Some(province.as_str())
        );
        assert_eq!(audit_count(&app).await, entries, "{field}");
    }
    // Unknown and malformed ids are pages that do not exist.
    assert_eq!(admin.get("/staff/units/999999").await.status(), 404);
    assert_eq!(admin.get("/staff/units/abc").await.status(), 404);
    assert_eq!(admin.get("/staff/units/1.5").await.status(), 404);
    let fields = [
        ("name", "X"),
        ("kind", "other"),
        ("parent", ""),
        ("default_form", ""),
    ];
    assert_eq!(
        admin.post("/staff/units/999999", &fields).await.status(),
        404
    );
    assert_eq!(admin.post("/staff/units/abc", &fields).await.status(), 404);
    assert_eq!(
        admin
            .post("/staff/units/999999/deactivate", &[])
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn unit_pages_are_read_only_outside_admin_and_hidden_outside_the_scope() {
    let app = TestApp::spawn().await;
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    let bao_hoa = app.unit_id(BAO_HOA).await;
    let district = app.unit_id("xuan-loc").await;
    let edit = [
        ("name", "Đổi tên"),
        ("kind", "commune"),
        ("parent", ""),
        ("default_form", ""),
    ];
    let entries = audit_count(&app).await;

    let unit = app.staff_with_role("xb.canbo", "unit", &[XUAN_BAC]).await;
    let page = unit.get(&format!("/staff/units/{xuan_bac}")).await;
    assert_eq!(page.status(), 200);
    let html = text(page).await;
    assert!(html.contains("<h1>UBND xã Xuân Bắc</h1>"));
    assert!(!html.contains("Sửa thông tin đơn vị") && !html.contains("/deactivate"));
    // The parent is named but not linked: it is outside the account's scope.
    assert!(html.contains("UBND huyện Xuân Lộc"));
    assert!(!html.contains(&format!("href=\"/staff/units/{district}\"")));
    assert!(html.contains(&format!("href=\"/staff/desks/new?unit={xuan_bac}\"")));
    for id in [bao_hoa, district] {
        assert_eq!(unit.get(&format!("/staff/units/{id}")).await.status(), 404);
        assert_eq!(
            unit.post(&format!("/staff/units/{id}"), &edit)
                .await
                .status(),
            404
        );
        for action in ["deactivate", "activate"] {
            let path = format!("/staff/units/{id}/{action}");
            assert_eq!(unit.post(&path, &[]).await.status(), 404, "{path}");
        }
    }
    // Its own unit: visible but not for the unit's staff to change.
    assert_eq!(
        unit.post(&format!("/staff/units/{xuan_bac}"), &edit)
            .await
            .status(),
        403
    );
    let path = format!("/staff/units/{xuan_bac}/deactivate");
    assert_eq!(unit.post(&path, &[]).await.status(), 403);

    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let html = text(viewer.get(&format!("/staff/units/{bao_hoa}")).await).await;
    assert!(html.contains("<h1>UBND xã Bảo Hòa</h1>"));
    assert!(!html.contains("Sửa thông tin đơn vị") && !html.contains("/deactivate"));
    assert!(!html.contains("/staff/desks/new"));
    assert_eq!(
        viewer
            .post(&format!("/staff/units/{bao_hoa}"), &edit)
            .await
            .status(),
        403
    );
    let path = format!("/staff/units/{bao_hoa}/deactivate");
    assert_eq!(viewer.post(&path, &[]).await.status(), 403);

    let anonymous = StaffClient::new(&app.address);
    let response = anonymous.get(&format!("/staff/units/{xuan_bac}")).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/sign-in?next=%2Fstaff%2Funits%2F{xuan_bac}")
    );
    assert_eq!(anonymous.post_raw(&path, &[]).await.status(), 303);

    assert_eq!(
        app.count("SELECT count(*) FROM units WHERE NOT active")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM units WHERE name = 'Đổi tên'")
            .await,
        0
    );
    assert_eq!(audit_count(&app).await, entries);
}

#[tokio::test]
async fn a_deactivated_units_desks_stop_accepting_until_it_is_reactivated() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    let code = app.desk_code(XUAN_BAC).await;
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 200);

    let response = admin
        .post(&format!("/staff/units/{xuan_bac}/deactivate"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/units/{xuan_bac}?ok=deactivated")
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM units WHERE id = {xuan_bac} AND NOT active"
        ))
        .await,
        1
    );
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 404);
    let html = text(admin.get(&location(&response)).await).await;
    assert!(html.contains("Đơn vị đã ngừng hoạt động."));
    assert!(html.contains("Hoạt động trở lại"));
    assert!(
        !html.contains("/staff/desks/new?unit="),
        "no new desks in a deactivated unit"
    );
    let list = text(admin.get("/staff/units").await).await;
    assert!(row_of(&list, "UBND xã Xuân Bắc").contains("Ngừng hoạt động"));
    let entries = audit(&app, "unit.deactivate", xuan_bac).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Some(account_id(&app, "an.admin").await));
    assert_eq!(entries[0].1["active"], true);
    assert_eq!(entries[0].2["active"], false);
    // Twice is the same as once.
    admin
        .post(&format!("/staff/units/{xuan_bac}/deactivate"), &[])
        .await;
    assert_eq!(audit(&app, "unit.deactivate", xuan_bac).await.len(), 1);

    let response = admin
        .post(&format!("/staff/units/{xuan_bac}/activate"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/units/{xuan_bac}?ok=activated")
    );
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 200);
    let entries = audit(&app, "unit.activate", xuan_bac).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].1["active"], false);
    assert_eq!(entries[0].2["active"], true);
}

// ----- desks -----

#[tokio::test]
async fn the_desk_list_groups_the_desks_of_the_scope_by_unit() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    answer(&app, &code).await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let response = admin.get("/staff/desks").await;
    assert_eq!(response.status(), 200);
    let html = text(response).await;
    assert!(html.contains("href=\"/staff/desks/new\""));
    assert_eq!(html.matches("<tr><td><a href=\"/staff/desks/").count(), 29);
    let link = format!("{PUBLIC_URL}/s/{code}");
    let desk = row_of(&html, XUAN_BAC_DESK);
    assert!(desk.contains(&format!("<code>{code}</code>")));
    assert!(desk.contains(&format!("href=\"{link}\"")), "{desk}");
    assert!(desk.contains("kế thừa: Khảo sát sự hài lòng về dịch vụ hành chính công <small class=\"code\" title=\"Mã mẫu phiếu\">sipas-1001-dich-vu</small>"));
    assert!(desk.contains("Đang hoạt động"));
    assert!(
        desk.contains("<td class=\"num\">1</td>"),
        "one response: {desk}"
    );
    let quick = row_of(&html, "Quầy đánh giá nhanh - Bộ phận Một cửa huyện");
    assert!(
        quick.contains(
            "<td>Đánh giá Bộ phận một cửa <small class=\"code\" title=\"Mã mẫu phiếu\">danh-gia-mot-cua</small></td>"
        ),
        "own form: {quick}"
    );
    // Grouped: one heading per unit, the office's two desks under one.
    assert!(html.contains("<h2><a href=\"/staff/units/"));
    assert_eq!(
        html.matches(">Văn phòng HĐND và UBND huyện</a></h2>")
            .count(),
        1
    );

    let unit = app.staff_with_role("xb.canbo", "unit", &[XUAN_BAC]).await;
    let html = text(unit.get("/staff/desks").await).await;
    assert_eq!(html.matches("<tr><td><a href=\"/staff/desks/").count(), 1);
    assert!(html.contains(XUAN_BAC_DESK) && html.contains("/staff/desks/new"));
    assert!(!html.contains("Bảo Hòa"));

    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let html = text(viewer.get("/staff/desks").await).await;
    assert_eq!(html.matches("<tr><td><a href=\"/staff/desks/").count(), 29);
    assert!(!html.contains("/staff/desks/new"));

    let anonymous = StaffClient::new(&app.address);
    assert_eq!(anonymous.get("/staff/desks").await.status(), 303);
}

#[tokio::test]
async fn desks_are_created_by_admins_and_by_units_in_their_scope() {
    let app = TestApp::spawn().await;
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    let bao_hoa = app.unit_id(BAO_HOA).await;
    let xb = xuan_bac.to_string();
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let page = text(
        admin
            .get(&format!("/staff/desks/new?unit={xuan_bac}"))
            .await,
    )
    .await;
    assert!(
        page.contains(&format!("<option value=\"{xuan_bac}\" selected>")),
        "preselected"
    );
    assert!(page.contains("Kế thừa từ đơn vị"));

    let response = admin
        .post(
            "/staff/desks/new",
            &[("unit", xb.as_str()), ("name", " Quầy số 2 "), ("form", "")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT d.id, d.unit_id, d.form_id, d.active, c.code FROM desks d \
             JOIN desk_codes c ON c.desk_id = d.id AND c.retired_at IS NULL \
             WHERE d.name = 'Quầy số 2'",
            &[],
        )
        .await
        .unwrap();
    let id: i32 = row.get(0);
    let code: String = row.get(4);
    assert_eq!(location(&response), format!("/staff/desks/{id}?ok=created"));
    assert_eq!(row.get::<_, i32>(1), xuan_bac);
    assert_eq!(row.get::<_, Option<String>>(2), None);
    assert!(row.get::<_, bool>(3));
    let entries = audit(&app, "desk.create", id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Some(account_id(&app, "an.admin").await));
    assert_eq!(entries[0].1, Value::Null);
    assert_eq!(entries[0].2["desk"]["name"], "Quầy số 2");
    assert_eq!(entries[0].2["desk"]["unit_id"], xuan_bac);
    assert_eq!(entries[0].2["code"], code.as_str());
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 200);
    let html = text(admin.get(&location(&response)).await).await;
    assert!(html.contains("Đã thêm quầy tiếp nhận."));
    assert!(html.contains(&format!("{PUBLIC_URL}/s/{code}")));

    // A unit's staff add a desk to their own unit, with its own form.
    let unit = app.staff_with_role("xb.canbo", "unit", &[XUAN_BAC]).await;
    let page = text(unit.get("/staff/desks/new").await).await;
    assert!(page.contains(&format!("<option value=\"{xuan_bac}\" selected>")));
    assert!(
        !page.contains("Bảo Hòa"),
        "the select is limited to the scope"
    );
    let response = unit
        .post(
            "/staff/desks/new",
            &[
                ("unit", xb.as_str()),
                ("name", "Quầy đánh giá nhanh"),
                ("form", "danh-gia-mot-cua"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let form: Option<String> = app
        .sql()
        .await
        .query_one(
            "SELECT form_id FROM desks WHERE name = 'Quầy đánh giá nhanh'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(form.as_deref(), Some("danh-gia-mot-cua"));
    // The same name in another unit is fine.
    let response = admin
        .post(
            "/staff/desks/new",
            &[
                ("unit", xb.as_str()),
                ("name", "Bộ phận tiếp nhận hồ sơ"),
                ("form", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    // Another unit, a forged or malformed unit: 404, nothing stored. Viewers: 403.
    let desks = app.count("SELECT count(*) FROM desks").await;
    let entries = audit_count(&app).await;
    let other = bao_hoa.to_string();
    for forged in [other.as_str(), "999999", "abc"] {
        let fields = [("unit", forged), ("name", "Quầy lạ"), ("form", "")];
        assert_eq!(
            unit.post("/staff/desks/new", &fields).await.status(),
            404,
            "{forged}"
        );
    }
    for forged in ["999999", "abc"] {
        let fields = [("unit", forged), ("name", "Quầy lạ"), ("form", "")];
        assert_eq!(
            admin.post("/staff/desks/new", &fields).await.status(),
            404,
            "{forged}"
        );
    }
    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    assert_eq!(viewer.get("/staff/desks/new").await.status(), 403);
    let fields = [("unit", xb.as_str()), ("name", "Quầy lạ"), ("form", "")];
    assert_eq!(viewer.post("/staff/desks/new", &fields).await.status(), 403);
    assert_eq!(
        unit.post_raw("/staff/desks/new", &fields).await.status(),
        403
    );
    let anonymous = StaffClient::new(&app.address);
    assert_eq!(
        anonymous
            .post_raw("/staff/desks/new", &fields)
            .await
            .status(),
        303
    );
    assert_eq!(app.count("SELECT count(*) FROM desks").await, desks);
    assert_eq!(audit_count(&app).await, entries);
}

#[tokio::test]
async fn a_refused_desk_stores_nothing_and_says_why() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let xb = app.unit_id(XUAN_BAC).await.to_string();
    let too_long = "ữ".repeat(201);
    let cases: [(&str, &str, &str); 6] = [
        ("name", "  ", "Vui lòng nhập tên quầy."),
        ("name", too_long.as_str(), "không được dài quá 200 ký tự"),
        (
            "name",
            XUAN_BAC_DESK,
            "Đơn vị này đã có một quầy với tên này.",
        ),
        ("form", "khong-co", "Mẫu phiếu không tồn tại."),
        ("unit", "", "Vui lòng chọn đơn vị."),
        ("form", "../../etc", "Mẫu phiếu không tồn tại."),
    ];
    let desks = app.count("SELECT count(*) FROM desks").await;
    let entries = audit_count(&app).await;
    for (field, value, message) in cases {
        let mut fields = vec![("unit", xb.as_str()), ("name", "Quầy mới"), ("form", "")];
        fields.iter_mut().find(|(k, _)| *k == field).unwrap().1 = value;
        let response = admin.post("/staff/desks/new", &fields).await;
        assert_eq!(response.status(), 422, "{field} = {value}");
        let html = text(response).await;
        assert_next_to(&html, field, message);
        assert!(html.contains("Chưa lưu được."));
        assert_eq!(app.count("SELECT count(*) FROM desks").await, desks);
        assert_eq!(audit_count(&app).await, entries);
    }
    // A deactivated unit takes no new desks.
    app.sql()
        .await
        .execute(
            "UPDATE units SET active = false WHERE code = $1",
            &[&XUAN_BAC],
        )
        .await
        .unwrap();
    let response = admin
        .post(
            "/staff/desks/new",
            &[("unit", xb.as_str()), ("name", "Quầy mới"), ("form", "")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        text(response)
            .await
            .contains("Đơn vị này đang ngừng hoạt động")
    );
    assert_eq!(app.count("SELECT count(*) FROM desks").await, desks);
}

#[tokio::test]
async fn a_desk_is_renamed_given_a_form_deactivated_and_reactivated() {
    let app = TestApp::spawn().await;
    let id = desk_id(&app, XUAN_BAC).await;
    let code = app.desk_code(XUAN_BAC).await;
    let unit = app.staff_with_role("xb.canbo", "unit", &[XUAN_BAC]).await;
    let page = unit.get(&format!("/staff/desks/{id}")).await;
    assert_eq!(page.status(), 200);
    let html = text(page).await;
    assert!(html.contains("Sửa thông tin quầy") && html.contains("Đổi mã QR"));
    assert!(html.contains("Kế thừa từ đơn vị (Khảo sát sự hài lòng về dịch vụ hành chính công)"));

    let response = unit
        .post(
            &format!("/staff/desks/{id}"),
            &[
                ("name", "Bộ phận Một cửa xã Xuân Bắc"),
                ("form", "danh-gia-mot-cua"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/staff/desks/{id}?ok=updated"));
    let row = app
        .sql()
        .await
        .query_one("SELECT name, form_id FROM desks WHERE id = $1", &[&id])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Bộ phận Một cửa xã Xuân Bắc");
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("danh-gia-mot-cua")
    );
    let entries = audit(&app, "desk.update", id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Some(account_id(&app, "xb.canbo").await));
    assert_eq!(entries[0].1["name"], XUAN_BAC_DESK);
    assert_eq!(entries[0].1["form_id"], Value::Null);
    assert_eq!(entries[0].2["name"], "Bộ phận Một cửa xã Xuân Bắc");
    assert_eq!(entries[0].2["form_id"], "danh-gia-mot-cua");
    let survey = text(app.get(&format!("/s/{code}")).await).await;
    assert!(survey.contains("Bộ phận Một cửa xã Xuân Bắc"));
    assert!(survey.contains("Đánh giá sự phục vụ tại Bộ phận Tiếp nhận và Trả kết quả"));

    // Bad edits: 422, nothing stored.
    let other_desk = app
        .sql()
        .await
        .execute(
            "INSERT INTO desks (unit_id, name) SELECT unit_id, 'Quầy 2' FROM desks WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(other_desk, 1);
    let too_long = "x".repeat(201);
    for (fields, message) in [
        (
            [("name", "Quầy 2"), ("form", "")],
            "Đơn vị này đã có một quầy với tên này.",
        ),
        ([("name", ""), ("form", "")], "Vui lòng nhập tên quầy."),
        (
            [("name", too_long.as_str()), ("form", "")],
            "không được dài quá 200 ký tự",
        ),
        (
            [("name", "Quầy 3"), ("form", "khong-co")],
            "Mẫu phiếu không tồn tại.",
        ),
    ] {
        let response = unit.post(&format!("/staff/desks/{id}"), &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let html = text(response).await;
        let field = if message.starts_with("Mẫu") {
            "form"
        } else {
            "name"
        };
        assert_next_to(&html, field, message);
        // The typed values come back.
        assert!(
            html.contains(&format!("value=\"{}\"", fields[0].1)),
            "{fields:?}"
        );
        let name: String = app
            .sql()
            .await
            .query_one("SELECT name FROM desks WHERE id = $1", &[&id])
            .await
            .unwrap()
            .get(0);
        assert_eq!(name, "Bộ phận Một cửa xã Xuân Bắc");
    }
    assert_eq!(audit(&app, "desk.update", id).await.len(), 1);

    let response = unit
        .post(&format!("/staff/desks/{id}/deactivate"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/desks/{id}?ok=deactivated")
    );
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 404);
    let html = text(unit.get(&location(&response)).await).await;
    assert!(html.contains("Quầy đã ngừng hoạt động"));
    let entries = audit(&app, "desk.deactivate", id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (&entries[0].1["active"], &entries[0].2["active"]),
        (&Value::Bool(true), &Value::Bool(false))
    );

    let response = unit.post(&format!("/staff/desks/{id}/activate"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 200);
    let entries = audit(&app, "desk.activate", id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (&entries[0].1["active"], &entries[0].2["active"]),
        (&Value::Bool(false), &Value::Bool(true))
    );
}

#[tokio::test]
async fn rotating_the_code_retires_the_old_link_and_the_poster_follows() {
    let app = TestApp::spawn().await;
    let id = desk_id(&app, XUAN_BAC).await;
    let old = app.desk_code(XUAN_BAC).await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;

    let html = text(admin.get(&format!("/staff/desks/{id}")).await).await;
    assert!(html.contains("<svg"), "the QR code is on the page");
    assert!(html.contains(&format!("aria-label=\"{PUBLIC_URL}/s/{old}\"")));
    assert!(html.contains("áp phích và mã QR đã in trước đây sẽ không dùng được nữa"));
    assert!(html.contains(&format!("href=\"/staff/desks/{id}/poster.png\"")));
    assert!(html.contains(&format!("href=\"/staff/desks/{id}/poster.svg\"")));

    let png = admin.get(&format!("/staff/desks/{id}/poster.png")).await;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(
        png.headers()["content-disposition"],
        format!("attachment; filename=\"{XUAN_BAC}-{id}.png\"").as_str()
    );
    let bytes = png.bytes().await.unwrap();
    let image = image::load_from_memory(&bytes).unwrap();
    assert_eq!(
        (image.width(), image.height()),
        (1748, 2480),
        "A5 at 300 dpi"
    );
    assert_eq!(decode_qr(&bytes), format!("{PUBLIC_URL}/s/{old}"));

    let response = admin
        .post(&format!("/staff/desks/{id}/rotate-code"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/staff/desks/{id}?ok=rotated"));
    let new = app.desk_code(XUAN_BAC).await;
    assert_ne!(new, old);
    assert_eq!(app.get(&format!("/s/{old}")).await.status(), 404);
    assert_eq!(app.get(&format!("/s/{new}")).await.status(), 200);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM desk_codes WHERE code = '{old}' AND retired_at IS NOT NULL"
        ))
        .await,
        1
    );
    let entries = audit(&app, "desk.rotate_code", id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Some(account_id(&app, "an.admin").await));
    assert_eq!(entries[0].1["code"], old.as_str());
    assert_eq!(entries[0].2["code"], new.as_str());
    let html = text(admin.get(&location(&response)).await).await;
    assert!(html.contains("Đã đổi mã QR."));
    assert!(html.contains(&format!("<code>{new}</code>")));

    let bytes = admin
        .get(&format!("/staff/desks/{id}/poster.png"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(decode_qr(&bytes), format!("{PUBLIC_URL}/s/{new}"));
    let svg = admin.get(&format!("/staff/desks/{id}/poster.svg")).await;
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert_eq!(
        svg.headers()["content-disposition"],
        format!("attachment; filename=\"{XUAN_BAC}-{id}.svg\"").as_str()
    );
    let svg = text(svg).await;
    assert!(svg.contains("<svg") && svg.contains("UBND xã Xuân Bắc"));
    assert!(svg.contains(&format!("/s/{new}")) && !svg.contains(&old));
}

#[tokio::test]
async fn desk_pages_and_posters_follow_the_role_and_the_scope() {
    let app = TestApp::spawn().await;
    let mine = desk_id(&app, XUAN_BAC).await;
    let other = desk_id(&app, BAO_HOA).await;
    let code = app.desk_code(XUAN_BAC).await;
    let entries = audit_count(&app).await;
    let edit = [("name", "Đổi tên"), ("form", "")];
    let posts = ["", "/deactivate", "/activate", "/rotate-code"];

    let unit = app.staff_with_role("xb.canbo", "unit", &[XUAN_BAC]).await;
    for suffix in ["", "/poster.svg", "/poster.png"] {
        let path = format!("/staff/desks/{other}{suffix}");
        assert_eq!(unit.get(&path).await.status(), 404, "{path}");
    }
    for suffix in posts {
        let path = format!("/staff/desks/{other}{suffix}");
        assert_eq!(unit.post(&path, &edit).await.status(), 404, "{path}");
    }
    assert_eq!(
        unit.get(&format!("/staff/desks/{mine}/poster.svg"))
            .await
            .status(),
        200
    );

    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let page = viewer.get(&format!("/staff/desks/{mine}")).await;
    assert_eq!(page.status(), 200);
    let html = text(page).await;
    assert!(
        html.contains("<svg") && html.contains("poster.png"),
        "viewers may reprint"
    );
    assert!(!html.contains("Sửa thông tin quầy") && !html.contains("/rotate-code"));
    assert!(!html.contains("/deactivate") && !html.contains("<button type=\"submit\">Lưu"));
    assert_eq!(
        viewer
            .get(&format!("/staff/desks/{other}/poster.svg"))
            .await
            .status(),
        200
    );
    for suffix in posts {
        let path = format!("/staff/desks/{mine}{suffix}");
        assert_eq!(viewer.post(&path, &edit).await.status(), 403, "{path}");
    }

    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    assert_eq!(admin.get("/staff/desks/999999").await.status(), 404);
    assert_eq!(admin.get("/staff/desks/abc").await.status(), 404);
    assert_eq!(
        admin.get("/staff/desks/999999/poster.png").await.status(),
        404
    );
    assert_eq!(
        admin
            .post("/staff/desks/999999/rotate-code", &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        admin.post("/staff/desks/x/rotate-code", &[]).await.status(),
        404
    );
    // Without the form's token nothing happens.
    let path = format!("/staff/desks/{mine}/rotate-code");
    assert_eq!(admin.post_raw(&path, &[]).await.status(), 403);

    let anonymous = StaffClient::new(&app.address);
    for suffix in ["", "/poster.svg", "/poster.png"] {
        let path = format!("/staff/desks/{mine}{suffix}");
        let response = anonymous.get(&path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert!(location(&response).starts_with("/sign-in?next="));
    }
    assert_eq!(anonymous.post_raw(&path, &[]).await.status(), 303);

    assert_eq!(app.desk_code(XUAN_BAC).await, code);
    assert_eq!(
        app.count("SELECT count(*) FROM desks WHERE NOT active")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM desks WHERE name = 'Đổi tên'")
            .await,
        0
    );
    assert_eq!(audit_count(&app).await, entries);
}
