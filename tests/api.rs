//! The JSON API (`GET /api/v1/stats`) and its API tokens, through HTTP against the real server
//! and PostgreSQL:
//! - its figures are those of `reports::build` (what the dashboard shows), and they equal an
//!   independent computation in SQL straight from `responses` (criterion index = share of 4/5
//!   among valid answers; factor = mean of criteria; index = mean of factors; forms per unit);
//! - each role sees what it may: admins and viewers every unit, a unit account only its units
//!   (404 outside, nothing of other units in the answer);
//! - session cookie, bearer token, no credentials, revoked / unknown / malformed tokens, the
//!   token of a disabled account; `last_used_at` written at most once a minute;
//! - bad parameters are 400 JSON naming the parameter; every error under /api is JSON;
//! - the OpenAPI document parses, is served, lists every parameter the handler accepts, and
//!   its schemas name every field of a real answer.
//!
//! Responses come from the demo generator (`sipas::demo::generate_responses`, the same as
//! `sipas demo --responses N`) in the first quarter of last year, plus answers sent through
//! the citizen's path today.

use crate::common;

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use common::{StaffClient, TestApp, full_answers, with_hidden};
use serde_json::Value;
use sipas::auth::Scope;
use sipas::reports::{self, ReportQuery};
use sipas::stats::format_percent;
use sipas::views::public::format_count;

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const FORM: &str = "sipas-1001-dich-vu";
const DEMO_RESPONSES: u64 = 1200;

fn this_year() -> i32 {
    (chrono::Utc::now() + chrono::Duration::hours(7)).year()
}

/// The demo range: the first quarter of last year (whole, in the past).
fn demo_range() -> (NaiveDate, NaiveDate) {
    let year = this_year() - 1;
    (
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(year, 3, 31).unwrap(),
    )
}

/// Synthetic responses at every desk over the demo range (seed 11, from index `first`).
async fn generate(app: &TestApp, first: u64, count: u64) {
    let (from, to) = demo_range();
    let mut conn = app.pool.get().await.unwrap();
    let generated = sipas::demo::generate_responses(
        &mut conn,
        &app.forms,
        &sipas::demo::ResponseSpec {
            seed: 11,
            count,
            first,
            from,
            to,
        },
    )
    .await
    .unwrap();
    assert_eq!(generated.inserted, count);
    drop(conn);
    app.settle_rollups().await;
}

/// A complete answer sent through a desk's QR code, today.
async fn answer_through_qr(app: &TestApp, unit_code: &str, score: &str) {
    let code = app.desk_code(unit_code).await;
    let (_, token, version) = app.open_survey(&code).await;
    let fields = full_answers(score);
    let sent = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(sent.status(), 200);
    app.settle_rollups().await;
}

/// Creates an API token through the tokens page and returns its text (shown once).
async fn create_token(client: &StaffClient, name: &str) -> String {
    let response = client.post("/staff/tokens", &[("name", name)]).await;
    assert_eq!(response.status(), 201);
    let page = response.text().await.unwrap();
    let start = page.find("value=\"sipas_").expect("the token is shown") + "value=\"".len();
    let token: String = page[start..].chars().take(6 + 64).collect();
    assert!(sipas::auth::token::well_formed(&token), "{token}");
    token
}

/// GET with a bearer token (or none).
async fn api(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.send().await.unwrap()
}

/// The status and JSON body of an answer, checking it is JSON.
async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{status} {content_type}: {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, body)
}

/// Index and number of forms computed in SQL straight from `responses`, for the responses of
/// `units` with `FORM` between `from` and `to` (days in Vietnam's time). Criterion index =
/// share of 4 and 5 among the answers 1..5; factor index = mean of its criterion indices
/// (criteria without a valid answer left out); index = mean of the factor indices.
async fn sql_figures(
    db: &tokio_postgres::Client,
    units: &[i32],
    from: NaiveDate,
    to: NaiveDate,
) -> (i64, Option<f64>) {
    let row = db
        .query_one(
            "WITH picked AS ( \
                 SELECT r.form_version_id, r.answers FROM responses r \
                 JOIN form_versions fv ON fv.id = r.form_version_id \
                 WHERE fv.form_id = $1 AND r.unit_id = ANY($2) \
                   AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $3::text::date AND $4::text::date \
                   AND NOT coalesce( \
                       (SELECT v.decision = 'exclude' FROM response_reviews v \
                        WHERE v.response_id = r.id AND v.decision IS NOT NULL), \
                       EXISTS (SELECT 1 FROM response_flags f \
                               WHERE f.response_id = r.id AND f.severity = 'strong') \
                       OR (SELECT count(DISTINCT f.reason) FROM response_flags f \
                           WHERE f.response_id = r.id AND f.severity = 'weak' \
                             AND f.reason <> 'straight_line') >= 2)), \
             answers AS ( \
                 SELECT fi.section_code, fi.code, p.answers[fi.answer_index] AS v \
                 FROM picked p JOIN form_items fi ON fi.form_version_id = p.form_version_id \
                 WHERE fi.section_role = 'factor' AND fi.kind = 'choice'), \
             criteria AS ( \
                 SELECT section_code, code, \
                        count(*) FILTER (WHERE v IN (4, 5))::float8 \
                        / nullif(count(*) FILTER (WHERE v BETWEEN 1 AND 5), 0) AS idx \
                 FROM answers GROUP BY section_code, code), \
             factors AS ( \
                 SELECT section_code, avg(idx) AS idx FROM criteria WHERE idx IS NOT NULL \
                 GROUP BY section_code) \
             SELECT (SELECT count(*) FROM picked), (SELECT avg(idx) FROM factors)",
            &[&FORM, &units, &from.to_string(), &to.to_string()],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// The unit and every unit below it.
async fn subtree(db: &tokio_postgres::Client, unit: i32) -> Vec<i32> {
    db.query(
        "WITH RECURSIVE s AS (SELECT id FROM units WHERE id = $1 \
         UNION SELECT u.id FROM units u JOIN s ON u.parent_id = s.id) SELECT id FROM s",
        &[&unit],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn date(value: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(value.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-12,
        (None, None) => true,
        _ => false,
    }
}

/// The first place where two JSON values differ, if any.
fn difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let here = format!("{at}.{key}");
                match (x.get(key), y.get(key)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = difference(p, q, &here) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{here}: {p:?} against {q:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| difference(p, q, &format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} against {b}")),
    }
}

/// Asserts two JSON answers are equal, naming the first difference.
fn assert_same(a: &Value, b: &Value) {
    if let Some(d) = difference(a, b, "") {
        panic!("the answers differ at {d}");
    }
}

/// The report the dashboard would show for the API's resolved query (the same code path,
/// called directly), as JSON.
async fn direct_report(app: &TestApp, scope: &Scope, query: &Value) -> Value {
    let query = ReportQuery {
        form_id: query["form_id"].as_str().unwrap().to_string(),
        from: date(&query["from"]),
        to: date(&query["to"]),
        root: query["root"].as_i64().map(|r| r as i32),
        kind: query["kind"].as_str().map(str::to_string),
        channel: query["channel"].as_str().map(str::to_string),
        period_id: query["period_id"].as_i64().map(|p| p as i32),
        respondents: Default::default(),
    };
    let mut conn = app.pool.get().await.unwrap();
    let report = reports::build(&mut conn, &app.forms, scope, &query)
        .await
        .unwrap();
    // Through the text, as the API's answer is read (serde_json parses floats to within an
    // ulp: the same text gives the same values).
    serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap()
}

#[tokio::test]
async fn the_api_gives_the_dashboard_figures_which_match_an_independent_sql_computation() {
    let app = TestApp::spawn().await;
    let db = app.sql().await;
    generate(&app, 0, DEMO_RESPONSES).await;
    let admin = app.staff_with_role("qt.api", "admin", &[]).await;
    let token = create_token(&admin, "Báo cáo tháng").await;
    let (from, to) = demo_range();

    let path = format!("/api/v1/stats?from={from}&to={to}");
    let (status, body) = json(api(&app, &path, Some(&token)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["form_id"], FORM);
    assert_eq!(body["query"]["from"], from.to_string());
    assert_eq!(body["query"]["to"], to.to_string());
    let district = app.unit_id("xuan-loc").await;
    assert_eq!(
        body["root"]["id"], district,
        "the default root: the district"
    );
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 28, "13 departments, 14 communes and the town");

    // The same as the dashboard's code path, field for field.
    assert_same(
        &body,
        &direct_report(&app, &Scope::All, &body["query"]).await,
    );
    // Through the session cookie: the same answer.
    let (status, by_cookie) = json(admin.get(&path).await).await;
    assert_eq!(status, 200);
    assert_same(&by_cookie, &body);

    // And the same as SQL straight from the responses.
    let all: Vec<i32> = subtree(&db, district).await;
    let (n, index) = sql_figures(&db, &all, from, to).await;
    assert!(
        n > 1000,
        "{n} forms of the demo (some at the quick-rating desk)"
    );
    assert_eq!(body["total"]["responses"], n);
    assert!(
        close(body["total"]["index"].as_f64(), index),
        "total index {} against SQL {index:?}",
        body["total"]["index"]
    );
    let mut checked = 0;
    for row in rows {
        let id = row["unit"]["id"].as_i64().unwrap() as i32;
        let (n, index) = sql_figures(&db, &subtree(&db, id).await, from, to).await;
        assert_eq!(row["responses"], n, "forms of {}", row["unit"]["name"]);
        assert!(
            close(row["index"].as_f64(), index),
            "{}: {} against {index:?}",
            row["unit"]["name"],
            row["index"]
        );
        if n > 0 {
            checked += 1;
        }
        assert_eq!(row["enough_sample"], n >= 30, "{}", row["unit"]["name"]);
    }
    assert!(checked >= 25, "most units have forms ({checked})");
    // Ranked: best first, ranks never decreasing.
    let ranks: Vec<i64> = rows.iter().filter_map(|r| r["rank"].as_i64()).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    assert_eq!(ranks.first(), Some(&1));

    // The dashboard's table shows the same figures, unit by unit.
    let response = admin
        .get(&format!("/staff/stats?year={}&period=q1", from.year()))
        .await;
    assert_eq!(response.status(), 200);
    let dashboard = response.text().await.unwrap();
    for row in rows {
        let id = row["unit"]["id"].as_i64().unwrap();
        let marker = format!("data-unit=\"{id}\"");
        let tr = dashboard
            .split("<tr ")
            .find(|tr| tr.starts_with(&marker))
            .unwrap_or_else(|| panic!("no dashboard row for unit {id}"));
        let tr = tr.split("</tr>").next().unwrap();
        let percent = |v: &Value| v.as_f64().map_or("—".to_string(), format_percent);
        let index = format!("<td class=\"num index\">{}</td>", percent(&row["index"]));
        assert!(
            tr.contains(&index),
            "{}: {index} in {tr}",
            row["unit"]["name"]
        );
        let forms = format!(
            "<td class=\"num forms\">{}</td>",
            format_count(row["responses"].as_u64().unwrap())
        );
        assert!(
            tr.contains(&forms),
            "{}: {forms} in {tr}",
            row["unit"]["name"]
        );
        if row["index_ci"].is_object() {
            let ci = format!(
                "{} – {}",
                percent(&row["index_ci"]["low"]),
                percent(&row["index_ci"]["high"])
            );
            assert!(tr.contains(&ci), "{}: {ci} in {tr}", row["unit"]["name"]);
        }
    }

    // Filters go through: one kind, one channel, one unit.
    let (status, communes) = json(
        api(
            &app,
            &format!("{path}&kind=commune&channel=paper"),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(communes["rows"].as_array().unwrap().len(), 14);
    assert_eq!(communes["query"]["channel"], "paper");
    assert_same(
        &communes,
        &direct_report(&app, &Scope::All, &communes["query"]).await,
    );
    let paper: i64 = db
        .query_one(
            "SELECT count(*) FROM responses r JOIN units u ON u.id = r.unit_id \
             WHERE u.kind = 'commune' AND r.channel = 'paper' \
             AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $1::text::date AND $2::text::date",
            &[&from.to_string(), &to.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(paper > 0);
    assert_eq!(communes["total"]["responses"], paper);

    // `year` alone: the whole year (the demo is in its first quarter).
    let (status, year) = json(
        api(
            &app,
            &format!("/api/v1/stats?year={}", from.year()),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(year["query"]["from"], format!("{}-01-01", from.year()));
    assert_eq!(year["query"]["to"], format!("{}-12-31", from.year()));
    assert_eq!(year["total"]["responses"], body["total"]["responses"]);
    // No dates at all: this year (with today's answer through the QR code).
    answer_through_qr(&app, XUAN_BAC, "5").await;
    let (status, now) = json(api(&app, "/api/v1/stats", Some(&token)).await).await;
    assert_eq!(status, 200);
    assert_eq!(now["query"]["from"], format!("{}-01-01", this_year()));
    assert_eq!(now["total"]["responses"], 1);
    assert_eq!(now["total"]["index"], 1.0);
}

/// A district plan of last year with quarters; returns (plan, first quarter's period).
async fn plan_with_quarters(app: &TestApp, admin: &StaffClient) -> (i32, i32) {
    let district = app.unit_id("xuan-loc").await.to_string();
    let year = (this_year() - 1).to_string();
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
    let plan: i32 = app
        .sql()
        .await
        .query_one("SELECT max(id) FROM survey_plans", &[])
        .await
        .unwrap()
        .get(0);
    let period: i32 = app
        .sql()
        .await
        .query_one(
            "SELECT id FROM plan_periods WHERE plan_id = $1 ORDER BY starts_on LIMIT 1",
            &[&plan],
        )
        .await
        .unwrap()
        .get(0);
    (plan, period)
}

#[tokio::test]
async fn a_period_gives_its_dates_form_and_targets() {
    let app = TestApp::spawn().await;
    generate(&app, 0, 400).await;
    let admin = app.staff_with_role("qt.api", "admin", &[]).await;
    let (plan, period) = plan_with_quarters(&app, &admin).await;
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    let saved = admin
        .post(
            &format!("/staff/plans/{plan}/periods/{period}/targets"),
            &[(&format!("target_{xuan_bac}"), "5000")],
        )
        .await;
    assert_eq!(saved.status(), 303);

    let (status, body) = json(admin.get(&format!("/api/v1/stats?period={period}")).await).await;
    assert_eq!(status, 200, "{body}");
    let (from, to) = demo_range();
    assert_eq!(body["query"]["period_id"], period);
    assert_eq!(body["query"]["from"], from.to_string());
    assert_eq!(body["query"]["to"], to.to_string());
    let row = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"]["id"] == xuan_bac)
        .unwrap();
    assert_eq!(row["target"], 5000);
    assert_eq!(row["enough_sample"], false, "below its target");
    assert_same(
        &body,
        &direct_report(&app, &Scope::All, &body["query"]).await,
    );

    // `from` overrides the period's first day; the plan's year agrees; another year does not.
    let (status, body) = json(
        admin
            .get(&format!(
                "/api/v1/stats?period={period}&year={}&from={}-02-01",
                from.year(),
                from.year()
            ))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["query"]["from"], format!("{}-02-01", from.year()));
    assert_eq!(body["query"]["to"], to.to_string());
    let (status, body) = json(
        admin
            .get(&format!(
                "/api/v1/stats?period={period}&year={}",
                this_year()
            ))
            .await,
    )
    .await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("year")));

    // The district's plan is above Xuân Bắc: its account sees it, with only its own rows.
    let unit = app
        .staff_with_role("cb.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let (status, body) = json(unit.get(&format!("/api/v1/stats?period={period}")).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["root"]["id"], xuan_bac);
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);
    // A period of a plan it cannot see (one of Xuân Định's): not found, as an unknown one.
    let xuan_dinh = app.unit_id(XUAN_DINH).await;
    let other: i32 = app
        .sql()
        .await
        .query_one(
            "WITH p AS (INSERT INTO survey_plans (unit_id, year, title, form_id, margin_of_error) \
                        VALUES ($1, 2020, 'Kế hoạch riêng của xã', $2, 0.05) RETURNING id) \
             INSERT INTO plan_periods (plan_id, name, starts_on, ends_on) \
             SELECT id, 'Cả năm', '2020-01-01', '2020-12-31' FROM p RETURNING id",
            &[&xuan_dinh, &FORM],
        )
        .await
        .unwrap()
        .get(0);
    let (status, _) = json(admin.get(&format!("/api/v1/stats?period={other}")).await).await;
    assert_eq!(status, 200, "admins see every plan");
    let (status, body) = json(unit.get(&format!("/api/v1/stats?period={other}")).await).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    assert!(!body.to_string().contains("Xuân Định"));
    let (status, body) = json(unit.get("/api/v1/stats?period=999999").await).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn each_role_sees_its_scope() {
    let app = TestApp::spawn().await;
    let db = app.sql().await;
    generate(&app, 0, 600).await;
    let (from, to) = demo_range();
    let range = format!("from={from}&to={to}");
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    let xuan_dinh = app.unit_id(XUAN_DINH).await;
    let district = app.unit_id("xuan-loc").await;

    let admin = app.staff_with_role("qt.api", "admin", &[]).await;
    let viewer = app.staff_with_role("ld.api", "viewer", &[]).await;
    let unit = app
        .staff_with_role("cb.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let tokens = [
        ("admin", create_token(&admin, "Quản trị").await),
        ("viewer", create_token(&viewer, "Lãnh đạo").await),
        ("unit", create_token(&unit, "Xã Xuân Bắc").await),
    ];

    for (role, token) in &tokens {
        for unit_param in [xuan_bac, xuan_dinh, district] {
            let (status, body) = json(
                api(
                    &app,
                    &format!("/api/v1/stats?{range}&unit={unit_param}"),
                    Some(token),
                )
                .await,
            )
            .await;
            let allowed = *role != "unit" || unit_param == xuan_bac;
            if allowed {
                assert_eq!(status, 200, "{role} on {unit_param}: {body}");
                assert_eq!(body["root"]["id"], unit_param);
            } else {
                assert_eq!(status, 404, "{role} on {unit_param}: {body}");
                assert_eq!(body["code"], "not_found");
                let text = body.to_string();
                assert!(
                    !text.contains("Xuân Định") && !text.contains("Xuân Lộc"),
                    "{text}"
                );
            }
        }
    }

    // The unit account without `unit`: its own unit, its own figures only.
    let (status, body) =
        json(api(&app, &format!("/api/v1/stats?{range}"), Some(&tokens[2].1)).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["root"]["id"], xuan_bac);
    let text = body.to_string();
    for other in ["Xuân Định", "Gia Ray", "Phòng Nội vụ"] {
        assert!(!text.contains(other), "the unit account sees {other}");
    }
    let (n, index) = sql_figures(&db, &[xuan_bac], from, to).await;
    assert_eq!(body["total"]["responses"], n);
    assert!(close(body["total"]["index"].as_f64(), index));
    let scope = Scope::Units(vec![xuan_bac]);
    assert_same(&body, &direct_report(&app, &scope, &body["query"]).await);
    // By cookie: the same.
    let (_, by_cookie) = json(unit.get(&format!("/api/v1/stats?{range}")).await).await;
    assert_same(&by_cookie, &body);

    // Admin and viewer see every unit, the same figures.
    let (_, a) = json(api(&app, &format!("/api/v1/stats?{range}"), Some(&tokens[0].1)).await).await;
    let (_, v) = json(api(&app, &format!("/api/v1/stats?{range}"), Some(&tokens[1].1)).await).await;
    assert_same(&a, &v);
    assert_eq!(a["rows"].as_array().unwrap().len(), 28);
    let row = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"]["id"] == xuan_bac)
        .unwrap();
    assert_eq!(row["responses"], body["total"]["responses"]);
    assert_eq!(row["index"], body["total"]["index"]);

    // A role changed by an admin applies to the token at once: the unit account made a
    // viewer sees everything.
    db.execute(
        "UPDATE accounts SET role = 'viewer' WHERE username = 'cb.xuan.bac'",
        &[],
    )
    .await
    .unwrap();
    db.execute(
        "DELETE FROM account_units WHERE account_id = (SELECT id FROM accounts WHERE username = 'cb.xuan.bac')",
        &[],
    )
    .await
    .unwrap();
    let (status, _) = json(
        api(
            &app,
            &format!("/api/v1/stats?{range}&unit={xuan_dinh}"),
            Some(&tokens[2].1),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn cookie_token_none_revoked_and_disabled() {
    let app = TestApp::spawn().await;
    let db = app.sql().await;
    answer_through_qr(&app, XUAN_BAC, "4").await;
    let admin = app.staff_with_role("qt.api", "admin", &[]).await;
    let viewer = app.staff_with_role("ld.api", "viewer", &[]).await;

    // Nothing: 401 JSON with a Bearer challenge.
    let response = api(&app, "/api/v1/stats", None).await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, body) = json(response).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_eq!(body["code"], "unauthenticated");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    // Only the token's hash is stored; the token works.
    let token = create_token(&viewer, "Bảng điều khiển").await;
    let stored: Vec<u8> = db
        .query_one("SELECT token_sha256 FROM api_tokens", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, sipas::auth::token::hash(&token).to_vec());
    let dump: String = db
        .query_one("SELECT string_agg(t::text, ' ') FROM api_tokens t", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        !dump.contains(&token[6..]),
        "the token itself is not stored"
    );
    let audited: String = db
        .query_one(
            "SELECT after::text FROM audit_log WHERE action = 'token.create'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(audited.contains("Bảng điều khiển") && !audited.contains(&token[6..]));
    // The list shows the name, never the token again.
    let page = viewer.get("/staff/tokens").await.text().await.unwrap();
    assert!(page.contains("Bảng điều khiển") && !page.contains(&token));

    assert_eq!(api(&app, "/api/v1/stats", Some(&token)).await.status(), 200);
    // last_used_at: written on the first use, not again within the minute.
    let used = || async {
        db.query_one("SELECT last_used_at::text FROM api_tokens", &[])
            .await
            .unwrap()
            .get::<_, Option<String>>(0)
    };
    let first = used().await.expect("the use is recorded");
    assert_eq!(api(&app, "/api/v1/stats", Some(&token)).await.status(), 200);
    assert_eq!(used().await.as_deref(), Some(first.as_str()));
    db.execute(
        "UPDATE api_tokens SET last_used_at = now() - interval '2 minutes'",
        &[],
    )
    .await
    .unwrap();
    let old = used().await.unwrap();
    assert_eq!(api(&app, "/api/v1/stats", Some(&token)).await.status(), 200);
    assert_ne!(used().await.unwrap(), old, "written again after a minute");

    // Unknown, malformed, other schemes: 401 invalid_token.
    let unknown = format!("sipas_{}", "ab".repeat(32));
    for header in [
        format!("Bearer {unknown}"),
        "Bearer nonsense".to_string(),
        "Bearer".to_string(),
        "Basic YWRtaW46YWRtaW4=".to_string(),
        format!("Token {token}"),
    ] {
        let response = app
            .client
            .get(format!("{}/api/v1/stats", app.address))
            .header("Authorization", &header)
            .send()
            .await
            .unwrap();
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        let (status, body) = json(response).await;
        assert_eq!(status, 401, "{header}");
        assert_eq!(body["code"], "invalid_token", "{header}");
        assert!(challenge.contains("invalid_token"), "{challenge}");
    }
    // A header wins over the cookie: a signed-in browser sending a wrong token is refused.
    let response = admin
        .client
        .get(format!("{}/api/v1/stats", app.address))
        .header("Authorization", format!("Bearer {unknown}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(admin.get("/api/v1/stats").await.status(), 200);

    // Another account cannot revoke the token (404, still usable); its owner can.
    let id: i32 = db
        .query_one("SELECT id FROM api_tokens", &[])
        .await
        .unwrap()
        .get(0);
    let other = app
        .staff_with_role("cb.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let refused = other.post(&format!("/staff/tokens/{id}/revoke"), &[]).await;
    assert_eq!(refused.status(), 404);
    assert_eq!(api(&app, "/api/v1/stats", Some(&token)).await.status(), 200);
    let revoked = viewer
        .post(&format!("/staff/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(revoked.headers()["location"], "/staff/tokens?ok=revoked");
    let (status, body) = json(api(&app, "/api/v1/stats", Some(&token)).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let audit = db
        .query_one(
            "SELECT a.username, l.entity_id, l.before->>'revoked_at', l.after->>'revoked_at' \
             FROM audit_log l JOIN accounts a ON a.id = l.account_id \
             WHERE l.action = 'token.revoke'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, String>(0), "ld.api");
    assert_eq!(audit.get::<_, Option<String>>(1), Some(id.to_string()));
    assert_eq!(audit.get::<_, Option<String>>(2), None);
    assert!(audit.get::<_, Option<String>>(3).is_some());
    // Revoking again changes nothing.
    let again = viewer
        .post(&format!("/staff/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'token.revoke'")
            .await,
        1
    );

    // An admin sees and revokes any account's token.
    let second = create_token(&viewer, "Bảng điều khiển").await;
    let listed = admin.get("/staff/tokens").await.text().await.unwrap();
    assert!(
        listed.contains("ld.api"),
        "admins see every account's tokens"
    );
    let own = other.get("/staff/tokens").await.text().await.unwrap();
    assert!(!own.contains("Bảng điều khiển"), "others see only theirs");
    let id2: i32 = db
        .query_one("SELECT max(id) FROM api_tokens", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        admin
            .post(&format!("/staff/tokens/{id2}/revoke"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        api(&app, "/api/v1/stats", Some(&second)).await.status(),
        401
    );

    // A disabled account's token stops working; enabled again, it works again.
    let third = create_token(&viewer, "Thứ ba").await;
    assert_eq!(api(&app, "/api/v1/stats", Some(&third)).await.status(), 200);
    db.execute(
        "UPDATE accounts SET active = false WHERE username = 'ld.api'",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(api(&app, "/api/v1/stats", Some(&third)).await.status(), 401);
    db.execute(
        "UPDATE accounts SET active = true WHERE username = 'ld.api'",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(api(&app, "/api/v1/stats", Some(&third)).await.status(), 200);

    // Signed out, the cookie no longer opens the API.
    let csrf = admin.csrf().await;
    admin.post_raw("/sign-out", &[("_csrf", &csrf)]).await;
    let (status, _) = json(admin.get("/api/v1/stats").await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn token_names_are_checked() {
    let app = TestApp::spawn().await;
    let unit = app
        .staff_with_role("cb.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let long = "x".repeat(101);
    for (name, message) in [
        ("   ", "Vui lòng nhập tên mã."),
        (long.as_str(), "Tên mã quá dài"),
        ("a\u{7}b", "ký tự điều khiển"),
    ] {
        let response = unit.post("/staff/tokens", &[("name", name)]).await;
        assert_eq!(response.status(), 422, "{name:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{name:?}");
        assert!(!page.contains("sipas_"), "no token on a refusal");
    }
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 0);
    create_token(&unit, "Trùng tên").await;
    let response = unit.post("/staff/tokens", &[("name", " Trùng tên ")]).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("đã có một mã đang dùng với tên này")
    );
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'token.create'")
            .await,
        1
    );
    // Anonymous: sent to the sign-in page, nothing created.
    let anonymous = StaffClient::new(&app.address);
    let response = anonymous.post("/staff/tokens", &[("name", "x")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 1);
}

#[tokio::test]
async fn bad_input_is_400_json_naming_the_parameter_and_never_a_500() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("qt.api", "admin", &[]).await;
    let token = create_token(&admin, "Kiểm tra").await;
    for (query, parameter) in [
        ("year=abc", "year"),
        ("year=1850", "year"),
        ("year=2026.5", "year"),
        ("period=abc", "period"),
        ("period=0", "period"),
        ("unit=-3", "unit"),
        ("unit=99999999999999", "unit"),
        ("unit=1e3", "unit"),
        ("form=khong-co", "form"),
        ("channel=fax", "channel"),
        ("kind=thon", "kind"),
        ("from=2026-02-30", "from"),
        ("from=01/02/2026", "from"),
        ("to=2026-1-1", "to"),
        ("from=2026-03-01&to=2026-02-01", "from"),
        ("to=9999-12-31", "to"),
        ("bogus=1", "bogus"),
        ("unit=1&unit=2", "unit"),
        ("year=%zz", "year"),
    ] {
        let (status, body) =
            json(api(&app, &format!("/api/v1/stats?{query}"), Some(&token)).await).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["parameter"], parameter, "{query}: {body}");
        assert_eq!(body["code"], "invalid_parameter");
        assert!(body["error"].as_str().unwrap().contains(parameter) || parameter == "query");
    }
    // Unknown ids are not found, as JSON.
    for query in ["unit=999999", "period=999999"] {
        let (status, body) =
            json(api(&app, &format!("/api/v1/stats?{query}"), Some(&token)).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{query}"
        );
    }
    // Anonymous callers learn nothing about parameters: 401 first.
    let (status, _) = json(api(&app, "/api/v1/stats?year=abc", None).await).await;
    assert_eq!(status, 401);
    // Everything under /api answers JSON: unknown paths, other methods.
    for path in ["/api/v1/nope", "/api", "/api/v2/stats", "/api/v1/stats/1"] {
        let (status, body) = json(api(&app, path, Some(&token)).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let response = app
        .client
        .post(format!("{}/api/v1/stats", app.address))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    let (status, body) = json(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

/// Resolves a local `$ref`, following `allOf` of one element (a nullable reference).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let mut node = doc;
        for part in reference.trim_start_matches("#/").split('/') {
            node = &node[part];
        }
        assert!(!node.is_null(), "unresolved {reference}");
        return resolve(doc, node);
    }
    if let Some([only]) = schema["allOf"].as_array().map(Vec::as_slice) {
        return resolve(doc, only);
    }
    schema
}

/// Checks a JSON value against the document's schema: every field of every object is a
/// property of its schema, every required property is there, types and nullability agree.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let nullable = schema["nullable"].as_bool().unwrap_or(false);
    let schema = resolve(doc, schema);
    if value.is_null() {
        if !nullable && !schema["nullable"].as_bool().unwrap_or(false) {
            problems.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let fits = options.iter().any(|o| {
            let mut p = Vec::new();
            conforms(doc, o, value, at, &mut p);
            p.is_empty()
        });
        if !fits {
            problems.push(format!("{at}: {value} fits none of oneOf"));
        }
        return;
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(object) = value.as_object() else {
                problems.push(format!("{at}: not an object"));
                return;
            };
            let properties = schema["properties"].as_object();
            for (key, field) in object {
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => conforms(doc, sub, field, &format!("{at}.{key}"), problems),
                    None if properties.is_none() => {}
                    None => problems.push(format!("{at}.{key}: not in the schema")),
                }
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !object.contains_key(name) {
                    problems.push(format!("{at}.{name}: required but absent"));
                }
            }
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    conforms(doc, &schema["items"], item, &format!("{at}[{i}]"), problems);
                }
            }
            None => problems.push(format!("{at}: not an array")),
        },
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            problems.push(format!("{at}: {value} is not an integer"))
        }
        Some("number") if !value.is_number() => {
            problems.push(format!("{at}: {value} is not a number"))
        }
        Some("string") if !value.is_string() => {
            problems.push(format!("{at}: {value} is not a string"))
        }
        Some("boolean") if !value.is_boolean() => {
            problems.push(format!("{at}: {value} is not a boolean"))
        }
        _ => {}
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{at}: {value} not in the enum"));
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let file = std::fs::read_to_string(common::manifest_dir().join("docs/openapi.json")).unwrap();
    let doc: Value = serde_json::from_str(&file).expect("docs/openapi.json is JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0."));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["cookieAuth"]["in"], "cookie");
    assert_eq!(schemes["cookieAuth"]["name"], sipas::auth::SESSION_COOKIE);

    // Every parameter the handler accepts, and no other.
    let operation = &doc["paths"]["/api/v1/stats"]["get"];
    let documented: BTreeSet<&str> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["in"], "query");
            p["name"].as_str().unwrap()
        })
        .collect();
    let accepted: BTreeSet<&str> = sipas::web::api::STATS_PARAMETERS.into_iter().collect();
    assert_eq!(documented, accepted);
    for code in ["200", "400", "401", "404"] {
        assert!(operation["responses"][code].is_object(), "response {code}");
    }
    let channels = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "channel")
        .unwrap()["schema"]["enum"]
        .clone();
    assert_eq!(
        channels,
        serde_json::to_value(sipas::domain::channel::CHANNELS).unwrap()
    );

    let app = TestApp::spawn().await;
    generate(&app, 0, 300).await;
    // Served as it is, without signing in.
    let served = app.get("/api/v1/openapi.json").await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.text().await.unwrap(), file);

    // Each documented parameter is accepted by the handler (a valid value: not a 400).
    let admin = app.staff_with_role("qt.api", "admin", &[]).await;
    let token = create_token(&admin, "OpenAPI").await;
    let (from, to) = demo_range();
    let district = app.unit_id("xuan-loc").await;
    let examples = [
        ("year", from.year().to_string()),
        ("unit", district.to_string()),
        ("form", FORM.to_string()),
        ("channel", "qr".to_string()),
        ("kind", "commune".to_string()),
        ("from", from.to_string()),
        ("to", to.to_string()),
        ("attr", "GIOI_TINH:2".to_string()),
        ("compared_to", to.to_string()),
    ];
    for (name, value) in &examples {
        let (status, body) =
            json(api(&app, &format!("/api/v1/stats?{name}={value}"), Some(&token)).await).await;
        assert_eq!(status, 200, "{name}={value}: {body}");
    }
    assert!(
        examples.len() + 1 == accepted.len() && !examples.iter().any(|(n, _)| *n == "period"),
        "period is checked in a_period_gives_its_dates_form_and_targets"
    );

    // A real answer conforms to the Report schema: every field named, recursively.
    let (status, body) = json(
        api(
            &app,
            &format!("/api/v1/stats?from={from}&to={to}"),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
    let report = resolve(&doc, schema);
    let top: BTreeSet<&str> = report["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let fields: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, fields, "the Report schema's top-level fields");
    let mut problems = Vec::new();
    conforms(&doc, schema, &body, "Report", &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // So do the errors.
    let error_schema = serde_json::json!({ "$ref": "#/components/schemas/Error" });
    for (path, token) in [
        ("/api/v1/stats?year=x", Some(token.as_str())),
        ("/api/v1/stats", None),
        ("/api/v1/nope", Some(token.as_str())),
    ] {
        let (_, body) = json(api(&app, path, token).await).await;
        let mut problems = Vec::new();
        conforms(&doc, &error_schema, &body, "Error", &mut problems);
        assert!(problems.is_empty(), "{path}: {}", problems.join("\n"));
    }
    // The checker itself finds an undocumented field.
    let mut wrong = body.clone();
    wrong["rows"][0]["unit"]["secret"] = Value::from(1);
    let mut problems = Vec::new();
    conforms(&doc, schema, &wrong, "Report", &mut problems);
    assert_eq!(problems, ["Report.rows[0].unit.secret: not in the schema"]);
}

#[tokio::test]
async fn an_admin_on_a_database_without_units_is_told_there_are_none_yet() {
    let app = TestApp::spawn().await;
    // A new installation: no unit at all (the demo's removed with everything that refers to
    // them), then its first admin.
    app.sql()
        .await
        .batch_execute("TRUNCATE units CASCADE")
        .await
        .unwrap();
    let admin = app.staff_with_role("qt.moi", "admin", &[]).await;
    let (status, body) = json(admin.get("/api/v1/stats").await).await;
    assert_eq!(status, 404, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("Chưa có đơn vị nào"),
        "the problem is that no unit exists yet: {error}"
    );
    assert!(
        !error.contains("Tài khoản không được giao"),
        "an admin is not assigned units: {error}"
    );
}
