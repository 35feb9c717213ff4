//! The ranking rule (issue 17), everywhere a ranking is shown: only units with enough sample
//! (at least 30 forms and the plan's target) take a place; the others are listed beneath,
//! unranked ("Chưa đủ mẫu – chưa xếp hạng"), whatever their index. Checked on the JSON API
//! (against ranks recomputed here from its own indices and counts), the overview, the printable
//! report, the Excel workbook and the public page of a published period.
//!
//! And the plan's satisfaction goals: new plans start with the national programme's (Nghị quyết
//! 76/NQ-CP: 80% by 2025, 90% by 2030), admins change them, the charts and the report follow,
//! other roles cannot, bad input is refused with a message and nothing stored.

use crate::common;

use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::{Datelike, NaiveDate};
use common::{StaffClient, TempDir, TestApp};
use serde_json::Value;
use sipas::auth::Scope;
use sipas::export::{self, ExportFormat, ExportSpec, SpecRequest};

const FORM: &str = "sipas-1001-dich-vu";

fn last_year() -> i32 {
    (chrono::Utc::now() + chrono::Duration::hours(7)).year() - 1
}

/// 1,200 synthetic responses in the first quarter of last year (about 43 per unit, unevenly), so that some
/// units have 30 forms or more and others fewer.
async fn generate(app: &TestApp) {
    let year = last_year();
    let mut conn = app.pool.get().await.unwrap();
    sipas::demo::generate_responses(
        &mut conn,
        &app.forms,
        &sipas::demo::ResponseSpec {
            seed: 11,
            count: 1200,
            first: 0,
            from: NaiveDate::from_ymd_opt(year, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(year, 3, 31).unwrap(),
        },
    )
    .await
    .unwrap();
    drop(conn);
    app.settle_rollups().await;
}

/// A district plan of last year by quarters; returns (plan, first quarter's period).
async fn plan(app: &TestApp, admin: &StaffClient) -> (i32, i32) {
    let year = last_year().to_string();
    let district = app.unit_id("xuan-loc").await.to_string();
    let created = admin
        .post(
            "/staff/plans",
            &[
                ("year", &year),
                ("title", &format!("Kế hoạch năm {year}")),
                ("unit_id", &district),
                ("form_id", FORM),
                ("margin", "0,05"),
                ("preset", "quarters"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let db = app.sql().await;
    let plan: i32 = db
        .query_one("SELECT max(id) FROM survey_plans", &[])
        .await
        .unwrap()
        .get(0);
    let period: i32 = db
        .query_one(
            "SELECT id FROM plan_periods WHERE plan_id = $1 ORDER BY starts_on LIMIT 1",
            &[&plan],
        )
        .await
        .unwrap()
        .get(0);
    (plan, period)
}

async fn body(client: &StaffClient, path: &str) -> String {
    let response = client.get(path).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    text
}

/// A unit of the API's rows: (name, forms, enough sample, index, rank).
type Row = (String, u64, bool, Option<f64>, Option<u64>);

fn rows(api: &Value) -> Vec<Row> {
    api["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["unit"]["name"].as_str().unwrap().to_string(),
                r["responses"].as_u64().unwrap(),
                r["enough_sample"].as_bool().unwrap(),
                r["index"].as_f64(),
                r["rank"].as_u64(),
            )
        })
        .collect()
}

fn published(index: f64) -> f64 {
    (index * 10_000.0).round() / 100.0
}

/// Checks that in `table` (an HTML fragment) every ranked unit comes before the heading of the
/// unranked ones and every unranked unit after it.
fn listed_beneath(table: &str, ranked: &[&Row], unranked: &[&Row], what: &str) {
    let heading = table
        .find("Chưa đủ mẫu – chưa xếp hạng")
        .unwrap_or_else(|| panic!("{what}: no heading of the unranked units"));
    for r in ranked {
        let at = table
            .find(&format!("{}<", r.0))
            .unwrap_or_else(|| panic!("{what}: {}", r.0));
        assert!(
            at < heading,
            "{what}: {} (ranked) is listed among the unranked",
            r.0
        );
    }
    for r in unranked {
        let at = table
            .find(&format!("{}<", r.0))
            .unwrap_or_else(|| panic!("{what}: {}", r.0));
        assert!(
            at > heading,
            "{what}: {} (short of sample) is listed among the ranked",
            r.0
        );
    }
}

fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let rest = &html[start..];
    &rest[..rest.find("</table>").unwrap()]
}

#[tokio::test]
async fn units_short_of_sample_are_listed_unranked_everywhere() {
    let app = TestApp::spawn().await;
    generate(&app).await;
    let admin = app.staff_with_role("qt.xep.hang", "admin", &[]).await;
    let (_, period) = plan(&app, &admin).await;

    // The API: a rank exactly for the units with enough sample and an index, and the ranks
    // are the competition ranks of their published indices (recomputed here).
    let api: Value =
        serde_json::from_str(&body(&admin, &format!("/api/v1/stats?period={period}")).await)
            .unwrap();
    let all = rows(&api);
    let (ranked, unranked): (Vec<&Row>, Vec<&Row>) = all.iter().partition(|r| r.2 && r.3.is_some());
    assert!(
        ranked.len() >= 3,
        "some units have 30 forms or more: {all:?}"
    );
    assert!(
        unranked.iter().filter(|r| r.1 > 0).count() >= 3,
        "some units have a few forms: {all:?}"
    );
    for r in &all {
        // Independent: the forms against the rule of 30 (the plan has no targets here).
        assert_eq!(r.2, r.1 >= 30, "{}: enough sample with {} forms", r.0, r.1);
        let expected = (r.2 && r.3.is_some()).then(|| {
            1 + ranked
                .iter()
                .filter(|o| published(o.3.unwrap()) > published(r.3.unwrap()))
                .count() as u64
        });
        assert_eq!(r.4, expected, "rank of {} ({} forms, {:?})", r.0, r.1, r.3);
    }
    // Ranked first (best first), then the unranked.
    let order: Vec<Option<u64>> = all.iter().map(|r| r.4).collect();
    let first_unranked = order.iter().position(Option::is_none).unwrap();
    assert!(
        order[first_unranked..].iter().all(Option::is_none),
        "{order:?}"
    );
    assert!(
        order[..first_unranked].windows(2).all(|w| w[0] <= w[1]),
        "{order:?}"
    );

    // The overview and the printable report.
    let query = format!("year={}&period=p{period}", last_year());
    let overview = body(&admin, &format!("/staff/stats?{query}")).await;
    listed_beneath(
        table(&overview, "bang-xep-hang"),
        &ranked,
        &unranked,
        "overview",
    );
    let report = body(&admin, &format!("/staff/report?{query}")).await;
    listed_beneath(
        table(&report, "bang-xep-hang"),
        &ranked,
        &unranked,
        "report",
    );

    // The workbook: rank column says why a unit has none.
    let spec = {
        let mut conn = app.pool.get().await.unwrap();
        ExportSpec::resolve(
            &mut conn,
            &app.forms,
            FORM,
            Scope::All,
            &SpecRequest {
                year: last_year(),
                period: Some(format!("{}-q1", last_year())),
                ..SpecRequest::default()
            },
        )
        .await
        .unwrap()
    };
    let dir = TempDir::new("ranking");
    let path = app.export(&spec, ExportFormat::Xlsx, &dir).await;
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let sheet = book.worksheet_range("Tổng hợp").unwrap();
    let header_row = export::xlsx::HEADER_ROW as usize;
    let cell = |row: usize, col: usize| match sheet.get((row, col)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Int(i)) => i.to_string(),
        _ => String::new(),
    };
    let rank_col = (0..sheet.width())
        .find(|c| cell(header_row, *c) == "Xếp hạng")
        .expect("a rank column");
    let mut checked = 0;
    for row in header_row + 1..sheet.height() {
        let name = cell(row, 1);
        let Some(r) = all.iter().find(|r| r.0 == name) else {
            continue;
        };
        let shown = cell(row, rank_col);
        match r.4 {
            Some(rank) => assert_eq!(shown, rank.to_string(), "workbook rank of {name}"),
            None if r.1 == 0 => assert_eq!(shown, "Chưa có phiếu – chưa xếp hạng", "{name}"),
            None => assert_eq!(shown, "Chưa đủ mẫu – chưa xếp hạng", "{name}"),
        }
        checked += 1;
    }
    assert_eq!(checked, all.len(), "every unit in the workbook");

    // The public page of the published period.
    assert_eq!(
        admin
            .post(&format!("/staff/publish/{period}"), &[])
            .await
            .status(),
        303
    );
    let public = app
        .get(&format!("/cong-khai/{period}"))
        .await
        .text()
        .await
        .unwrap();
    listed_beneath(&public, &ranked, &unranked, "public page");
    for r in &unranked {
        assert!(
            !public.contains(&format!(". {}</h3>", r.0)),
            "{} has no rank",
            r.0
        );
    }
    for r in &ranked {
        assert!(
            public.contains(&format!("Hạng {}. {}</h3>", r.4.unwrap(), r.0)),
            "{} ranked {}",
            r.0,
            r.4.unwrap()
        );
    }
}

#[tokio::test]
async fn plan_goals_start_national_and_admins_change_them() {
    let app = TestApp::spawn().await;
    generate(&app).await;
    let admin = app.staff_with_role("qt.muc.tieu", "admin", &[]).await;
    let (plan, period) = plan(&app, &admin).await;
    let db = app.sql().await;
    let stored = |db: tokio_postgres::Client| async move {
        db.query(
            "SELECT label, points, basis FROM plan_goals WHERE plan_id = $1 ORDER BY position",
            &[&plan],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                r.get::<_, i32>(1),
                r.get::<_, String>(2),
            )
        })
        .collect::<Vec<_>>()
    };
    let goals = stored(app.sql().await).await;
    assert_eq!(
        goals
            .iter()
            .map(|g| (g.0.as_str(), g.1))
            .collect::<Vec<_>>(),
        [("Mục tiêu 2025: 80%", 8000), ("Mục tiêu 2030: 90%", 9000)]
    );
    assert!(goals.iter().all(|g| g.2.contains("76/NQ-CP")));
    let query = format!("year={}&period=p{period}", last_year());
    let overview = body(&admin, &format!("/staff/stats?{query}")).await;
    assert!(overview.contains(">Mục tiêu 2025: 80%</text>"));
    assert!(!overview.contains("2020"), "no outdated goal");

    // The admin sets the province's own goals.
    let path = format!("/staff/plans/{plan}/goals");
    let saved = admin
        .post(
            &path,
            &[
                ("goal_label_1", "Mục tiêu của tỉnh: 85%"),
                ("goal_percent_1", "85"),
                ("goal_basis_1", "Kế hoạch CCHC của tỉnh năm 2025"),
                ("goal_label_2", "Mục tiêu 2030: 95%"),
                ("goal_percent_2", "95"),
                ("goal_basis_2", ""),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(
        stored(app.sql().await).await,
        [
            (
                "Mục tiêu của tỉnh: 85%".to_string(),
                8500,
                "Kế hoạch CCHC của tỉnh năm 2025".to_string()
            ),
            ("Mục tiêu 2030: 95%".to_string(), 9500, String::new()),
        ]
    );
    let audit: i64 = db
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'plan.update_goals' AND entity_id = $1",
            &[&plan.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit, 1);
    let overview = body(&admin, &format!("/staff/stats?{query}")).await;
    assert!(overview.contains(">Mục tiêu của tỉnh: 85%</text>"));
    assert!(overview.contains(">Mục tiêu 2030: 95%</text>"));
    assert!(!overview.contains(">Mục tiêu 2025: 80%</text>"));
    let report = body(&admin, &format!("/staff/report?{query}")).await;
    assert!(
        report.contains("dưới mục tiêu 85%"),
        "part IV holds units to the first goal"
    );
    assert!(report.contains("Mục tiêu của tỉnh 85%"));

    // Refused: a level above 100%, a goal without a name; the page says why, nothing changes.
    let before = stored(app.sql().await).await;
    for fields in [
        vec![("goal_label_1", "Mục tiêu"), ("goal_percent_1", "120")],
        vec![("goal_label_1", ""), ("goal_percent_1", "80")],
        vec![("goal_label_1", "Mục tiêu"), ("goal_percent_1", "tám mươi")],
    ] {
        let refused = admin.post(&path, &fields).await;
        assert_eq!(refused.status(), 422);
        let html = refused.text().await.unwrap();
        assert!(html.contains("Chưa lưu được"), "{html}");
        assert_eq!(stored(app.sql().await).await, before);
    }
    let long = "x".repeat(100_000);
    let refused = admin
        .post(&path, &[("goal_label_1", &long), ("goal_percent_1", "80")])
        .await;
    assert!(
        matches!(refused.status().as_u16(), 413 | 422),
        "{}",
        refused.status()
    );
    assert_eq!(stored(app.sql().await).await, before);

    // Other roles cannot change them.
    let district = "xuan-loc";
    let unit = app
        .staff_with_role("cb.muc.tieu", "unit", &[district])
        .await;
    let viewer = app.staff_with_role("xem.muc.tieu", "viewer", &[]).await;
    for (client, status) in [(&unit, 404), (&viewer, 403)] {
        let response = client
            .post(&path, &[("goal_label_1", "X"), ("goal_percent_1", "50")])
            .await;
        assert_eq!(response.status().as_u16(), status);
    }
    assert_eq!(stored(app.sql().await).await, before);

    // Every goal removed: no line drawn, the report says the plan has none.
    let cleared = admin.post(&path, &[]).await;
    assert_eq!(cleared.status(), 303);
    assert!(stored(app.sql().await).await.is_empty());
    let overview = body(&admin, &format!("/staff/stats?{query}")).await;
    assert!(!overview.contains("class=\"target-label\""));
    let report = body(&admin, &format!("/staff/report?{query}")).await;
    assert!(report.contains("chưa đặt mục tiêu"));
}
