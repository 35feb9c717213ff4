//! Public results ("công khai kết quả"), through HTTP against the real server and PostgreSQL:
//! an admin publishes a plan period (audited), the public page shows the figures of the stored
//! snapshot (the same as the API's for that period), later responses do not change it,
//! publishing again refreshes it, unpublishing withdraws it (404). Other roles cannot publish.
//! The page has no comment, no desk code, nothing about staff, and only the citizens'
//! stylesheet.

use crate::common;

use chrono::{Datelike, NaiveDate};
use common::{StaffClient, TestApp, full_answers, with_hidden};
use serde_json::Value;
use sipas::stats::format_percent;
use sipas::views::public::format_count;

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const FORM: &str = "sipas-1001-dich-vu";

fn last_year() -> i32 {
    (chrono::Utc::now() + chrono::Duration::hours(7)).year() - 1
}

/// Synthetic responses in the first quarter of last year (seed 5, from index `first`).
async fn generate(app: &TestApp, first: u64, count: u64) {
    let year = last_year();
    let mut conn = app.pool.get().await.unwrap();
    let generated = sipas::demo::generate_responses(
        &mut conn,
        &app.forms,
        &sipas::demo::ResponseSpec {
            seed: 5,
            count,
            first,
            from: NaiveDate::from_ymd_opt(year, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(year, 3, 31).unwrap(),
        },
    )
    .await
    .unwrap();
    assert_eq!(generated.inserted, count);
    drop(conn);
    app.settle_rollups().await;
}

/// A district plan of last year by quarters, through the admin's pages; returns (plan, the
/// first quarter's period).
async fn plan_with_quarters(app: &TestApp, admin: &StaffClient) -> (i32, i32) {
    let district = app.unit_id("xuan-loc").await.to_string();
    let year = last_year().to_string();
    let created = admin
        .post(
            "/staff/plans",
            &[
                ("year", &year),
                (
                    "title",
                    &format!("Kế hoạch khảo sát sự hài lòng năm {year}"),
                ),
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

async fn text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The stored snapshot of the period.
async fn snapshot(app: &TestApp, period: i32) -> Value {
    let figures: String = app
        .sql()
        .await
        .query_one(
            "SELECT figures::text FROM published_results WHERE period_id = $1",
            &[&period],
        )
        .await
        .unwrap()
        .get(0);
    serde_json::from_str(&figures).unwrap()
}

/// The part of the page about one unit (its `<section>`).
fn section<'a>(page: &'a str, name: &str) -> &'a str {
    page.split("<section")
        .find(|s| {
            s.contains(&format!(">{name}</h3>"))
                || s.contains(&format!(". {name}</h3>"))
                || s.contains(&format!("{name}</h2>"))
        })
        .map(|s| s.split("</section>").next().unwrap())
        .unwrap_or_else(|| panic!("no section for {name}"))
}

fn percent(value: &Value) -> String {
    value.as_f64().map_or("—".to_string(), format_percent)
}

/// Checks that the public page shows the snapshot's figures, each in its unit's section.
fn shows(page: &str, snapshot: &Value) {
    let total = &snapshot["total"];
    let mut units: Vec<&Value> = snapshot["rows"].as_array().unwrap().iter().collect();
    units.push(total);
    for unit in units {
        let name = unit["name"].as_str().unwrap();
        let part = section(page, name);
        let index = format!(
            "Chỉ số hài lòng: <strong>{}</strong>",
            percent(&unit["index"])
        );
        assert!(part.contains(&index), "{name}: {index} in {part}");
        if unit["index_ci"].is_object() {
            let ci = format!(
                "Khoảng tin cậy 95%: {} – {}",
                percent(&unit["index_ci"]["low"]),
                percent(&unit["index_ci"]["high"])
            );
            assert!(part.contains(&ci), "{name}: {ci}");
        }
        let forms = format!(
            "Số phiếu: {}",
            format_count(unit["responses"].as_u64().unwrap())
        );
        assert!(part.contains(&forms), "{name}: {forms}");
        if let Some(rank) = unit["rank"].as_u64() {
            assert!(
                part.contains(&format!("Hạng {rank}. {name}")),
                "{name}: rank"
            );
        }
        assert_eq!(
            part.contains("Chưa đủ mẫu"),
            unit["enough_sample"] == false,
            "{name}: the flag"
        );
    }
    for factor in total["factors"].as_array().unwrap() {
        let line = format!(
            "{}: <strong>{}</strong>",
            factor["title"].as_str().unwrap(),
            percent(&factor["index"])
        );
        assert!(page.contains(&line), "{line}");
    }
}

#[tokio::test]
async fn an_admin_publishes_a_period_and_citizens_read_the_snapshot() {
    let app = TestApp::spawn().await;
    let db = app.sql().await;
    generate(&app, 0, 1500).await;
    let admin = app.staff_with_role("qt.cong.khai", "admin", &[]).await;
    let viewer = app.staff_with_role("ld.cong.khai", "viewer", &[]).await;
    let unit = app
        .staff_with_role("cb.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let (plan, period) = plan_with_quarters(&app, &admin).await;
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    let saved = admin
        .post(
            &format!("/staff/plans/{plan}/periods/{period}/targets"),
            &[(&format!("target_{xuan_bac}"), "5000")],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let public = format!("/cong-khai/{period}");

    // Nothing published yet.
    let (status, list) = text(app.get("/cong-khai").await).await;
    assert_eq!(status, 200);
    assert!(list.contains("Chưa có kết quả nào được công khai."));
    let (status, page) = text(app.get(&public).await).await;
    assert_eq!(status, 404);
    assert!(page.contains("Không tìm thấy trang"));

    // Other roles cannot publish, nor see the publishing pages.
    for client in [&viewer, &unit] {
        assert_eq!(client.get("/staff/publish").await.status(), 404);
        assert_eq!(
            client
                .get(&format!("/staff/publish/{period}"))
                .await
                .status(),
            404
        );
        assert_eq!(
            client
                .post(&format!("/staff/publish/{period}"), &[])
                .await
                .status(),
            404
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM published_results").await, 0);

    // The admin's list and preview.
    let (status, list) = text(admin.get("/staff/publish").await).await;
    assert_eq!(status, 200);
    assert!(list.contains("Quý I") && list.contains("Chưa công khai"));
    let (status, preview) = text(admin.get(&format!("/staff/publish/{period}")).await).await;
    assert_eq!(status, 200);
    assert!(preview.contains("Công khai kết quả") && preview.contains("Xuân Bắc"));

    // Publishing.
    let published = admin.post(&format!("/staff/publish/{period}"), &[]).await;
    assert_eq!(published.status(), 303);
    assert_eq!(
        published.headers()["location"],
        format!("/staff/publish/{period}?ok=published").as_str()
    );
    let row = db
        .query_one(
            "SELECT p.plan_id, a.username FROM published_results p \
             JOIN accounts a ON a.id = p.published_by WHERE p.period_id = $1",
            &[&period],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), plan);
    assert_eq!(row.get::<_, String>(1), "qt.cong.khai");
    let audit = db
        .query_one(
            "SELECT a.username, l.entity, l.entity_id, l.before IS NULL, \
                    (l.after->>'period_id')::int, (l.after->>'responses')::int8 \
             FROM audit_log l JOIN accounts a ON a.id = l.account_id \
             WHERE l.action = 'results.publish'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, String>(0), "qt.cong.khai");
    assert_eq!(audit.get::<_, String>(1), "period");
    assert_eq!(audit.get::<_, Option<String>>(2), Some(period.to_string()));
    assert!(audit.get::<_, bool>(3), "nothing before");
    assert_eq!(audit.get::<_, i32>(4), period);
    let stored = snapshot(&app, period).await;
    assert_eq!(
        audit.get::<_, i64>(5),
        stored["total"]["responses"].as_i64().unwrap()
    );

    // The snapshot holds the API's figures for the period (the same computation).
    let response = admin
        .get(&format!(
            "/api/v1/stats?period={period}&unit={}",
            app.unit_id("xuan-loc").await
        ))
        .await;
    assert_eq!(response.status(), 200);
    let api: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let rows = stored["rows"].as_array().unwrap();
    assert_eq!(rows.len(), api["rows"].as_array().unwrap().len());
    for (s, a) in rows.iter().zip(api["rows"].as_array().unwrap()) {
        assert_eq!(s["unit_id"], a["unit"]["id"]);
        for field in [
            "responses",
            "index",
            "index_ci",
            "rank",
            "enough_sample",
            "target",
        ] {
            assert_eq!(s[field], a[field], "{field} of {}", s["name"]);
        }
    }
    assert_eq!(stored["total"]["index"], api["total"]["index"]);
    assert_eq!(stored["total"]["responses"], api["total"]["responses"]);
    let forms: i64 = db
        .query_one(
            "SELECT count(*) FROM responses r JOIN form_versions v ON v.id = r.form_version_id \
             WHERE v.form_id = $1",
            &[&FORM],
        )
        .await
        .unwrap()
        .get(0);
    assert!(forms > 1000);
    assert_eq!(
        stored["total"]["responses"], forms,
        "every form of the period"
    );
    let flagged = rows.iter().find(|r| r["unit_id"] == xuan_bac).unwrap();
    assert_eq!(flagged["target"], 5000);
    assert_eq!(flagged["enough_sample"], false);
    // Only the published figures are stored: nothing about respondents, desks or comments.
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        [
            "unit_id",
            "name",
            "kind",
            "responses",
            "target",
            "enough_sample",
            "index",
            "index_ci",
            "rank"
        ]
        .into_iter()
        .collect()
    );

    // The public page: the snapshot's figures, per unit.
    let response = app.get(&public).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    shows(&page, &stored);
    assert!(page.contains("Quý I"));
    assert!(page.contains("name=\"viewport\""));
    assert!(page.contains("/static/sipas.css") && !page.contains("/static/staff.css"));
    assert!(!page.contains("<script") && !page.contains("<form"));
    // No comment, no desk code, no staff member.
    let comments: Vec<String> = db
        .query("SELECT DISTINCT body FROM response_texts", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(comments.len() > 5, "the demo leaves comments");
    for comment in &comments {
        assert!(!page.contains(comment.as_str()), "a comment: {comment}");
    }
    for row in db.query("SELECT code FROM desk_codes", &[]).await.unwrap() {
        let code: String = row.get(0);
        assert!(!page.contains(&code), "a desk code: {code}");
    }
    for name in ["qt.cong.khai", "ld.cong.khai", "Bộ phận tiếp nhận hồ sơ"] {
        assert!(!page.contains(name), "{name}");
    }
    let (_, list) = text(app.get("/cong-khai").await).await;
    assert!(list.contains(&format!("href=\"{public}\"")));

    // Later responses in the period change the live figures, not the published ones.
    generate(&app, 1500, 300).await;
    let code = app.desk_code(XUAN_BAC).await;
    let (_, token, version) = app.open_survey(&code).await;
    let fields = full_answers("1");
    let sent = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(sent.status(), 200);
    app.settle_rollups().await;
    let live: Value = serde_json::from_str(
        &admin
            .get(&format!("/api/v1/stats?period={period}"))
            .await
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let forms_now: i64 = db
        .query_one(
            "SELECT count(*) FROM responses r JOIN form_versions v ON v.id = r.form_version_id \
             WHERE v.form_id = $1 AND r.submitted_at < now() - interval '1 day'",
            &[&FORM],
        )
        .await
        .unwrap()
        .get(0);
    assert!(forms_now > forms, "new forms in the period");
    assert_eq!(live["total"]["responses"], forms_now);
    let (status, again) = text(app.get(&public).await).await;
    assert_eq!(status, 200);
    assert_eq!(again, page, "the published page did not change");
    assert_eq!(snapshot(&app, period).await, stored);

    // Publishing again takes the new figures (audited with the earlier publication).
    let republished = admin.post(&format!("/staff/publish/{period}"), &[]).await;
    assert_eq!(republished.status(), 303);
    let refreshed = snapshot(&app, period).await;
    assert_eq!(refreshed["total"]["responses"], live["total"]["responses"]);
    let (_, page) = text(app.get(&public).await).await;
    shows(&page, &refreshed);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action = 'results.publish' AND before IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM published_results").await, 1);

    // Only admins withdraw; then the page is gone.
    for client in [&viewer, &unit] {
        let refused = client
            .post(&format!("/staff/publish/{period}/unpublish"), &[])
            .await;
        assert_eq!(refused.status(), 404);
    }
    assert_eq!(app.get(&public).await.status(), 200);
    let withdrawn = admin
        .post(&format!("/staff/publish/{period}/unpublish"), &[])
        .await;
    assert_eq!(withdrawn.status(), 303);
    assert_eq!(app.get(&public).await.status(), 404);
    let (_, list) = text(app.get("/cong-khai").await).await;
    assert!(!list.contains(&public));
    let audit = db
        .query_one(
            "SELECT a.username, l.entity_id, (l.before->>'period_id')::int, l.after IS NULL \
             FROM audit_log l JOIN accounts a ON a.id = l.account_id \
             WHERE l.action = 'results.unpublish'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, String>(0), "qt.cong.khai");
    assert_eq!(audit.get::<_, Option<String>>(1), Some(period.to_string()));
    assert_eq!(audit.get::<_, i32>(2), period);
    assert!(audit.get::<_, bool>(3));
    // Withdrawing what is not published changes nothing.
    let before = app.count("SELECT count(*) FROM audit_log").await;
    let again = admin
        .post(&format!("/staff/publish/{period}/unpublish"), &[])
        .await;
    assert_eq!(again.status(), 303);
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, before);
}

#[tokio::test]
async fn public_and_publishing_urls_refuse_bad_input_without_a_500() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("qt.cong.khai", "admin", &[]).await;
    for path in [
        "/cong-khai/abc",
        "/cong-khai/0",
        "/cong-khai/-1",
        "/cong-khai/999999",
        "/cong-khai/99999999999",
        "/cong-khai/1/x",
    ] {
        let (status, page) = text(app.get(path).await).await;
        assert_eq!(status, 404, "{path}");
        assert!(page.contains("Không tìm thấy trang"), "{path}");
    }
    let post = app.post_form("/cong-khai", &[]).await;
    assert_eq!(post.status(), 404);
    for path in ["/staff/publish/abc", "/staff/publish/999999"] {
        assert_eq!(admin.get(path).await.status(), 404, "{path}");
        assert_eq!(admin.post(path, &[]).await.status(), 404, "{path}");
    }
    // A publication without the form's token is refused.
    let (_, period) = plan_with_quarters(&app, &admin).await;
    let forged = admin
        .post_raw(&format!("/staff/publish/{period}"), &[])
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(app.count("SELECT count(*) FROM published_results").await, 0);
    // Anonymous: sent to sign in.
    let anonymous = StaffClient::new(&app.address);
    let response = anonymous
        .post(&format!("/staff/publish/{period}"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/sign-in");
    // A period without responses publishes with empty figures, all "chưa đủ mẫu".
    assert_eq!(
        admin
            .post(&format!("/staff/publish/{period}"), &[])
            .await
            .status(),
        303
    );
    let (status, page) = text(app.get(&format!("/cong-khai/{period}")).await).await;
    assert_eq!(status, 200);
    assert!(page.contains("chưa xếp hạng") && page.contains("Chưa đủ mẫu"));
}
