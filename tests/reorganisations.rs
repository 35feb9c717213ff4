//! Reorganisation acts through the real pages (issue 19): a merge, a split, a rename and a move
//! are previewed, then applied; the preview says what the database then holds (checked with
//! SQL written here), the audit log has one entry per act, responses keep their unit, and
//! refusals leave nothing half-stored. Unit names are made up ("Xã Thử Nghiệm A").

use crate::common;

use common::{StaffClient, TestApp, full_answers, html_text, location};

/// Creates a commune under Xuân Lộc through the units page; returns its id.
async fn unit(app: &TestApp, admin: &StaffClient, code: &str, name: &str) -> i32 {
    let district = app.unit_id("xuan-loc").await.to_string();
    let response = admin
        .post(
            "/staff/units/new",
            &[
                ("name", name),
                ("code", code),
                ("kind", "commune"),
                ("parent", district.as_str()),
                ("default_form", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "creating {name}");
    app.unit_id(code).await
}

/// Creates a desk of `unit` through the desks page; returns its id.
async fn desk(app: &TestApp, admin: &StaffClient, unit: i32, name: &str) -> i32 {
    let unit = unit.to_string();
    let response = admin
        .post(
            "/staff/desks/new",
            &[("unit", unit.as_str()), ("name", name), ("form", "")],
        )
        .await;
    assert_eq!(response.status(), 303, "creating {name}");
    app.sql()
        .await
        .query_one("SELECT id FROM desks WHERE name = $1", &[&name])
        .await
        .unwrap()
        .get(0)
}

/// Everything an act may change, as text: units (id, parent, name, valid dates, active,
/// admin code), desks (id, unit, active), account units, lineage, targets, acts, responses'
/// units. Compared before and after a refusal.
async fn state(app: &TestApp) -> String {
    let sql = app.sql().await;
    let mut out = String::new();
    for query in [
        "SELECT string_agg(concat_ws('|', id, parent_id, name, valid_from, valid_until, active, \
         admin_code), ';' ORDER BY id) FROM units",
        "SELECT string_agg(concat_ws('|', id, unit_id, active), ';' ORDER BY id) FROM desks",
        "SELECT string_agg(concat_ws('|', account_id, unit_id), ';' ORDER BY account_id, unit_id) \
         FROM account_units",
        "SELECT count(*)::text FROM unit_lineage",
        "SELECT count(*)::text FROM reorganisations",
        "SELECT string_agg(concat_ws('|', period_id, unit_id, target), ';' \
         ORDER BY period_id, unit_id) FROM plan_targets",
        "SELECT string_agg(concat_ws('|', id, unit_id, desk_id), ';' ORDER BY id) FROM responses",
        "SELECT count(*)::text FROM audit_log WHERE action = 'unit.reorganise'",
    ] {
        let row = sql.query_one(query, &[]).await.unwrap();
        out.push_str(&row.get::<_, Option<String>>(0).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The only act's audit entry (after), and the act's id.
async fn audit_of_last_act(app: &TestApp) -> (i32, serde_json::Value) {
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT r.id, a.after::text FROM reorganisations r \
             JOIN audit_log a ON a.action = 'unit.reorganise' AND a.entity = 'reorganisation' \
                             AND a.entity_id = r.id::text \
             ORDER BY r.id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let after: String = row.get(1);
    (row.get(0), serde_json::from_str(&after).unwrap())
}

fn with<'a>(base: &[(&'a str, &'a str)], more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = base.to_vec();
    all.extend_from_slice(more);
    all
}

#[tokio::test]
async fn a_merge_is_previewed_then_applied_as_previewed() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let a = unit(&app, &admin, "thu-nghiem-a", "Xã Thử Nghiệm A").await;
    let b = unit(&app, &admin, "thu-nghiem-b", "Xã Thử Nghiệm B").await;
    let desk_a = desk(&app, &admin, a, "Quầy Thử Nghiệm A").await;
    let desk_b = desk(&app, &admin, b, "Quầy Thử Nghiệm B").await;
    // A unit below A, and an account of B.
    let sql = app.sql().await;
    sql.execute(
        "INSERT INTO units (parent_id, code, name, kind) \
         VALUES ($1, 'thu-nghiem-a.diem', 'Điểm Thử Nghiệm A1', 'centre_branch')",
        &[&a],
    )
    .await
    .unwrap();
    let child = app.unit_id("thu-nghiem-a.diem").await;
    app.create_account("can.bo.b", "unit", &["thu-nghiem-b"])
        .await;
    // Responses given at A's desk keep unit A.
    let code_a = app.desk_code("thu-nghiem-a").await;
    app.send_survey_stored(&code_a, &full_answers("4")).await;
    app.send_survey_stored(&code_a, &full_answers("5")).await;
    let responses_before: Vec<(i64, i32)> = sql
        .query(
            "SELECT id, unit_id FROM responses WHERE desk_id = $1 ORDER BY id",
            &[&desk_a],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(responses_before.len(), 2);

    let a_s = a.to_string();
    let b_s = b.to_string();
    let district = app.unit_id("xuan-loc").await.to_string();
    let close_b = format!("desk_{desk_b}");
    let fields = [
        ("title", "Nghị quyết thử nghiệm về sắp xếp xã"),
        ("legal_basis", "Số 99/NQ-THU"),
        ("effective_date", "2025-07-01"),
        ("pred", a_s.as_str()),
        ("pred", b_s.as_str()),
        ("target", "new"),
        ("code", "thu-nghiem-moi"),
        ("name", "Xã Thử Nghiệm Mới"),
        ("kind", "commune"),
        ("admin_code", "99001"),
        ("parent", district.as_str()),
        (close_b.as_str(), "close"),
    ];
    // The entry form lists the units.
    let form = admin.get("/staff/reorganisations/merge").await;
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("Xã Thử Nghiệm A"));

    let before = state(&app).await;
    let preview = admin
        .post("/staff/reorganisations/merge/preview", &fields)
        .await;
    assert_eq!(preview.status(), 200);
    let text = html_text(&preview.text().await.unwrap());
    for line in [
        "Thành lập đơn vị mới «Xã Thử Nghiệm Mới» (mã thu-nghiem-moi, mã đơn vị hành chính 99001",
        "Đơn vị «Xã Thử Nghiệm A» kết thúc từ ngày 01/07/2025",
        "Đơn vị «Xã Thử Nghiệm B» kết thúc từ ngày 01/07/2025",
        "Quầy «Quầy Thử Nghiệm A» chuyển từ «Xã Thử Nghiệm A» sang «Xã Thử Nghiệm Mới (đơn vị mới)»",
        "Quầy «Quầy Thử Nghiệm B» của «Xã Thử Nghiệm B» ngừng hoạt động",
        "Tài khoản «can.bo.b» được giao thêm đơn vị «Xã Thử Nghiệm Mới (đơn vị mới)»",
        "Đơn vị trực thuộc «Điểm Thử Nghiệm A1» chuyển từ «Xã Thử Nghiệm A» sang «Xã Thử Nghiệm Mới (đơn vị mới)»",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert_eq!(state(&app).await, before, "a preview stores nothing");

    // Applying without the confirmation shows the preview again, with the reason.
    let unconfirmed = admin
        .post("/staff/reorganisations/merge/apply", &fields)
        .await;
    assert_eq!(unconfirmed.status(), 422);
    assert!(
        unconfirmed
            .text()
            .await
            .unwrap()
            .contains("Vui lòng đánh dấu ô xác nhận")
    );
    assert_eq!(state(&app).await, before);

    let applied = admin
        .post(
            "/staff/reorganisations/merge/apply",
            &with(&fields, &[("confirm", "yes")]),
        )
        .await;
    assert_eq!(applied.status(), 303);
    assert_eq!(location(&applied), "/staff/reorganisations?ok=applied");

    let new = app.unit_id("thu-nghiem-moi").await;
    let row = sql
        .query_one(
            "SELECT name, admin_code, valid_from::text, valid_until::text, active, parent_id \
             FROM units WHERE id = $1",
            &[&new],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Xã Thử Nghiệm Mới");
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("99001"));
    assert_eq!(
        row.get::<_, Option<String>>(2).as_deref(),
        Some("2025-07-01")
    );
    assert_eq!(row.get::<_, Option<String>>(3), None);
    assert!(row.get::<_, bool>(4));
    assert_eq!(
        row.get::<_, Option<i32>>(5),
        Some(district.parse().unwrap())
    );
    for p in [a, b] {
        let row = sql
            .query_one(
                "SELECT valid_until::text, active FROM units WHERE id = $1",
                &[&p],
            )
            .await
            .unwrap();
        assert_eq!(
            row.get::<_, Option<String>>(0).as_deref(),
            Some("2025-07-01")
        );
        assert!(!row.get::<_, bool>(1));
    }
    let lineage: Vec<(i32, i32, Option<i32>)> = sql
        .query(
            "SELECT predecessor_id, successor_id, share_points FROM unit_lineage \
             ORDER BY predecessor_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(lineage, vec![(a, new, None), (b, new, None)]);
    let desk_rows: Vec<(i32, i32, bool)> = sql
        .query(
            "SELECT id, unit_id, active FROM desks WHERE id = ANY($1) ORDER BY id",
            &[&vec![desk_a, desk_b]],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(desk_rows, vec![(desk_a, new, true), (desk_b, b, false)]);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM account_units au JOIN accounts a ON a.id = au.account_id \
             WHERE a.username = 'can.bo.b' AND au.unit_id IN ({b}, {new})"
        ))
        .await,
        2
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM units WHERE id = {child} AND parent_id = {new}"
        ))
        .await,
        1
    );
    // Responses untouched.
    let responses_after: Vec<(i64, i32)> = sql
        .query(
            "SELECT id, unit_id FROM responses WHERE desk_id = $1 ORDER BY id",
            &[&desk_a],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(responses_after, responses_before);
    assert!(responses_after.iter().all(|(_, u)| *u == a));
    // The moved desk takes responses for the new unit.
    app.send_survey_stored(&code_a, &full_answers("3")).await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM responses WHERE unit_id = {new}"
        ))
        .await,
        1
    );

    // One audit entry, with what the act did.
    let (act, after) = audit_of_last_act(&app).await;
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'unit.reorganise'")
            .await,
        1
    );
    assert_eq!(after["kind"], "merge");
    assert_eq!(after["ended_unit_ids"], serde_json::json!([a, b]));
    assert_eq!(after["desks"][0]["desk_id"], desk_a);
    assert_eq!(after["desks"][0]["to_unit_id"], new);
    assert_eq!(after["closed_desks"][0]["desk_id"], desk_b);
    let row = sql
        .query_one(
            "SELECT kind, title, legal_basis, effective_date::text, \
                    applied_by = (SELECT id FROM accounts WHERE username = 'an.admin') \
             FROM reorganisations WHERE id = $1",
            &[&act],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "merge");
    assert_eq!(row.get::<_, String>(2), "Số 99/NQ-THU");
    assert_eq!(row.get::<_, String>(3), "2025-07-01");
    assert!(row.get::<_, bool>(4));

    // The list of acts and the unit pages tell the story.
    let list = html_text(
        &admin
            .get("/staff/reorganisations")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(
        list.contains("Nghị quyết thử nghiệm về sắp xếp xã"),
        "{list}"
    );
    assert!(list.contains("Số 99/NQ-THU"));
    assert!(list.contains("an.admin"));
    assert!(
        list.contains("1 quầy chuyển, 1 quầy ngừng hoạt động"),
        "{list}"
    );
    let page = html_text(
        &admin
            .get(&format!("/staff/units/{new}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(
        page.contains("Được thành lập từ Xã Thử Nghiệm A, Xã Thử Nghiệm B theo Nghị quyết thử nghiệm về sắp xếp xã (Số 99/NQ-THU), từ ngày 01/07/2025."),
        "{page}"
    );
    let page = html_text(
        &admin
            .get(&format!("/staff/units/{a}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(
        page.contains("Đã sáp nhập vào Xã Thử Nghiệm Mới từ ngày 01/07/2025"),
        "{page}"
    );

    // The same act again is refused: the units already ended; nothing more is stored.
    let before = state(&app).await;
    let again = admin
        .post(
            "/staff/reorganisations/merge/apply",
            &with(&fields, &[("confirm", "yes")]),
        )
        .await;
    assert_eq!(again.status(), 422);
    let text = html_text(&again.text().await.unwrap());
    assert!(text.contains("đã kết thúc từ ngày 01/07/2025"), "{text}");
    assert_eq!(state(&app).await, before);
}

#[tokio::test]
async fn refused_acts_say_why_and_store_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let a = unit(&app, &admin, "thu-nghiem-a", "Xã Thử Nghiệm A").await;
    let b = unit(&app, &admin, "thu-nghiem-b", "Xã Thử Nghiệm B").await;
    let c = unit(&app, &admin, "thu-nghiem-c", "Xã Thử Nghiệm C").await;
    desk(&app, &admin, a, "Quầy Thử Nghiệm A").await;
    app.sql()
        .await
        .execute(
            "UPDATE units SET admin_code = '99003', valid_from = '2025-01-01' WHERE id = $1",
            &[&c],
        )
        .await
        .unwrap();
    let (a_s, b_s, c_s) = (a.to_string(), b.to_string(), c.to_string());
    let base = [
        ("title", "Nghị quyết thử nghiệm"),
        ("legal_basis", "Số 1/NQ-THU"),
        ("effective_date", "2025-07-01"),
        ("confirm", "yes"),
    ];
    let new_unit = [
        ("target", "new"),
        ("code", "thu-nghiem-moi"),
        ("name", "Xã Thử Nghiệm Mới"),
        ("kind", "commune"),
        ("parent", ""),
    ];
    let before = state(&app).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            with(
                &base,
                &[
                    ("pred", a_s.as_str()),
                    ("pred", a_s.as_str()),
                    ("target", c_s.as_str()),
                ],
            ),
            "được chọn hai lần",
        ),
        (
            with(
                &base,
                &[
                    ("pred", a_s.as_str()),
                    ("pred", b_s.as_str()),
                    ("target", b_s.as_str()),
                ],
            ),
            "vào chính nó",
        ),
        (
            with(
                &base,
                &[
                    ("pred", a_s.as_str()),
                    ("pred", "999999"),
                    ("target", c_s.as_str()),
                ],
            ),
            "Đơn vị không tồn tại",
        ),
        (
            with(
                &[
                    ("title", " "),
                    ("legal_basis", ""),
                    ("effective_date", "2025-07-01"),
                    ("confirm", "yes"),
                ],
                &[("pred", a_s.as_str()), ("target", c_s.as_str())],
            ),
            "Vui lòng nhập căn cứ pháp lý",
        ),
        (
            with(
                &[
                    ("title", "T"),
                    ("legal_basis", "L"),
                    ("effective_date", "2024-12-31"),
                    ("confirm", "yes"),
                ],
                &[("pred", c_s.as_str()), ("target", a_s.as_str())],
            ),
            "Ngày hiệu lực phải sau ngày đơn vị «Xã Thử Nghiệm C» được thành lập",
        ),
        (
            with(
                &with(&base, &[("pred", a_s.as_str()), ("pred", b_s.as_str())]),
                &[
                    ("target", "new"),
                    ("code", "thu-nghiem-c"),
                    ("name", "Xã Thử Nghiệm Mới"),
                    ("kind", "commune"),
                    ("parent", ""),
                ],
            ),
            "Mã đơn vị «thu-nghiem-c» đã được dùng",
        ),
        (
            with(
                &with(&base, &[("pred", a_s.as_str()), ("pred", b_s.as_str())]),
                &[
                    ("target", "new"),
                    ("code", "Mã Sai"),
                    ("name", "Xã Thử Nghiệm Mới"),
                    ("kind", "commune"),
                    ("parent", ""),
                ],
            ),
            "Mã đơn vị chỉ gồm chữ thường",
        ),
        (
            with(
                &with(&base, &[("pred", a_s.as_str()), ("pred", b_s.as_str())]),
                &with(&new_unit, &[("admin_code", "99003")]),
            ),
            "Mã đơn vị hành chính 99003 đang là mã của đơn vị «Xã Thử Nghiệm C»",
        ),
    ];
    for (fields, message) in &cases {
        for step in ["preview", "apply"] {
            let response = admin
                .post(&format!("/staff/reorganisations/merge/{step}"), fields)
                .await;
            assert_eq!(response.status(), 422, "{message} ({step})");
            let text = html_text(&response.text().await.unwrap());
            assert!(text.contains(message), "{message} ({step}) in {text}");
            assert!(text.contains("Không có thay đổi nào được lưu"));
        }
    }
    assert_eq!(state(&app).await, before, "refusals store nothing");
    // A split whose shares do not sum to 100%.
    let split = with(
        &base,
        &[
            ("pred", a_s.as_str()),
            ("s1_target", b_s.as_str()),
            ("s1_share", "50"),
            ("s2_target", c_s.as_str()),
            ("s2_share", "40"),
        ],
    );
    let response = admin
        .post("/staff/reorganisations/split/apply", &split)
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        html_text(&response.text().await.unwrap())
            .contains("Tổng các tỷ lệ phải bằng 100% (hiện là 90%)")
    );
    // A move into its own subtree.
    app.sql()
        .await
        .execute(
            "INSERT INTO units (parent_id, code, name, kind) \
             VALUES ($1, 'thu-nghiem-a.diem', 'Điểm Thử Nghiệm A1', 'centre_branch')",
            &[&a],
        )
        .await
        .unwrap();
    let before = state(&app).await;
    let below = app.unit_id("thu-nghiem-a.diem").await.to_string();
    let response = admin
        .post(
            "/staff/reorganisations/move/apply",
            &with(&base, &[("unit", a_s.as_str()), ("parent", below.as_str())]),
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        html_text(&response.text().await.unwrap()).contains("Không thể chuyển đơn vị vào chính nó")
    );
    assert_eq!(state(&app).await, before);

    // Only admins.
    let unit_account = app
        .staff_with_role("can.bo.a", "unit", &["thu-nghiem-a"])
        .await;
    assert_eq!(
        unit_account.get("/staff/reorganisations").await.status(),
        404
    );
    assert_eq!(
        unit_account
            .post("/staff/reorganisations/merge/apply", &cases[0].0)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_split_divides_desks_and_plan_targets_by_share() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let a = unit(&app, &admin, "thu-nghiem-a", "Xã Thử Nghiệm A").await;
    let b = unit(&app, &admin, "thu-nghiem-b", "Xã Thử Nghiệm B").await;
    let d1 = desk(&app, &admin, a, "Quầy Thử Nghiệm A1").await;
    let d2 = desk(&app, &admin, a, "Quầy Thử Nghiệm A2").await;
    let code = app
        .desk_code_named("thu-nghiem-a", Some("Quầy Thử Nghiệm A2"))
        .await;
    app.send_survey_stored(&code, &full_answers("5")).await;
    // A plan of Xuân Lộc with a period after the act (A: 41) and one spanning it (A: 10).
    let sql = app.sql().await;
    let district = app.unit_id("xuan-loc").await;
    let plan: i32 = sql
        .query_one(
            "INSERT INTO survey_plans (unit_id, year, title, form_id, margin_of_error) \
             VALUES ($1, 2025, 'Kế hoạch thử nghiệm 2025', 'sipas-1001-dich-vu', 0.05) RETURNING id",
            &[&district],
        )
        .await
        .unwrap()
        .get(0);
    let spanning: i32 = sql
        .query_one(
            "INSERT INTO plan_periods (plan_id, name, starts_on, ends_on) \
             VALUES ($1, 'Quý III', '2025-07-01', '2025-09-30') RETURNING id",
            &[&plan],
        )
        .await
        .unwrap()
        .get(0);
    let after: i32 = sql
        .query_one(
            "INSERT INTO plan_periods (plan_id, name, starts_on, ends_on) \
             VALUES ($1, 'Quý IV', '2025-10-01', '2025-12-31') RETURNING id",
            &[&plan],
        )
        .await
        .unwrap()
        .get(0);
    sql.execute(
        "INSERT INTO plan_targets (period_id, unit_id, target) VALUES ($1, $3, 10), ($2, $3, 41), ($2, $4, 7)",
        &[&spanning, &after, &a, &b],
    )
    .await
    .unwrap();

    let a_s = a.to_string();
    let b_s = b.to_string();
    let district_s = district.to_string();
    let d1_field = format!("desk_{d1}");
    let d2_field = format!("desk_{d2}");
    let fields = [
        ("title", "Quyết định thử nghiệm chia tách"),
        ("legal_basis", "Số 2/QĐ-THU"),
        ("effective_date", "2025-08-15"),
        ("pred", a_s.as_str()),
        ("s1_target", "new"),
        ("s1_code", "thu-nghiem-a-bac"),
        ("s1_name", "Xã Thử Nghiệm A Bắc"),
        ("s1_kind", "commune"),
        ("s1_parent", district_s.as_str()),
        ("s1_share", "25"),
        ("s2_target", b_s.as_str()),
        ("s2_share", "75"),
        (d1_field.as_str(), "0"),
        (d2_field.as_str(), "1"),
    ];
    let preview = admin
        .post("/staff/reorganisations/split/preview", &fields)
        .await;
    assert_eq!(preview.status(), 200);
    let text = html_text(&preview.text().await.unwrap());
    // Quý IV: 41 split 25/75 -> 10,25 and 30,75: 10 and 31 (largest remainder), plus B's own 7.
    for line in [
        "Kế thừa: «Xã Thử Nghiệm A» → «Xã Thử Nghiệm A Bắc (đơn vị mới)» (tỷ lệ 25%)",
        "Kế thừa: «Xã Thử Nghiệm A» → «Xã Thử Nghiệm B» (tỷ lệ 75%)",
        "Quầy «Quầy Thử Nghiệm A1» chuyển từ «Xã Thử Nghiệm A» sang «Xã Thử Nghiệm A Bắc (đơn vị mới)»",
        "Quầy «Quầy Thử Nghiệm A2» chuyển từ «Xã Thử Nghiệm A» sang «Xã Thử Nghiệm B»",
        "Chỉ tiêu kỳ «Quý IV» (kế hoạch «Kế hoạch thử nghiệm 2025»): «Xã Thử Nghiệm A» 41 → «Xã Thử Nghiệm A Bắc (đơn vị mới)» 10, «Xã Thử Nghiệm B» 38",
        "Kỳ «Quý III» của kế hoạch «Kế hoạch thử nghiệm 2025» (01/07/2025 – 30/09/2025) bao trùm ngày hiệu lực 15/08/2025",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    let applied = admin
        .post(
            "/staff/reorganisations/split/apply",
            &with(&fields, &[("confirm", "yes")]),
        )
        .await;
    assert_eq!(applied.status(), 303);
    let north = app.unit_id("thu-nghiem-a-bac").await;
    let lineage: Vec<(i32, i32, Option<i32>)> = sql
        .query(
            "SELECT predecessor_id, successor_id, share_points FROM unit_lineage ORDER BY successor_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut expected = vec![(a, north, Some(2500)), (a, b, Some(7500))];
    expected.sort_by_key(|r| r.1);
    assert_eq!(lineage, expected);
    let desks: Vec<(i32, i32)> = sql
        .query(
            "SELECT id, unit_id FROM desks WHERE id IN ($1, $2) ORDER BY id",
            &[&d1, &d2],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(desks, vec![(d1, north), (d2, b)]);
    let targets: Vec<(i32, i32, i32)> = sql
        .query(
            "SELECT period_id, unit_id, target FROM plan_targets ORDER BY period_id, unit_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut expected = vec![(spanning, a, 10), (after, b, 38), (after, north, 10)];
    expected.sort();
    assert_eq!(targets, expected);
    // The response stays with A.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM responses WHERE unit_id = {a}"
        ))
        .await,
        1
    );
    let (_, audit) = audit_of_last_act(&app).await;
    assert_eq!(audit["kind"], "split");
    assert_eq!(audit["lineage"].as_array().unwrap().len(), 2);
    // The plan page warns about the spanning period.
    let page = html_text(
        &admin
            .get(&format!("/staff/plans/{plan}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(
        page.contains("Kỳ «Quý III» bao trùm ngày hiệu lực 15/08/2025 của việc sắp xếp đơn vị «Quyết định thử nghiệm chia tách»"),
        "{page}"
    );
    let page = html_text(
        &admin
            .get(&format!("/staff/units/{a}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(
        page.contains("Đã chia tách thành Xã Thử Nghiệm A Bắc, Xã Thử Nghiệm B từ ngày 15/08/2025"),
        "{page}"
    );
}

#[tokio::test]
async fn a_rename_and_a_move_keep_the_unit_and_record_the_act() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.admin", "admin", &[]).await;
    let a = unit(&app, &admin, "thu-nghiem-a", "Xã Thử Nghiệm A").await;
    let b = unit(&app, &admin, "thu-nghiem-b", "Xã Thử Nghiệm B").await;
    let d = desk(&app, &admin, a, "Quầy Thử Nghiệm A").await;
    let code = app.desk_code("thu-nghiem-a").await;
    app.send_survey_stored(&code, &full_answers("5")).await;
    let a_s = a.to_string();
    let b_s = b.to_string();
    let base = [
        ("title", "Nghị quyết thử nghiệm đổi tên"),
        ("legal_basis", "Số 3/NQ-THU"),
        ("effective_date", "2025-07-01"),
    ];
    let rename = with(
        &base,
        &[("unit", a_s.as_str()), ("name", "Phường Thử Nghiệm A")],
    );
    let preview = admin
        .post("/staff/reorganisations/rename/preview", &rename)
        .await;
    assert_eq!(preview.status(), 200);
    assert!(html_text(&preview.text().await.unwrap()).contains(
        "Đơn vị «Xã Thử Nghiệm A» đổi tên thành «Phường Thử Nghiệm A» (giữ nguyên mã và dữ liệu)."
    ));
    let applied = admin
        .post(
            "/staff/reorganisations/rename/apply",
            &with(&rename, &[("confirm", "yes")]),
        )
        .await;
    assert_eq!(applied.status(), 303);
    let sql = app.sql().await;
    let row = sql
        .query_one(
            "SELECT u.name, u.valid_until IS NULL AND u.active, \
                    (SELECT count(*) FROM desks WHERE unit_id = u.id AND active), \
                    (SELECT count(*) FROM responses WHERE unit_id = u.id) \
             FROM units u WHERE u.id = $1",
            &[&a],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Phường Thử Nghiệm A");
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 1);
    assert_eq!(row.get::<_, i64>(3), 1);
    let (_, audit) = audit_of_last_act(&app).await;
    assert_eq!(audit["kind"], "rename");
    assert_eq!(audit["from"], "Xã Thử Nghiệm A");
    assert_eq!(audit["to"], "Phường Thử Nghiệm A");
    let details: String = sql
        .query_one(
            "SELECT details::text FROM reorganisations WHERE kind = 'rename'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(
        details,
        serde_json::json!({"unit_id": a, "from": "Xã Thử Nghiệm A", "to": "Phường Thử Nghiệm A"})
    );

    let moved = with(
        &[
            ("title", "Quyết định thử nghiệm chuyển"),
            ("legal_basis", "Số 4/QĐ-THU"),
            ("effective_date", "2025-07-01"),
        ],
        &[("unit", a_s.as_str()), ("parent", b_s.as_str())],
    );
    let preview = admin
        .post("/staff/reorganisations/move/preview", &moved)
        .await;
    assert_eq!(preview.status(), 200);
    let text = html_text(&preview.text().await.unwrap());
    assert!(
        text.contains("Đơn vị «Phường Thử Nghiệm A» chuyển từ «")
            && text.contains("» sang «Xã Thử Nghiệm B» (cùng các đơn vị trực thuộc)."),
        "{text}"
    );
    let applied = admin
        .post(
            "/staff/reorganisations/move/apply",
            &with(&moved, &[("confirm", "yes")]),
        )
        .await;
    assert_eq!(applied.status(), 303);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM units WHERE id = {a} AND parent_id = {b}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM desks WHERE id = {d} AND unit_id = {a}"
        ))
        .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM unit_lineage").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'unit.reorganise'")
            .await,
        2
    );
    let list = html_text(
        &admin
            .get("/staff/reorganisations")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(
        list.contains("«Xã Thử Nghiệm A» → «Phường Thử Nghiệm A»"),
        "{list}"
    );
    assert!(list.contains("«Phường Thử Nghiệm A»: «"), "{list}");
    assert!(list.contains("» → «Xã Thử Nghiệm B»"), "{list}");
}
