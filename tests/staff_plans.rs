//! The annual survey plan: creating plans with each period preset, custom periods, targets typed
//! or computed from the expected dossiers, progress against target from responses submitted
//! through the citizen's path, permissions of each role, and the audit trail.

use crate::common;

use common::location;

use common::{StaffClient, TestApp, full_answers};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const GIA_RAY: &str = "xuan-loc.gia-ray";
const BAO_HOA: &str = "xuan-loc.bao-hoa";
/// The unit of the district one-stop desk (and of the quick-rating desk).
const DISTRICT_OFFICE: &str = "xuan-loc.van-phong-hdnd-ubnd";
const SIPAS_FORM: &str = "sipas-1001-dich-vu";

/// Posts the new-plan form for the district with `fields` overriding the defaults.
async fn post_plan(
    app: &TestApp,
    admin: &StaffClient,
    year: i32,
    preset: &str,
    overrides: &[(&str, &str)],
) -> reqwest::Response {
    let district = app.unit_id("xuan-loc").await.to_string();
    let year = year.to_string();
    let title = format!("Kế hoạch khảo sát sự hài lòng năm {year}");
    let mut fields: Vec<(&str, &str)> = vec![
        ("year", &year),
        ("title", &title),
        ("unit_id", &district),
        ("form_id", SIPAS_FORM),
        ("margin", "0,05"),
        ("preset", preset),
    ];
    for (key, value) in overrides {
        fields.retain(|(k, _)| k != key);
        fields.push((key, value));
    }
    admin.post("/staff/plans", &fields).await
}

/// Creates a district plan and returns its id (from the redirect).
async fn create_plan(app: &TestApp, admin: &StaffClient, year: i32, preset: &str) -> i32 {
    let response = post_plan(app, admin, year, preset, &[]).await;
    let status = response.status();
    let where_to = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    assert_eq!(status, 303, "{}", response.text().await.unwrap());
    let where_to = where_to.unwrap();
    let id = where_to
        .strip_prefix("/staff/plans/")
        .and_then(|rest| rest.strip_suffix("?ok=created"))
        .unwrap_or_else(|| panic!("unexpected redirect {where_to}"));
    id.parse().unwrap()
}

/// The plan's periods as (name, starts_on, ends_on), dates as yyyy-mm-dd, in date order.
async fn periods(app: &TestApp, plan_id: i32) -> Vec<(String, String, String)> {
    app.sql()
        .await
        .query(
            "SELECT name, starts_on::text, ends_on::text FROM plan_periods WHERE plan_id = $1 \
             ORDER BY starts_on",
            &[&plan_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn period_id(app: &TestApp, plan_id: i32, name: &str) -> i32 {
    app.sql()
        .await
        .query_one(
            "SELECT id FROM plan_periods WHERE plan_id = $1 AND name = $2",
            &[&plan_id, &name],
        )
        .await
        .unwrap_or_else(|e| panic!("no period {name}: {e}"))
        .get(0)
}

/// The stored (target, expected_dossiers) of a unit in a period.
async fn target(app: &TestApp, period: i32, unit_code: &str) -> Option<(i32, Option<i32>)> {
    app.sql()
        .await
        .query_opt(
            "SELECT t.target, t.expected_dossiers FROM plan_targets t JOIN units u ON u.id = t.unit_id \
             WHERE t.period_id = $1 AND u.code = $2",
            &[&period, &unit_code],
        )
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1)))
}

struct Audit {
    account: String,
    entity: String,
    entity_id: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

async fn audit(app: &TestApp, action: &str) -> Vec<Audit> {
    app.sql()
        .await
        .query(
            "SELECT a.username, l.entity, l.entity_id, l.before::text, l.after::text \
             FROM audit_log l JOIN accounts a ON a.id = l.account_id \
             WHERE l.action = $1 ORDER BY l.id",
            &[&action],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let json = |i: usize| {
                r.get::<_, Option<String>>(i)
                    .map(|t| serde_json::from_str(&t).unwrap())
            };
            Audit {
                account: r.get(0),
                entity: r.get(1),
                entity_id: r.get(2),
                before: json(3),
                after: json(4),
            }
        })
        .collect()
}

async fn audit_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM audit_log WHERE action LIKE 'plan.%'")
        .await
}

/// The HTML of the table row with `id`.
fn row<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let end = html[start..].find("</tr>")? + start;
    Some(&html[start..end])
}

/// The text of the cell with `class` in a progress row.
fn cell<'a>(row: &'a str, class: &str) -> &'a str {
    let marker = format!("class=\"{class}\">");
    let start = row
        .find(&marker)
        .unwrap_or_else(|| panic!("no {class} in {row}"))
        + marker.len();
    let end = row[start..].find('<').unwrap() + start;
    &row[start..end]
}

/// (received, target, percentage, status) of a unit's (or the totals') progress row.
fn progress<'a>(html: &'a str, id: &str) -> (&'a str, &'a str, &'a str, &'a str) {
    let row = row(html, id).unwrap_or_else(|| panic!("no row {id}"));
    (
        cell(row, "num received"),
        cell(row, "num target"),
        cell(row, "num percent"),
        cell(row, "status"),
    )
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

fn this_year() -> i32 {
    sipas::plans::current_year()
}

#[tokio::test]
async fn the_new_plan_form_proposes_this_year_the_district_and_the_usual_margin() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let response = admin.get("/staff/plans/new").await;
    assert_eq!(response.status(), 200);
    let html = text(response).await;
    let year = this_year();
    assert!(
        html.contains(&format!("name=\"year\" value=\"{year}\"")),
        "{html}"
    );
    assert!(html.contains(&format!(
        "value=\"Kế hoạch khảo sát sự hài lòng năm {year}\""
    )));
    let district = app.unit_id("xuan-loc").await;
    assert!(html.contains(&format!(
        "<option value=\"{district}\" selected>UBND huyện Xuân Lộc"
    )));
    let province = app.unit_id("dong-nai").await;
    assert!(html.contains(&format!("<option value=\"{province}\">UBND tỉnh Đồng Nai")));
    // Only provinces and districts own plans.
    let commune = app.unit_id(XUAN_BAC).await;
    assert!(!html.contains(&format!("<option value=\"{commune}\"")));
    assert!(html.contains("name=\"margin\" value=\"0,05\""));
    assert!(html.contains(&format!("<option value=\"{SIPAS_FORM}\" selected>")));
    assert!(html.contains("<option value=\"danh-gia-mot-cua\">"));
    for preset in ["quarters", "halves", "year", "months", "custom"] {
        assert!(html.contains(&format!("value=\"{preset}\"")), "{preset}");
    }
    assert!(html.contains("4 quý") && html.contains("2 đợt 6 tháng") && html.contains("Cả năm"));
}

#[tokio::test]
async fn plans_are_created_with_each_preset_and_audited() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;

    let quarters = create_plan(&app, &admin, 2026, "quarters").await;
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        periods(&app, quarters).await,
        [
            s("Quý I", "2026-01-01", "2026-03-31"),
            s("Quý II", "2026-04-01", "2026-06-30"),
            s("Quý III", "2026-07-01", "2026-09-30"),
            s("Quý IV", "2026-10-01", "2026-12-31"),
        ]
    );
    let halves = create_plan(&app, &admin, 2025, "halves").await;
    assert_eq!(
        periods(&app, halves).await,
        [
            s("6 tháng đầu năm", "2025-01-01", "2025-06-30"),
            s("6 tháng cuối năm", "2025-07-01", "2025-12-31"),
        ]
    );
    let year = create_plan(&app, &admin, 2027, "year").await;
    assert_eq!(
        periods(&app, year).await,
        [s("Cả năm", "2027-01-01", "2027-12-31")]
    );
    // 2028 is a leap year: February has 29 days.
    let months = create_plan(&app, &admin, 2028, "months").await;
    let monthly = periods(&app, months).await;
    assert_eq!(monthly.len(), 12);
    assert_eq!(monthly[1], s("Tháng 2", "2028-02-01", "2028-02-29"));
    assert_eq!(monthly[11], s("Tháng 12", "2028-12-01", "2028-12-31"));
    let custom = create_plan(&app, &admin, 2029, "custom").await;
    assert!(periods(&app, custom).await.is_empty());

    // The stored plan: unit, year, title, form and margin.
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT u.code, p.year, p.title, p.form_id, p.margin_of_error FROM survey_plans p \
             JOIN units u ON u.id = p.unit_id WHERE p.id = $1",
            &[&quarters],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "xuan-loc");
    assert_eq!(row.get::<_, i16>(1), 2026);
    assert_eq!(
        row.get::<_, String>(2),
        "Kế hoạch khảo sát sự hài lòng năm 2026"
    );
    assert_eq!(row.get::<_, String>(3), SIPAS_FORM);
    assert_eq!(row.get::<_, f64>(4), 0.05);

    // The plan page shows the periods; the list shows every plan, newest year first.
    let page = admin
        .get(&format!("/staff/plans/{quarters}?ok=created"))
        .await;
    assert_eq!(page.status(), 200);
    let html = text(page).await;
    assert!(html.contains("Đã lập kế hoạch khảo sát."));
    assert!(html.contains("Quý III (01/07/2026 – 30/09/2026)"), "{html}");
    assert!(html.contains("n = N / (1 + N × e²)"));
    let list = text(admin.get("/staff/plans").await).await;
    let positions: Vec<usize> = [2029, 2028, 2027, 2026, 2025]
        .iter()
        .map(|y| {
            list.find(&format!("Kế hoạch khảo sát sự hài lòng năm {y}"))
                .unwrap_or_else(|| panic!("{y} listed"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(list.contains("Quý I (01/01/2026 – 31/03/2026)"));
    assert!(list.contains("UBND huyện Xuân Lộc"));

    // Audited: who, which plan, and what was created with its periods.
    let entries = audit(&app, "plan.create").await;
    assert_eq!(entries.len(), 5);
    let first = &entries[0];
    assert_eq!(first.account, "an.nguyen");
    assert_eq!(first.entity, "plan");
    assert_eq!(first.entity_id, quarters.to_string());
    assert!(first.before.is_none());
    let after = first.after.as_ref().unwrap();
    assert_eq!(after["year"], 2026);
    assert_eq!(after["form_id"], SIPAS_FORM);
    assert_eq!(after["margin_of_error"], 0.05);
    assert_eq!(after["periods"].as_array().unwrap().len(), 4);
    assert_eq!(after["periods"][3]["name"], "Quý IV");
    assert_eq!(after["periods"][3]["starts_on"], "2026-10-01");
    assert_eq!(after["periods"][3]["ends_on"], "2026-12-31");
}

#[tokio::test]
async fn a_second_plan_for_the_same_unit_and_year_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    create_plan(&app, &admin, 2026, "quarters").await;
    let again = post_plan(&app, &admin, 2026, "halves", &[("title", "Kế hoạch khác")]).await;
    assert_eq!(again.status(), 422);
    let html = text(again).await;
    assert!(
        html.contains("Đơn vị này đã có kế hoạch khảo sát năm 2026."),
        "{html}"
    );
    assert!(
        html.contains("value=\"Kế hoạch khác\""),
        "the typed values stay"
    );
    assert_eq!(app.count("SELECT count(*) FROM survey_plans").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM plan_periods").await, 4);
    assert_eq!(audit(&app, "plan.create").await.len(), 1);
    // The same year for the province, or another year for the district, is fine.
    let province = app.unit_id("dong-nai").await.to_string();
    let response = post_plan(&app, &admin, 2026, "year", &[("unit_id", &province)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        post_plan(&app, &admin, 2027, "year", &[]).await.status(),
        303
    );
}

#[tokio::test]
async fn a_wrong_new_plan_is_refused_with_a_message_per_field() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let commune = app.unit_id(XUAN_BAC).await.to_string();
    let cases: [(&str, &str, &str); 12] = [
        ("year", "20x6", "Vui lòng nhập năm từ 2000 đến 2100."),
        ("year", "1999", "Vui lòng nhập năm từ 2000 đến 2100."),
        ("title", "   ", "Vui lòng nhập tên kế hoạch."),
        (
            "unit_id",
            &commune,
            "Vui lòng chọn đơn vị cấp tỉnh hoặc cấp huyện.",
        ),
        (
            "unit_id",
            "abc",
            "Vui lòng chọn đơn vị cấp tỉnh hoặc cấp huyện.",
        ),
        ("form_id", "khong-co", "Vui lòng chọn một phiếu khảo sát."),
        ("margin", "0,3", "Sai số e phải là số từ 0,01 đến 0,2"),
        ("margin", "0,005", "Sai số e phải là số từ 0,01 đến 0,2"),
        (
            "margin",
            "năm phần trăm",
            "Sai số e phải là số từ 0,01 đến 0,2",
        ),
        ("margin", "0,0,5", "Sai số e phải là số từ 0,01 đến 0,2"),
        ("preset", "tuần", "Vui lòng chọn cách chia đợt khảo sát."),
        ("preset", "", "Vui lòng chọn cách chia đợt khảo sát."),
    ];
    for (field, value, message) in cases {
        let response = post_plan(&app, &admin, 2026, "quarters", &[(field, value)]).await;
        assert_eq!(response.status(), 422, "{field} = {value}");
        let html = text(response).await;
        assert!(html.contains(message), "{field} = {value}: {html}");
        assert!(html.contains("Chưa lưu được."));
    }
    assert_eq!(app.count("SELECT count(*) FROM survey_plans").await, 0);
    assert_eq!(audit_count(&app).await, 0);
    // The margin with a dot, a comma, or as a percentage; at both ends of the accepted range.
    for (year, margin, stored) in [
        (2030, "0.1", 0.1),
        (2031, "0,01", 0.01),
        (2032, "0,2", 0.2),
        (2033, "3%", 0.03),
    ] {
        let response = post_plan(&app, &admin, year, "year", &[("margin", margin)]).await;
        assert_eq!(response.status(), 303, "{margin}");
        let e: f64 = app
            .sql()
            .await
            .query_one(
                "SELECT margin_of_error FROM survey_plans WHERE year = $1",
                &[&(year as i16)],
            )
            .await
            .unwrap()
            .get(0);
        assert!((e - stored).abs() < 1e-12, "{margin} stored as {e}");
    }
}

#[tokio::test]
async fn custom_periods_are_checked_added_and_removed() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let plan = create_plan(&app, &admin, 2026, "custom").await;
    let path = format!("/staff/plans/{plan}/periods");
    let add = |name: &'static str, from: &'static str, to: &'static str| {
        let admin = &admin;
        let path = path.clone();
        async move {
            admin
                .post(
                    &path,
                    &[("name", name), ("starts_on", from), ("ends_on", to)],
                )
                .await
        }
    };

    let first = add("Đợt 1", "01/01/2026", "31/03/2026").await;
    assert_eq!(first.status(), 303);
    assert!(location(&first).starts_with(&format!("/staff/plans/{plan}?ok=period_added")));
    // ISO dates too, and a period starting the day after another ends.
    assert_eq!(add("Đợt 2", "2026-04-01", "2026-06-30").await.status(), 303);
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        periods(&app, plan).await,
        [
            s("Đợt 1", "2026-01-01", "2026-03-31"),
            s("Đợt 2", "2026-04-01", "2026-06-30"),
        ]
    );

    let refused = [
        (
            "Đợt 3",
            "15/03/2026",
            "31/07/2026",
            "Thời gian trùng với đợt “Đợt 1” (01/01/2026 – 31/03/2026).",
        ),
        (
            "Đợt 3",
            "30/06/2026",
            "30/06/2026",
            "Thời gian trùng với đợt “Đợt 2”",
        ),
        (
            "Đợt 3",
            "01/12/2026",
            "05/01/2027",
            "Ngày phải thuộc năm 2026 của kế hoạch.",
        ),
        (
            "Đợt 3",
            "20/12/2025",
            "31/12/2026",
            "Ngày phải thuộc năm 2026 của kế hoạch.",
        ),
        (
            "Đợt 3",
            "31/08/2026",
            "01/08/2026",
            "Ngày kết thúc phải bằng hoặc sau ngày bắt đầu.",
        ),
        ("Đợt 3", "31/02/2026", "31/03/2026", "Ngày không hợp lệ."),
        ("Đợt 3", "hôm nay", "31/12/2026", "Ngày không hợp lệ."),
        ("  ", "01/08/2026", "31/08/2026", "Vui lòng nhập tên đợt."),
        (
            "đợt 1",
            "01/08/2026",
            "31/08/2026",
            "Kế hoạch đã có đợt mang tên này.",
        ),
    ];
    for (name, from, to, message) in refused {
        let response = add(name, from, to).await;
        assert_eq!(response.status(), 422, "{name} {from} {to}");
        let html = text(response).await;
        assert!(html.contains(message), "{name} {from} {to}: {html}");
        // The form keeps what was typed.
        assert!(html.contains(&format!("name=\"starts_on\" value=\"{from}\"")));
    }
    assert_eq!(periods(&app, plan).await.len(), 2);
    let added = audit(&app, "plan.add_period").await;
    assert_eq!(added.len(), 2);
    assert_eq!(added[0].entity_id, plan.to_string());
    assert_eq!(added[0].after.as_ref().unwrap()["period"]["name"], "Đợt 1");
    assert_eq!(
        added[0].after.as_ref().unwrap()["period"]["ends_on"],
        "2026-03-31"
    );

    // Removing a period removes its targets, and the audit keeps them.
    let second = period_id(&app, plan, "Đợt 2").await;
    let xuan_bac = app.unit_id(XUAN_BAC).await.to_string();
    let saved = admin
        .post(
            &format!("/staff/plans/{plan}/periods/{second}/targets"),
            &[(&format!("target_{xuan_bac}"), "25")],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let removed = admin
        .post(&format!("/staff/plans/{plan}/periods/{second}/remove"), &[])
        .await;
    assert_eq!(removed.status(), 303);
    assert_eq!(
        periods(&app, plan).await,
        [s("Đợt 1", "2026-01-01", "2026-03-31")]
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM plan_targets WHERE period_id = {second}"
        ))
        .await,
        0
    );
    let entries = audit(&app, "plan.remove_period").await;
    assert_eq!(entries.len(), 1);
    let before = entries[0].before.as_ref().unwrap();
    assert_eq!(before["period"]["name"], "Đợt 2");
    assert_eq!(before["targets"][0]["target"], 25);
    assert!(entries[0].after.is_none());
    // The freed dates can be used again; removing it twice, or a period of nothing, is 404.
    assert_eq!(
        add("Đợt 2 (mới)", "01/04/2026", "15/05/2026")
            .await
            .status(),
        303
    );
    let gone = admin
        .post(&format!("/staff/plans/{plan}/periods/{second}/remove"), &[])
        .await;
    assert_eq!(gone.status(), 404);
    let bogus = admin
        .post(&format!("/staff/plans/{plan}/periods/abc/remove"), &[])
        .await;
    assert_eq!(bogus.status(), 404);
}

/// The formula, computed here independently in integers: ceil(N / (1 + N e²)) with e = 1/k is
/// ceil(N k² / (k² + N)).
fn slovin(n: u64, k: u64) -> i32 {
    (n * k * k).div_ceil(k * k + n) as i32
}

#[tokio::test]
async fn targets_are_typed_or_computed_from_the_expected_dossiers() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    // e = 0,1, so that the plan's own margin is visibly the one used.
    let district = app.unit_id("xuan-loc").await.to_string();
    let response = admin
        .post(
            "/staff/plans",
            &[
                ("year", "2026"),
                ("title", "Kế hoạch khảo sát sự hài lòng năm 2026"),
                ("unit_id", &district),
                ("form_id", SIPAS_FORM),
                ("margin", "0,1"),
                ("preset", "quarters"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let plan: i32 = app.count("SELECT id::int8 FROM survey_plans").await as i32;
    let q1 = period_id(&app, plan, "Quý I").await;
    let q2 = period_id(&app, plan, "Quý II").await;
    let page = text(admin.get(&format!("/staff/plans/{plan}")).await).await;
    // Every unit with a desk below the district is in the table: 13 departments, the town and
    // 14 communes; the district itself has no desk.
    for code in [XUAN_BAC, GIA_RAY, DISTRICT_OFFICE, "xuan-loc.phong-noi-vu"] {
        assert!(page.contains(&format!("id=\"t{q1}-{code}\"")), "{code}");
    }
    assert!(!page.contains(&format!("id=\"t{q1}-xuan-loc\"")));
    assert_eq!(page.matches(&format!("id=\"t{q1}-")).count(), 28);
    assert!(page.contains("e = 0,1"));

    let id = |code: &'static str| {
        let app = &app;
        async move { app.unit_id(code).await }
    };
    let (xb, xd, gr, bh) = (
        id(XUAN_BAC).await,
        id(XUAN_DINH).await,
        id(GIA_RAY).await,
        id(BAO_HOA).await,
    );
    let f = |name: &str, unit: i32| format!("{name}_{unit}");
    let url = format!("/staff/plans/{plan}/periods/{q1}/targets");
    let response = admin
        .post(
            &url,
            &[
                // Typed directly.
                (&f("target", xb), "30"),
                (&f("dossiers", xb), ""),
                // Computed: N = 1.000 (thousands grouped the Vietnamese way).
                (&f("target", xd), ""),
                (&f("dossiers", xd), "1.000"),
                // Both given: N wins, the typed target is not used.
                (&f("target", gr), "5"),
                (&f("dossiers", gr), "250"),
                // Nothing: no target.
                (&f("target", bh), ""),
                (&f("dossiers", bh), ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/plans/{plan}?ok=targets#period-{q1}")
    );
    assert_eq!(target(&app, q1, XUAN_BAC).await, Some((30, None)));
    // 1000 / (1 + 1000 · 0.01) = 90.9 -> 91; 250 / 3.5 = 71.4 -> 72.
    assert_eq!(slovin(1000, 10), 91);
    assert_eq!(slovin(250, 10), 72);
    assert_eq!(
        target(&app, q1, XUAN_DINH).await,
        Some((slovin(1000, 10), Some(1000)))
    );
    assert_eq!(
        target(&app, q1, GIA_RAY).await,
        Some((slovin(250, 10), Some(250)))
    );
    assert_eq!(target(&app, q1, BAO_HOA).await, None);
    // Another period is untouched.
    assert_eq!(target(&app, q2, XUAN_BAC).await, None);

    let html = text(admin.get(&format!("/staff/plans/{plan}?ok=targets")).await).await;
    assert!(html.contains("Đã lưu chỉ tiêu."));
    let xd_row = row(&html, &format!("t{q1}-{XUAN_DINH}")).unwrap();
    assert!(
        xd_row.contains("value=\"1000\"") && xd_row.contains("value=\"91\""),
        "{xd_row}"
    );

    let entries = audit(&app, "plan.update_targets").await;
    assert_eq!(entries.len(), 1);
    let (before, after) = (
        entries[0].before.as_ref().unwrap(),
        entries[0].after.as_ref().unwrap(),
    );
    assert_eq!(entries[0].entity_id, plan.to_string());
    assert_eq!(after["period"]["name"], "Quý I");
    // Only the three changed rows, before (no target) and after.
    assert_eq!(after["rows"].as_array().unwrap().len(), 3);
    assert_eq!(before["rows"].as_array().unwrap().len(), 3);
    let after_xd = after["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit_id"] == xd)
        .unwrap();
    assert_eq!(after_xd["target"], 91);
    assert_eq!(after_xd["expected_dossiers"], 1000);
    assert!(
        before["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["target"].is_null())
    );

    // A second save changing one row (and clearing another) records just those rows.
    let response = admin
        .post(
            &url,
            &[
                (&f("target", xb), "35"),
                (&f("dossiers", xb), ""),
                (&f("target", xd), "91"),
                (&f("dossiers", xd), "1000"),
                (&f("target", gr), ""),
                (&f("dossiers", gr), ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(target(&app, q1, XUAN_BAC).await, Some((35, None)));
    assert_eq!(target(&app, q1, GIA_RAY).await, None);
    let entries = audit(&app, "plan.update_targets").await;
    assert_eq!(entries.len(), 2);
    let rows = entries[1].after.as_ref().unwrap()["rows"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 2);
    let before = entries[1].before.as_ref().unwrap()["rows"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        before
            .iter()
            .any(|r| r["unit_id"] == xb && r["target"] == 30)
    );
    assert!(
        before
            .iter()
            .any(|r| r["unit_id"] == gr && r["target"] == 72 && r["expected_dossiers"] == 250)
    );
    assert!(rows.iter().any(|r| r["unit_id"] == xb && r["target"] == 35));
    assert!(
        rows.iter()
            .any(|r| r["unit_id"] == gr && r["target"].is_null())
    );
    // Saving the same values again changes nothing and records nothing.
    let response = admin
        .post(&url, &[(&f("target", xb), "35"), (&f("dossiers", xb), "")])
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("ok=unchanged"));
    assert_eq!(audit(&app, "plan.update_targets").await.len(), 2);
}

#[tokio::test]
async fn one_wrong_row_refuses_the_whole_table() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let plan = create_plan(&app, &admin, 2026, "quarters").await;
    let q1 = period_id(&app, plan, "Quý I").await;
    let (xb, xd, gr, bh) = (
        app.unit_id(XUAN_BAC).await,
        app.unit_id(XUAN_DINH).await,
        app.unit_id(GIA_RAY).await,
        app.unit_id(BAO_HOA).await,
    );
    let url = format!("/staff/plans/{plan}/periods/{q1}/targets");
    let ok = admin.post(&url, &[(&format!("target_{xb}"), "30")]).await;
    assert_eq!(ok.status(), 303);
    let audits = audit_count(&app).await;

    let response = admin
        .post(
            &url,
            &[
                (&format!("target_{xb}"), "40"),
                (&format!("target_{xd}"), "-5"),
                (&format!("target_{gr}"), "2,5"),
                (&format!("dossiers_{bh}"), "nhiều"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = text(response).await;
    assert!(html.contains("Chưa lưu được chỉ tiêu."), "{html}");
    assert!(html.contains("Vui lòng sửa 3 dòng"));
    let xd_row = row(&html, &format!("t{q1}-{XUAN_DINH}")).unwrap();
    assert!(xd_row.contains("Chỉ tiêu: Số không được âm."), "{xd_row}");
    assert!(xd_row.contains("value=\"-5\""), "the typed value stays");
    let gr_row = row(&html, &format!("t{q1}-{GIA_RAY}")).unwrap();
    assert!(gr_row.contains("không có phần thập phân"), "{gr_row}");
    let bh_row = row(&html, &format!("t{q1}-{BAO_HOA}")).unwrap();
    assert!(
        bh_row.contains("Số hồ sơ dự kiến: Vui lòng nhập một số nguyên"),
        "{bh_row}"
    );
    // The good row keeps what was typed, without a message.
    let xb_row = row(&html, &format!("t{q1}-{XUAN_BAC}")).unwrap();
    assert!(xb_row.contains("value=\"40\"") && !xb_row.contains("class=\"msg\""));
    // Nothing stored: the good row neither.
    assert_eq!(target(&app, q1, XUAN_BAC).await, Some((30, None)));
    assert_eq!(app.count("SELECT count(*) FROM plan_targets").await, 1);
    assert_eq!(audit_count(&app).await, audits);
}

#[tokio::test]
async fn progress_counts_the_plans_form_per_unit_within_the_period_in_vietnam_time() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let year = this_year();
    let plan = create_plan(&app, &admin, year, "quarters").await;
    // The quarter running today (in Vietnam): the one the plan page shows.
    let running: i32 = app
        .sql()
        .await
        .query_one(
            "SELECT id FROM plan_periods WHERE plan_id = $1 AND \
             (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN starts_on AND ends_on",
            &[&plan],
        )
        .await
        .unwrap()
        .get(0);
    let (xb, xd, office) = (
        app.unit_id(XUAN_BAC).await,
        app.unit_id(XUAN_DINH).await,
        app.unit_id(DISTRICT_OFFICE).await,
    );
    let saved = admin
        .post(
            &format!("/staff/plans/{plan}/periods/{running}/targets"),
            &[
                (&format!("target_{xb}"), "2"),
                (&format!("target_{xd}"), "5"),
                // N = 100 at e = 0,05: 100 / 1.25 = 80 forms.
                (&format!("dossiers_{office}"), "100"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);

    // Citizens answer: two at Xuân Bắc, one at Xuân Định, one at the district one-stop desk,
    // one at Gia Ray (no target), and one quick rating (another form: not counted).
    let xuan_bac = app.desk_code(XUAN_BAC).await;
    for _ in 0..2 {
        app.send_survey_stored(&xuan_bac, &full_answers("4")).await;
    }
    app.send_survey_stored(&app.desk_code(XUAN_DINH).await, &full_answers("3"))
        .await;
    let district_desk = app
        .desk_code_named(DISTRICT_OFFICE, Some(sipas::demo::DISTRICT_DESK))
        .await;
    app.send_survey_stored(&district_desk, &full_answers("5"))
        .await;
    app.send_survey_stored(&app.desk_code(GIA_RAY).await, &full_answers("4"))
        .await;
    let quick = app
        .desk_code_named(DISTRICT_OFFICE, Some(sipas::demo::QUICK_RATING_DESK))
        .await;
    app.send_survey_stored(&quick, &[("DG", "3".to_string())])
        .await;
    assert_eq!(app.response_count().await, 6);

    let check_running = |html: &str| {
        assert_eq!(
            progress(html, &format!("u-{XUAN_BAC}")),
            ("2", "2", "100,0 %", "Đạt")
        );
        assert_eq!(
            progress(html, &format!("u-{XUAN_DINH}")),
            ("1", "5", "20,0 %", "Chưa đạt")
        );
        assert_eq!(
            progress(html, &format!("u-{DISTRICT_OFFICE}")),
            ("1", "80", "1,3 %", "Chưa đạt")
        );
        assert_eq!(
            progress(html, &format!("u-{GIA_RAY}")),
            ("1", "—", "—", "Chưa giao chỉ tiêu")
        );
        assert_eq!(
            progress(html, &format!("u-{BAO_HOA}")),
            ("0", "—", "—", "Chưa giao chỉ tiêu")
        );
        // 5 forms of the plan's form; targets 2 + 5 + 80 = 87; 5 / 87 = 5.7 %.
        assert_eq!(progress(html, "totals"), ("5", "87", "5,7 %", "Chưa đạt"));
        assert!(html.contains("Số đơn vị đạt chỉ tiêu: 1/3"));
    };
    let page = admin.get(&format!("/staff/plans/{plan}")).await;
    assert_eq!(page.status(), 200);
    check_running(&text(page).await);
    let page = admin.get(&format!("/staff/plans/{plan}/progress")).await;
    assert_eq!(page.status(), 200);
    check_running(&text(page).await);
    let page = admin
        .get(&format!("/staff/plans/{plan}/progress?period={running}"))
        .await;
    check_running(&text(page).await);
    // The list's summary of the running period.
    let list = text(admin.get("/staff/plans").await).await;
    assert!(
        list.contains("<strong>5</strong> / 87 phiếu (5,7 %) · 1/3 đơn vị đạt chỉ tiêu"),
        "{list}"
    );

    // Period boundaries are Vietnam's midnights. Move the responses to chosen instants: the
    // last second of Quý I and the first of Quý II (Vietnam time), and one just before the year.
    let sql = app.sql().await;
    let ids: Vec<i64> = sql
        .query(
            "SELECT r.id FROM responses r JOIN units u ON u.id = r.unit_id \
             JOIN form_versions fv ON fv.id = r.form_version_id \
             WHERE fv.form_id = $1 ORDER BY r.id",
            &[&SIPAS_FORM],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), 5);
    let at = |id: i64, when: String| {
        let sql = &sql;
        async move {
            sql.execute(
                "UPDATE responses SET submitted_at = $2::text::timestamptz WHERE id = $1",
                &[&id, &when],
            )
            .await
            .unwrap();
        }
    };
    // ids[0], ids[1]: Xuân Bắc; ids[2]: Xuân Định; ids[3]: the district desk; ids[4]: Gia Ray.
    at(ids[0], format!("{year}-03-31 23:59:59+07")).await;
    at(ids[1], format!("{year}-04-01 00:00:00+07")).await;
    at(ids[2], format!("{year}-01-01 00:00:00+07")).await;
    at(ids[3], format!("{}-12-31 23:59:59+07", year - 1)).await;
    at(ids[4], format!("{year}-06-30 23:59:59.999+07")).await;
    let q1 = period_id(&app, plan, "Quý I").await;
    let q2 = period_id(&app, plan, "Quý II").await;
    let html = text(
        admin
            .get(&format!("/staff/plans/{plan}/progress?period={q1}"))
            .await,
    )
    .await;
    assert_eq!(progress(&html, &format!("u-{XUAN_BAC}")).0, "1");
    assert_eq!(progress(&html, &format!("u-{XUAN_DINH}")).0, "1");
    assert_eq!(progress(&html, &format!("u-{DISTRICT_OFFICE}")).0, "0");
    assert_eq!(progress(&html, &format!("u-{GIA_RAY}")).0, "0");
    assert_eq!(progress(&html, "totals").0, "2");
    let html = text(
        admin
            .get(&format!("/staff/plans/{plan}/progress?period={q2}"))
            .await,
    )
    .await;
    assert_eq!(progress(&html, &format!("u-{XUAN_BAC}")).0, "1");
    assert_eq!(progress(&html, &format!("u-{GIA_RAY}")).0, "1");
    assert_eq!(progress(&html, "totals").0, "2");

    // A unit account sees its own row and totals only.
    let unit = app.staff_with_role("can.bo.xb", "unit", &[XUAN_BAC]).await;
    let html = text(
        unit.get(&format!("/staff/plans/{plan}/progress?period={q2}"))
            .await,
    )
    .await;
    assert_eq!(progress(&html, &format!("u-{XUAN_BAC}")).0, "1");
    assert!(row(&html, &format!("u-{GIA_RAY}")).is_none());
    assert!(row(&html, &format!("u-{XUAN_DINH}")).is_none());
    assert_eq!(progress(&html, "totals").0, "1");
    // Periods of another plan, or not numbers, are not found.
    for bad in ["abc", "0", "999999", "-1"] {
        let response = admin
            .get(&format!("/staff/plans/{plan}/progress?period={bad}"))
            .await;
        assert_eq!(response.status(), 404, "{bad}");
    }
}

#[tokio::test]
async fn a_response_below_a_unit_without_a_desk_counts_for_the_nearest_unit_above() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let year = this_year();
    let plan = create_plan(&app, &admin, year, "year").await;
    let sql = app.sql().await;
    // A hamlet office below Xuân Bắc with no desk of its own; one response is filed there.
    sql.batch_execute(
        "INSERT INTO units (parent_id, code, name, kind) \
         SELECT id, 'xuan-loc.xuan-bac.ap-1', 'Ấp 1', 'other' FROM units WHERE code = 'xuan-loc.xuan-bac'",
    )
    .await
    .unwrap();
    let code = app.desk_code(XUAN_BAC).await;
    app.send_survey_stored(&code, &full_answers("4")).await;
    app.send_survey_stored(&code, &full_answers("4")).await;
    sql.batch_execute(
        "UPDATE responses SET unit_id = (SELECT id FROM units WHERE code = 'xuan-loc.xuan-bac.ap-1') \
         WHERE id = (SELECT min(id) FROM responses)",
    )
    .await
    .unwrap();
    let html = text(admin.get(&format!("/staff/plans/{plan}/progress")).await).await;
    assert_eq!(progress(&html, &format!("u-{XUAN_BAC}")).0, "2");
    assert!(row(&html, "u-xuan-loc.xuan-bac.ap-1").is_none());
    assert_eq!(progress(&html, "totals").0, "2");
}

#[tokio::test]
async fn who_may_read_and_change_plans() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let unit = app.staff_with_role("can.bo.xb", "unit", &[XUAN_BAC]).await;
    let anonymous = StaffClient::new(&app.address);
    let plan = create_plan(&app, &admin, 2026, "quarters").await;
    let q1 = period_id(&app, plan, "Quý I").await;
    let xb = app.unit_id(XUAN_BAC).await;
    let xd = app.unit_id(XUAN_DINH).await;
    let saved = admin
        .post(
            &format!("/staff/plans/{plan}/periods/{q1}/targets"),
            &[
                (&format!("target_{xb}"), "30"),
                (&format!("target_{xd}"), "40"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    // Another district's plan, outside the Xuân Bắc account's units.
    app.sql()
        .await
        .batch_execute(
            "INSERT INTO units (parent_id, code, name, kind) \
             SELECT id, 'bien-hoa', 'UBND thành phố Biên Hòa', 'district' FROM units WHERE code = 'dong-nai'",
        )
        .await
        .unwrap();
    let bien_hoa = app.unit_id("bien-hoa").await.to_string();
    let other = post_plan(
        &app,
        &admin,
        2026,
        "year",
        &[("unit_id", &bien_hoa), ("title", "Kế hoạch Biên Hòa")],
    )
    .await;
    assert_eq!(other.status(), 303);
    let other = location(&other);
    let other = other.trim_end_matches("?ok=created");

    // Anonymous: to the sign-in page, for reading and changing alike.
    let response = anonymous.get("/staff/plans").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sign-in?next=%2Fstaff%2Fplans");
    assert_eq!(
        anonymous
            .get(&format!("/staff/plans/{plan}"))
            .await
            .status(),
        303
    );
    let csrf = anonymous.csrf().await;
    let response = anonymous
        .post_raw("/staff/plans", &[("_csrf", &csrf), ("year", "2030")])
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in"));

    // Everyone signed in reads; only admins see forms.
    let admin_page = text(admin.get(&format!("/staff/plans/{plan}")).await).await;
    assert!(admin_page.contains(&format!("action=\"/staff/plans/{plan}/periods\"")));
    assert!(admin_page.contains(&format!("name=\"target_{xb}\"")));
    assert!(
        text(admin.get("/staff/plans").await)
            .await
            .contains("href=\"/staff/plans/new\"")
    );

    let viewer_page = viewer.get(&format!("/staff/plans/{plan}")).await;
    assert_eq!(viewer_page.status(), 200);
    let viewer_page = text(viewer_page).await;
    assert!(!viewer_page.contains("<form method=\"post\" action=\"/staff/plans"));
    assert!(!viewer_page.contains("name=\"target_"));
    assert!(viewer_page.contains(&format!("id=\"t{q1}-{XUAN_DINH}\"")));
    let viewer_list = text(viewer.get("/staff/plans").await).await;
    assert!(viewer_list.contains("Kế hoạch Biên Hòa") && !viewer_list.contains("/staff/plans/new"));
    assert_eq!(viewer.get(other).await.status(), 200);

    let unit_list = unit.get("/staff/plans").await;
    assert_eq!(unit_list.status(), 200);
    let unit_list = text(unit_list).await;
    assert!(unit_list.contains("Kế hoạch khảo sát sự hài lòng năm 2026"));
    assert!(!unit_list.contains("Kế hoạch Biên Hòa"));
    let unit_page = unit.get(&format!("/staff/plans/{plan}")).await;
    assert_eq!(unit_page.status(), 200);
    let unit_page = text(unit_page).await;
    assert!(unit_page.contains(&format!("id=\"t{q1}-{XUAN_BAC}\"")));
    assert!(
        !unit_page.contains(&format!("id=\"t{q1}-{XUAN_DINH}\"")),
        "only its own rows"
    );
    assert!(
        !unit_page.contains("name=\"target_")
            && !unit_page.contains("<form method=\"post\" action=\"/staff/plans")
    );
    assert_eq!(unit.get(other).await.status(), 404);
    assert_eq!(unit.get(&format!("{other}/progress")).await.status(), 404);

    // The new-plan page is the admins' only.
    assert_eq!(admin.get("/staff/plans/new").await.status(), 200);
    assert_eq!(viewer.get("/staff/plans/new").await.status(), 404);
    assert_eq!(unit.get("/staff/plans/new").await.status(), 404);

    // Changes: viewers 403, unit accounts 404, nothing stored.
    let district = app.unit_id("xuan-loc").await.to_string();
    let plan_fields = [
        ("year", "2031"),
        ("title", "Kế hoạch 2031"),
        ("unit_id", district.as_str()),
        ("form_id", SIPAS_FORM),
        ("margin", "0,05"),
        ("preset", "year"),
    ];
    let targets = format!("/staff/plans/{plan}/periods/{q1}/targets");
    let target_field = format!("target_{xb}");
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/staff/plans".to_string(), plan_fields.to_vec()),
        (
            format!("/staff/plans/{plan}/periods"),
            vec![
                ("name", "Đợt bổ sung"),
                ("starts_on", "01/01/2026"),
                ("ends_on", "05/01/2026"),
            ],
        ),
        (targets.clone(), vec![(target_field.as_str(), "1")]),
        (format!("/staff/plans/{plan}/periods/{q1}/remove"), vec![]),
    ];
    let audits = audit_count(&app).await;
    for (path, fields) in &posts {
        assert_eq!(
            viewer.post(path, fields).await.status(),
            403,
            "viewer {path}"
        );
        assert_eq!(unit.post(path, fields).await.status(), 404, "unit {path}");
    }
    assert_eq!(app.count("SELECT count(*) FROM survey_plans").await, 2);
    assert_eq!(periods(&app, plan).await.len(), 4);
    assert_eq!(target(&app, q1, XUAN_BAC).await, Some((30, None)));
    assert_eq!(audit_count(&app).await, audits);
    // Admins without the form's token are refused as well.
    let response = admin
        .post_raw(&targets, &[(target_field.as_str(), "1")])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(target(&app, q1, XUAN_BAC).await, Some((30, None)));

    // Unknown and malformed ids.
    for path in [
        "/staff/plans/999999",
        "/staff/plans/abc",
        "/staff/plans/0",
        "/staff/plans/1x/progress",
    ] {
        assert_eq!(admin.get(path).await.status(), 404, "{path}");
    }
    let response = admin
        .post(
            &format!("/staff/plans/{plan}/periods/999999/targets"),
            &[(target_field.as_str(), "1")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = admin
        .post("/staff/plans/abc/periods", &[("name", "x")])
        .await;
    assert_eq!(response.status(), 404);
}
