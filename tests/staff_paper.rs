//! Paper ballots typed in by staff: the desk chooser, the keyboard entry screen, validation,
//! the duplicate serial number (also in a race), permissions per role, audit and export.

use crate::common;

use common::location;

use chrono::{Duration, Utc};
use common::{StaffClient, TestApp, hidden_field};

/// The id of the first desk of the unit with `unit_code` (or of its desk named `name`).
async fn desk_id(app: &TestApp, unit_code: &str, name: Option<&str>) -> i32 {
    app.sql()
        .await
        .query_one(
            "SELECT d.id FROM desks d JOIN units u ON u.id = d.unit_id \
             WHERE u.code = $1 AND ($2::text IS NULL OR d.name = $2) ORDER BY d.id LIMIT 1",
            &[&unit_code, &name],
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

/// A complete ballot of the QĐ 1001 form as typed by a clerk: every criterion "4" except
/// TC2 "5", PA1 "0" (not applicable), PA2 "5", PA3 "0", MD1 "3", MD2 left empty, GIOI_TINH
/// "2", LINH_VUC "7", and an open comment.
fn full_ballot(serial: &str, date: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = vec![
        ("serial".into(), serial.into()),
        ("date".into(), date.into()),
    ];
    for code in [
        "TC1", "TC2", "TC3", "TC4", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3", "CC4", "CC5",
        "KQ1", "KQ2", "KQ3",
    ] {
        let value = if code == "TC2" { "5" } else { "4" };
        fields.push((code.into(), value.into()));
    }
    for (code, value) in [
        ("PA1", "0"),
        ("PA2", "5"),
        ("PA3", "0"),
        ("MD1", "3"),
        ("MD2", ""),
        ("GIOI_TINH", "2"),
        ("LINH_VUC", "7"),
        ("YK", "Cần thêm ghế chờ ở Bộ phận một cửa."),
    ] {
        fields.push((code.into(), value.into()));
    }
    fields
}

/// `fields` with `code` set to `value`.
fn with(mut fields: Vec<(String, String)>, code: &str, value: &str) -> Vec<(String, String)> {
    match fields.iter_mut().find(|(k, _)| k == code) {
        Some(field) => field.1 = value.into(),
        None => fields.push((code.into(), value.into())),
    }
    fields
}

/// Opens the entry screen of `desk` and posts `fields` with the form version it shows.
async fn enter(client: &StaffClient, desk: i32, fields: &[(String, String)]) -> reqwest::Response {
    let page = client.get(&format!("/staff/paper/{desk}")).await;
    assert_eq!(page.status(), 200);
    let version = hidden_field(&page.text().await.unwrap(), "_v");
    let mut all: Vec<(&str, &str)> = vec![("_v", version.as_str())];
    all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    client.post(&format!("/staff/paper/{desk}"), &all).await
}

async fn paper_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM responses WHERE channel = 'paper'")
        .await
}

async fn audit_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM audit_log WHERE action = 'response.enter_paper'")
        .await
}

/// Today's date in Vietnam, shifted by `days`, as dd/mm/yyyy.
fn vietnam_day(days: i64) -> String {
    (Utc::now() + Duration::hours(7) + Duration::days(days))
        .format("%d/%m/%Y")
        .to_string()
}

#[tokio::test]
async fn a_full_ballot_is_typed_in_and_stored_as_a_paper_response() {
    let app = TestApp::spawn().await;
    let clerk = app
        .staff_with_role("lan.pham", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let desk = desk_id(&app, "xuan-loc.xuan-bac", None).await;

    // The chooser lists the desks of the account's scope, grouped by unit, and leads on.
    let chooser = clerk.get("/staff/paper").await;
    assert_eq!(chooser.status(), 200);
    let html = chooser.text().await.unwrap();
    assert!(
        html.contains("<optgroup label=\"UBND xã Xuân Bắc\">"),
        "{html}"
    );
    assert!(html.contains(&format!(
        "<option value=\"{desk}\">Bộ phận Tiếp nhận và Trả kết quả xã Xuân Bắc</option>"
    )));
    let go = clerk.get(&format!("/staff/paper?desk={desk}")).await;
    assert_eq!(go.status(), 303);
    assert_eq!(location(&go), format!("/staff/paper/{desk}"));

    // The entry screen: serial first and focused, today's date, one small numeric input per
    // item, the legend of codes once per section, textareas only for open questions.
    let screen = clerk.get(&format!("/staff/paper/{desk}")).await;
    assert_eq!(screen.status(), 200);
    let html = screen.text().await.unwrap();
    assert!(html.contains("UBND xã Xuân Bắc"));
    assert!(
        html.contains(
            "name=\"serial\" value=\"\" maxlength=\"64\" autocomplete=\"off\" required autofocus"
        ),
        "{html}"
    );
    assert!(html.contains(&format!("name=\"date\" value=\"{}\"", vietnam_day(0))));
    assert_eq!(html.matches("autofocus").count(), 1);
    assert!(html.contains(
        "name=\"TC1\" value=\"\" inputmode=\"numeric\" maxlength=\"1\" size=\"2\" autocomplete=\"off\""
    ));
    let legend5 =
        "1 Rất không hài lòng · 2 Không hài lòng · 3 Bình thường · 4 Hài lòng · 5 Rất hài lòng";
    assert_eq!(
        html.matches(&format!("Mã: {legend5}</p>")).count(),
        4,
        "TC, TT, CC, KQ"
    );
    assert_eq!(
        html.matches(&format!("Mã: {legend5} · 0 Không áp dụng</p>"))
            .count(),
        1,
        "PA"
    );
    assert!(html.contains("Mã: 1 Ít · 2 Nhiều · 3 Rất nhiều</p>"));
    // The respondent section mixes scales: each row shows its own codes.
    assert!(html.contains("1 Nam · 2 Nữ"));
    // Two criteria differ only at their end: both are shown whole.
    assert!(html.contains(">Trụ sở cơ quan tiếp nhận hồ sơ, trả kết quả giải quyết thủ tục hành chính có biển hiệu, hướng dẫn rõ ràng, dễ thấy.</label>"));
    assert!(html.contains(">Trụ sở cơ quan tiếp nhận hồ sơ, trả kết quả giải quyết thủ tục hành chính sạch sẽ, văn minh.</label>"));
    assert_eq!(html.matches("<textarea").count(), 1);
    assert!(html.contains("name=\"YK\""));
    assert!(html.contains("<button type=\"submit\">Lưu phiếu</button>"));
    assert!(!html.contains("<script"));

    let saved = enter(&clerk, desk, &full_ballot("XB-0015", "15/10/2025")).await;
    assert_eq!(saved.status(), 303);
    let next = location(&saved);
    assert!(
        next.starts_with(&format!("/staff/paper/{desk}?ok=")),
        "{next}"
    );

    // Back to an empty screen for the next ballot, with the flash and the serial focused.
    let html = clerk.get(&next).await.text().await.unwrap();
    assert!(html.contains("Đã lưu phiếu số XB-0015."), "{html}");
    assert!(html.contains("name=\"serial\" value=\"\""));
    assert!(html.contains("required autofocus"));
    assert!(html.contains("name=\"TC1\" value=\"\""));
    assert!(!html.contains("Cần thêm ghế chờ"));

    // The stored row.
    let sql = app.sql().await;
    let row = sql
        .query_one(
            "SELECT r.id, r.channel, r.paper_serial, r.entered_by, \
                    r.entered_at BETWEEN now() - interval '1 minute' AND now(), \
                    (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::text, r.desk_id, r.desk_code, \
                    u.code, r.answers, fv.form_id, r.form_version_id \
             FROM responses r JOIN units u ON u.id = r.unit_id \
             JOIN form_versions fv ON fv.id = r.form_version_id",
            &[],
        )
        .await
        .unwrap();
    let response_id: i64 = row.get(0);
    assert_eq!(row.get::<_, String>(1), "paper");
    assert_eq!(row.get::<_, Option<String>>(2).as_deref(), Some("XB-0015"));
    assert_eq!(
        row.get::<_, Option<i32>>(3),
        Some(account_id(&app, "lan.pham").await)
    );
    assert!(row.get::<_, bool>(4), "entered just now");
    assert_eq!(row.get::<_, String>(5), "2025-10-15 00:00:00");
    assert_eq!(row.get::<_, Option<i32>>(6), Some(desk));
    assert_eq!(row.get::<_, Option<String>>(7), None);
    assert_eq!(row.get::<_, String>(8), "xuan-loc.xuan-bac");
    let answers: Vec<Option<i16>> = row.get(9);
    assert_eq!(row.get::<_, String>(10), "sipas-1001-dich-vu");
    let version_id: i32 = row.get(11);
    let version = app.forms.version(version_id).unwrap();
    let position = |code: &str| {
        version
            .form
            .choice_items()
            .position(|i| i.code == code)
            .unwrap()
    };
    assert_eq!(answers.len(), version.form.choice_items().count());
    assert_eq!(answers[position("TC1")], Some(4));
    assert_eq!(answers[position("TC2")], Some(5));
    assert_eq!(answers[position("KQ3")], Some(4));
    assert_eq!(answers[position("PA1")], Some(0));
    assert_eq!(answers[position("PA2")], Some(5));
    assert_eq!(answers[position("PA3")], Some(0));
    assert_eq!(answers[position("MD1")], Some(3));
    assert_eq!(answers[position("MD2")], None);
    assert_eq!(answers[position("MD8")], None);
    assert_eq!(answers[position("GIOI_TINH")], Some(2));
    assert_eq!(answers[position("LINH_VUC")], Some(7));
    let comment: String = sql
        .query_one(
            "SELECT t.body FROM response_texts t JOIN form_items i ON i.id = t.item_id \
             WHERE t.response_id = $1 AND i.code = 'YK'",
            &[&response_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(comment, "Cần thêm ghế chờ ở Bộ phận một cửa.");

    // The audit entry, by the clerk, naming the ballot.
    let audit = sql
        .query_one(
            "SELECT account_id, entity, entity_id, before IS NULL, after::text FROM audit_log \
             WHERE action = 'response.enter_paper'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        audit.get::<_, Option<i32>>(0),
        Some(account_id(&app, "lan.pham").await)
    );
    assert_eq!(audit.get::<_, String>(1), "response");
    assert_eq!(
        audit.get::<_, Option<String>>(2),
        Some(response_id.to_string())
    );
    assert!(audit.get::<_, bool>(3));
    let after: serde_json::Value = serde_json::from_str(&audit.get::<_, String>(4)).unwrap();
    assert_eq!(after["serial"], "XB-0015");
    assert_eq!(after["date"], "2025-10-15");
    assert_eq!(after["desk"], desk);
    let unit: i32 = sql
        .query_one("SELECT id FROM units WHERE code = 'xuan-loc.xuan-bac'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(after["unit"], unit);
    assert_eq!(after["form"], "sipas-1001-dich-vu");
    assert_eq!(after["form_version"], version.number);
    assert_eq!(after["form_version_id"], version_id);

    // The export shows it as a paper response dated on the ballot's day in Vietnam.
    let mut conn = app.pool.get().await.unwrap();
    let mut csv_bytes: Vec<u8> = Vec::new();
    let written = sipas::export::csv::write_responses(&mut conn, &app.forms, &mut csv_bytes)
        .await
        .unwrap();
    assert_eq!(written, 1);
    let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
    let header = reader.headers().unwrap().clone();
    let record = reader.records().next().unwrap().unwrap();
    let column = |name: &str| &record[header.iter().position(|h| h == name).unwrap()];
    assert_eq!(column("response_id"), response_id.to_string());
    assert_eq!(column("channel"), "paper");
    assert_eq!(column("submitted_at"), "2025-10-15T00:00:00+07:00");
    assert_eq!(column("unit_code"), "xuan-loc.xuan-bac");
    assert_eq!(column("desk_code"), "");
    assert_eq!(column("TC2"), "5");
    assert_eq!(column("PA1"), "0", "not applicable: its own code");
    assert_eq!(column("MD2"), "");
    assert_eq!(column("YK"), "Cần thêm ghế chờ ở Bộ phận một cửa.");
}

#[tokio::test]
async fn the_desk_decides_the_form() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    // The quick rating desk has its own 3-level form.
    let quick = desk_id(
        &app,
        "xuan-loc.van-phong-hdnd-ubnd",
        Some(sipas::demo::QUICK_RATING_DESK),
    )
    .await;
    let html = admin
        .get(&format!("/staff/paper/{quick}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Mã: 1 Không hài lòng · 2 Hài lòng · 3 Rất hài lòng</p>"));
    assert!(html.contains("name=\"DG\""));
    assert!(!html.contains("name=\"TC1\""));
    let fields: Vec<(String, String)> = vec![
        ("serial".into(), "1".into()),
        ("date".into(), vietnam_day(0)),
        ("DG".into(), "3".into()),
        ("GY".into(), "".into()),
    ];
    assert_eq!(enter(&admin, quick, &fields).await.status(), 303);
    let stored: (String, String) = {
        let row = app
            .sql()
            .await
            .query_one(
                "SELECT fv.form_id, r.answers::text FROM responses r \
                 JOIN form_versions fv ON fv.id = r.form_version_id",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(stored, ("danh-gia-mot-cua".into(), "{3}".into()));
    // "0" is no code of that form.
    let refused = enter(&admin, quick, &with(fields, "DG", "0")).await;
    assert_eq!(refused.status(), 422);

    // A desk of a unit with no form up its tree shows the installation default.
    let sql = app.sql().await;
    let orphan: i32 = sql
        .query_one(
            "INSERT INTO desks (unit_id, name) SELECT id, 'Quầy tỉnh' FROM units \
             WHERE code = 'dong-nai' RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let html = admin
        .get(&format!("/staff/paper/{orphan}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"TC1\""), "{html}");
    // An inactive desk takes no ballots.
    sql.execute("UPDATE desks SET active = false WHERE id = $1", &[&orphan])
        .await
        .unwrap();
    assert_eq!(
        admin.get(&format!("/staff/paper/{orphan}")).await.status(),
        404
    );
}

#[tokio::test]
async fn refused_ballots_keep_what_was_typed_and_store_nothing() {
    let app = TestApp::spawn().await;
    let clerk = app
        .staff_with_role("lan.pham", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let desk = desk_id(&app, "xuan-loc.xuan-bac", None).await;
    let good = full_ballot("XB-0100", "15/10/2025");
    // (what, typed fields, message shown, the wrong field's anchor)
    type Case<'a> = (&'a str, Vec<(String, String)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "a required item left empty",
            with(good.clone(), "TC3", ""),
            "Chưa nhập mã trả lời (câu bắt buộc).",
            "#a-TC3",
        ),
        (
            "a required item missing from the body",
            good.iter().filter(|(k, _)| k != "KQ1").cloned().collect(),
            "Chưa nhập mã trả lời (câu bắt buộc).",
            "#a-KQ1",
        ),
        (
            "a code outside the scale",
            with(good.clone(), "CC2", "7"),
            "Mã “7” không hợp lệ. Vui lòng nhập mã từ 1 đến 5.",
            "#a-CC2",
        ),
        (
            "a code outside a scale with not applicable",
            with(good.clone(), "PA2", "6"),
            "Mã “6” không hợp lệ. Vui lòng nhập mã từ 1 đến 5, hoặc 0 nếu không áp dụng.",
            "#a-PA2",
        ),
        (
            "not a number",
            with(good.clone(), "TT1", "x"),
            "Mã “x” không hợp lệ. Vui lòng nhập mã từ 1 đến 5.",
            "#a-TT1",
        ),
        (
            "\"0\" where not applicable is not offered",
            with(good.clone(), "TC1", "0"),
            "Câu này không có lựa chọn “Không áp dụng” (mã 0). Vui lòng nhập mã từ 1 đến 5.",
            "#a-TC1",
        ),
        (
            "\"0\" on an optional item without it",
            with(good.clone(), "GIOI_TINH", "0"),
            "Câu này không có lựa chọn “Không áp dụng” (mã 0). Vui lòng nhập mã 1 hoặc 2.",
            "#a-GIOI_TINH",
        ),
        (
            "no serial number",
            with(good.clone(), "serial", "  "),
            "Vui lòng nhập số phiếu.",
            "#f-serial",
        ),
        (
            "a serial number too long",
            with(good.clone(), "serial", &"9".repeat(65)),
            "Số phiếu dài tối đa 64 ký tự (hiện có 65 ký tự).",
            "#f-serial",
        ),
        (
            "a date that does not exist",
            with(good.clone(), "date", "31/02/2025"),
            "Ngày không hợp lệ. Vui lòng nhập theo dạng ngày/tháng/năm",
            "#f-date",
        ),
        (
            "a date in another format",
            with(good.clone(), "date", "2025-10-15"),
            "Ngày không hợp lệ.",
            "#f-date",
        ),
        (
            "no date",
            with(good.clone(), "date", ""),
            "Vui lòng nhập ngày ghi trên phiếu.",
            "#f-date",
        ),
        (
            "a date in the future",
            with(good.clone(), "date", &vietnam_day(1)),
            "Ngày ghi trên phiếu không thể sau ngày hôm nay.",
            "#f-date",
        ),
        (
            "a date before 2000",
            with(good.clone(), "date", "31/12/1999"),
            "Ngày ghi trên phiếu không thể trước năm 2000.",
            "#f-date",
        ),
        (
            "an open answer too long",
            with(good.clone(), "YK", &"a".repeat(2001)),
            "Ý kiến dài quá giới hạn 2000 ký tự",
            "#a-YK",
        ),
    ];
    for (what, fields, message, anchor) in cases {
        let response = enter(&clerk, desk, &fields).await;
        assert_eq!(response.status(), 422, "{what}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{what}: {html}");
        assert!(html.contains("Chưa lưu phiếu."), "{what}");
        assert!(html.contains(&format!("href=\"{anchor}\"")), "{what}");
        // Every typed value is back on the screen.
        for (code, value) in &fields {
            if code == "YK" {
                assert!(html.contains(&format!(">{value}</textarea>")), "{what}: YK");
            } else {
                let shown = format!("name=\"{code}\" value=\"{value}\"");
                assert!(html.contains(&shown), "{what}: {shown}");
            }
        }
        // The wrong field is the one focused.
        let focused = html.find("autofocus").unwrap();
        let input_start = html[..focused]
            .rfind("<input")
            .max(html[..focused].rfind("<textarea"))
            .unwrap();
        let input = &html[input_start..focused];
        assert!(
            input.contains(&format!("id=\"{}\"", &anchor[1..])),
            "{what}: {input}"
        );
        assert_eq!(paper_count(&app).await, 0, "{what}");
    }
    // Several problems at once: each at its item.
    let fields = with(with(full_ballot("", "15/10/2025"), "TC1", "9"), "TC4", "");
    let html = enter(&clerk, desk, &fields).await.text().await.unwrap();
    assert!(html.contains("Vui lòng sửa 3 mục được đánh dấu"), "{html}");
    assert!(html.contains("class=\"err\" id=\"q-TC1\""));
    assert!(html.contains("class=\"err\" id=\"q-TC4\""));
    assert!(!html.contains("class=\"err\" id=\"q-TC2\""));
    assert_eq!(paper_count(&app).await, 0);
    assert_eq!(app.response_count().await, 0);
    assert_eq!(audit_count(&app).await, 0);
    // A form version the desk does not show (an old page of another form): refused as well.
    let mut all: Vec<(&str, &str)> = vec![("_v", "999999")];
    let good = full_ballot("XB-0100", "15/10/2025");
    all.extend(good.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let response = clerk.post(&format!("/staff/paper/{desk}"), &all).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Biểu mẫu của quầy vừa được cập nhật")
    );
    assert_eq!(app.response_count().await, 0);
    // The same ballot, right: stored.
    assert_eq!(enter(&clerk, desk, &good).await.status(), 303);
    assert_eq!(paper_count(&app).await, 1);
}

#[tokio::test]
async fn a_serial_number_is_entered_once_per_unit() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let clerk = app
        .staff_with_role("lan.pham", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let xuan_bac = desk_id(&app, "xuan-loc.xuan-bac", None).await;
    let xuan_dinh = desk_id(&app, "xuan-loc.xuan-dinh", None).await;

    assert_eq!(
        enter(&admin, xuan_bac, &full_ballot("0001", "15/10/2025"))
            .await
            .status(),
        303
    );
    let first: (i64, String) = {
        let row = app
            .sql()
            .await
            .query_one("SELECT id, answers::text FROM responses", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    // Typed again (by someone else, with other answers and spaces around the number).
    let again = with(full_ballot(" 0001 ", "16/10/2025"), "TC1", "1");
    let refused = enter(&clerk, xuan_bac, &again).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Phiếu số 0001 của đơn vị này đã được nhập lúc "),
        "{html}"
    );
    assert!(html.contains(" bởi an.nguyen."));
    assert!(html.contains("name=\"serial\" value=\" 0001 \""));
    assert!(html.contains("name=\"TC1\" value=\"1\""));
    let kept: (i64, String) = {
        let row = app
            .sql()
            .await
            .query_one("SELECT id, answers::text FROM responses", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(kept, first);
    assert_eq!(audit_count(&app).await, 1);

    // The same number at another unit is another ballot.
    assert_eq!(
        enter(&admin, xuan_dinh, &full_ballot("0001", "15/10/2025"))
            .await
            .status(),
        303
    );
    assert_eq!(paper_count(&app).await, 2);
}

#[tokio::test]
async fn two_clerks_saving_the_same_serial_at_once_get_a_422_not_a_500() {
    let app = TestApp::spawn().await;
    let clerk = app
        .staff_with_role("lan.pham", "unit", &["xuan-loc.xuan-bac"])
        .await;
    app.create_account("binh.tran", "admin", &[]).await;
    let other = account_id(&app, "binh.tran").await;
    let desk = desk_id(&app, "xuan-loc.xuan-bac", None).await;

    // Another clerk's ballot with the same serial is being saved: inserted, not committed yet,
    // so the check before inserting does not see it and the unique index has to decide.
    let mut sql = app.sql().await;
    let transaction = sql.transaction().await.unwrap();
    transaction
        .execute(
            "INSERT INTO responses (submission_key, unit_id, desk_id, form_version_id, channel, \
                                    answers, entered_by, entered_at, paper_serial) \
             SELECT gen_random_uuid(), d.unit_id, d.id, \
                    (SELECT max(id) FROM form_versions WHERE form_id = 'sipas-1001-dich-vu'), \
                    'paper', '{}', $2, now(), 'R-9' \
             FROM desks d WHERE d.id = $1",
            &[&desk, &other],
        )
        .await
        .unwrap();
    let page = clerk.get(&format!("/staff/paper/{desk}")).await;
    let version = hidden_field(&page.text().await.unwrap(), "_v");
    let csrf = clerk.csrf().await;
    let mut body: Vec<(String, String)> = vec![("_csrf".into(), csrf), ("_v".into(), version)];
    body.extend(full_ballot("R-9", "15/10/2025"));
    let request = clerk
        .client
        .post(format!("{}/staff/paper/{desk}", clerk.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&body).unwrap());
    let pending = tokio::spawn(async move { request.send().await.unwrap() });

    // Wait until the server's insert waits on the uncommitted row, then commit it.
    let watcher = app.sql().await;
    let mut waited = false;
    for _ in 0..200 {
        let blocked: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if blocked > 0 {
            waited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(waited, "the second insert never waited on the first");
    transaction.commit().await.unwrap();

    let response = pending.await.unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Phiếu số R-9 của đơn vị này đã được nhập lúc "),
        "{html}"
    );
    assert!(html.contains(" bởi binh.tran."));
    assert_eq!(paper_count(&app).await, 1);
    assert_eq!(audit_count(&app).await, 0);
}

#[tokio::test]
async fn who_may_enter_paper_ballots_where() {
    let app = TestApp::spawn().await;
    let xuan_bac = desk_id(&app, "xuan-loc.xuan-bac", None).await;
    let xuan_dinh = desk_id(&app, "xuan-loc.xuan-dinh", None).await;
    let district = desk_id(&app, "xuan-loc.van-phong-hdnd-ubnd", None).await;
    let ballot = full_ballot("P-1", "15/10/2025");
    let body: Vec<(&str, &str)> = ballot
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    // Anonymous: to the sign-in page.
    let anonymous = StaffClient::new(&app.address);
    let response = anonymous.get("/staff/paper").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sign-in?next=%2Fstaff%2Fpaper");
    let response = anonymous.get(&format!("/staff/paper/{xuan_bac}")).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in"));
    let response = anonymous
        .post(&format!("/staff/paper/{xuan_bac}"), &body)
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in"));

    // Viewers read everything and type nothing: no menu entry, 403 everywhere here.
    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let home = viewer.get("/staff").await.text().await.unwrap();
    assert!(!home.contains("href=\"/staff/paper\""));
    assert_eq!(viewer.get("/staff/paper").await.status(), 403);
    assert_eq!(
        viewer
            .get(&format!("/staff/paper/{xuan_bac}"))
            .await
            .status(),
        403
    );
    assert_eq!(
        viewer
            .post(&format!("/staff/paper/{xuan_bac}"), &body)
            .await
            .status(),
        403
    );

    // A unit's account: its own desks only; another unit's desk is not there at all.
    let clerk = app
        .staff_with_role("lan.pham", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let home = clerk.get("/staff").await.text().await.unwrap();
    assert!(home.contains("href=\"/staff/paper\""));
    let chooser = clerk.get("/staff/paper").await.text().await.unwrap();
    assert!(chooser.contains("Xuân Bắc"));
    assert!(!chooser.contains("Xuân Định"));
    assert!(!chooser.contains(&format!("value=\"{xuan_dinh}\"")));
    assert_eq!(
        clerk
            .get(&format!("/staff/paper?desk={xuan_dinh}"))
            .await
            .status(),
        422
    );
    assert_eq!(clerk.get("/staff/paper?desk=abc").await.status(), 422);
    let response = clerk.get(&format!("/staff/paper/{xuan_dinh}")).await;
    assert_eq!(response.status(), 404);
    assert!(!response.text().await.unwrap().contains("Xuân Định"));
    assert_eq!(
        clerk
            .post(&format!("/staff/paper/{xuan_dinh}"), &body)
            .await
            .status(),
        404
    );
    assert_eq!(app.response_count().await, 0);
    assert_eq!(enter(&clerk, xuan_bac, &ballot).await.status(), 303);

    // Bad ids: 404, never a 500.
    for path in [
        "/staff/paper/abc",
        "/staff/paper/999999",
        "/staff/paper/-1",
        "/staff/paper/99999999999",
    ] {
        assert_eq!(clerk.get(path).await.status(), 404, "{path}");
    }
    // A POST without the form's token is refused.
    assert_eq!(
        clerk
            .post_raw(&format!("/staff/paper/{xuan_bac}"), &body)
            .await
            .status(),
        403
    );

    // An account of the district: the units below it too.
    let district_clerk = app.staff_with_role("noi.vu", "unit", &["xuan-loc"]).await;
    let chooser = district_clerk
        .get("/staff/paper")
        .await
        .text()
        .await
        .unwrap();
    assert!(chooser.contains("Xuân Bắc") && chooser.contains("Xuân Định"));
    assert_eq!(
        district_clerk
            .get(&format!("/staff/paper/{xuan_dinh}"))
            .await
            .status(),
        200
    );

    // Admin: any desk.
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let chooser = admin.get("/staff/paper").await.text().await.unwrap();
    // 29 desks of 28 units.
    assert_eq!(chooser.matches("<optgroup").count(), 28);
    assert_eq!(chooser.matches("<option ").count(), 29);
    assert_eq!(
        admin
            .get(&format!("/staff/paper/{district}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        enter(&admin, xuan_dinh, &full_ballot("P-1", "15/10/2025"))
            .await
            .status(),
        303
    );
    assert_eq!(paper_count(&app).await, 2);
}
