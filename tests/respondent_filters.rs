//! Filters by respondent attributes (issue 17: "filters by respondent attributes (gender, age
//! band, field of procedure)"), through HTTP against the real server and PostgreSQL:
//! - a filtered report (the JSON API, the overview, a unit's page with its trend, the
//!   comparison) counts exactly the responses whose answers to the respondent questions are
//!   those asked for, and its figures equal an independent computation done here in SQL
//!   straight from `responses` (provenance: the stored answer arrays, mapped to item codes
//!   through `form_items`, the official rule of QĐ 1001 written out again: criterion index =
//!   share of 4 and 5 among the answers 1..5, factor = mean of its criteria, index = mean of
//!   the factors; excluded responses left out by their stored review): none of the
//!   application's SQL is used for the expected values;
//! - the unfiltered figures (from the rollups) are unchanged, and the filtered groups of one
//!   question add up to them with those who left the question blank;
//! - every page with filtered figures says whom they count ("Chỉ tính người trả lời: …");
//! - hostile or unknown filters are refused with a Vietnamese message (422 on the pages, 400
//!   JSON in the API), nothing run;
//! - a unit account's filter never reaches another unit's responses, and a group too small by
//!   the small-cell rule is withheld from it (the count, the index, the trend's month), while
//!   admins see the exact figures.

use crate::common;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use common::{StaffClient, TestApp};
use serde_json::Value;

const FORM: &str = "sipas-1001-dich-vu";
const YEAR: i32 = 2025;
const RESPONSES: u64 = 1500;
const SENTENCE: &str = "Chỉ tính người trả lời: Nữ, Từ 25 đến 34 tuổi";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

use crate::common::html_text as text;

/// The body rows of the `<table id="...">` of a page, each as the texts of its cells.
fn rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id} in the page:\n{}", text(html)));
    let table = &html[start..];
    let table = &table[..table.find("</table>").unwrap()];
    let body = table.find("<tbody").map(|i| &table[i..]).unwrap_or(table);
    body.split("<tr")
        .skip(1)
        .filter(|row| !row.starts_with(" class=\"group\""))
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap_or(row.len())];
            row.split("<t")
                .skip(1)
                .filter(|cell| cell.starts_with('d') || cell.starts_with('h'))
                .map(|cell| {
                    let start = cell.find('>').unwrap() + 1;
                    let end = cell.find("</t").unwrap_or(cell.len());
                    text(&cell[start..end])
                })
                .collect()
        })
        .collect()
}

/// An index as the pages write it: "83,45%".
fn published(index: f64) -> String {
    format!("{:.2}%", (index * 10_000.0).round() / 100.0).replace('.', ",")
}

/// "1.234" as the pages write counts.
fn count_text(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

async fn page(client: &StaffClient, path: &str, status: u16) -> String {
    let response = client.get(path).await;
    let got = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{path}:\n{}", text(&body));
    body
}

async fn api(client: &StaffClient, path: &str, status: u16) -> Value {
    let response = client.get(path).await;
    let got = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The query string of filters: `attr=GIOI_TINH%3A2&...`.
fn attrs(conditions: &[(&str, i16)]) -> String {
    serde_urlencoded::to_string(
        conditions
            .iter()
            .map(|(code, value)| ("attr", format!("{code}:{value}")))
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

/// What the independent computation gives for a set of units.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    forms: i64,
    index: Option<f64>,
    /// Criterion index by item code.
    criteria: BTreeMap<String, f64>,
}

/// The figures of the responses of `units` to `FORM` on the days `from..=to` (Vietnam's
/// time) whose answers to the items `conditions` name are those values, computed here in SQL
/// from `responses` and `form_items` by the official rule (see the module's documentation).
async fn expected(
    app: &TestApp,
    units: &[i32],
    conditions: &[(&str, i16)],
    from: NaiveDate,
    to: NaiveDate,
) -> Expected {
    let codes: Vec<String> = conditions.iter().map(|(c, _)| c.to_string()).collect();
    let values: Vec<i16> = conditions.iter().map(|(_, v)| *v).collect();
    let row = app
        .sql()
        .await
        .query_one(
            "WITH r AS (
                 SELECT r.id, r.answers, r.form_version_id
                 FROM responses r JOIN form_versions fv ON fv.id = r.form_version_id
                 WHERE fv.form_id = $1 AND r.unit_id = ANY ($2)
                   AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                       BETWEEN $3::text::date AND $4::text::date
                   AND NOT EXISTS (SELECT 1 FROM response_reviews v
                                   WHERE v.response_id = r.id AND v.excluded)
                   AND NOT EXISTS (
                       SELECT 1 FROM unnest($5::text[], $6::int2[]) AS c (code, value)
                       WHERE r.answers[(SELECT fi.answer_index FROM form_items fi
                                        WHERE fi.form_version_id = r.form_version_id
                                          AND fi.code = c.code)] IS DISTINCT FROM c.value)
             ),
             answers AS (
                 SELECT fi.section_code, fi.code, a.value
                 FROM r
                 CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY AS a (value, idx)
                 JOIN form_items fi ON fi.form_version_id = r.form_version_id
                                   AND fi.answer_index = a.idx
                 WHERE fi.section_role = 'factor' AND a.value >= 1
             ),
             criteria AS (
                 SELECT section_code, code, avg((value IN (4, 5))::int::float8) AS idx
                 FROM answers GROUP BY 1, 2
             ),
             factors AS (SELECT section_code, avg(idx) AS idx FROM criteria GROUP BY 1)
             SELECT (SELECT count(*) FROM r),
                    (SELECT avg(idx) FROM factors),
                    (SELECT coalesce(json_object_agg(code, idx), '{}')::text FROM criteria)",
            &[
                &FORM,
                &units,
                &from.to_string(),
                &to.to_string(),
                &codes,
                &values,
            ],
        )
        .await
        .unwrap();
    let criteria: BTreeMap<String, f64> = serde_json::from_str(&row.get::<_, String>(2)).unwrap();
    Expected {
        forms: row.get(0),
        index: row.get(1),
        criteria,
    }
}

/// The responses of `units` per calendar month of `YEAR` meeting `conditions`, counted here.
async fn expected_months(app: &TestApp, units: &[i32], conditions: &[(&str, i16)]) -> Vec<i64> {
    let mut months = Vec::new();
    for m in 1..=12 {
        let to = if m == 12 {
            day(YEAR, 12, 31)
        } else {
            day(YEAR, m + 1, 1).pred_opt().unwrap()
        };
        months.push(
            expected(app, units, conditions, day(YEAR, m, 1), to)
                .await
                .forms,
        );
    }
    months
}

/// The unit and every unit below it.
async fn subtree(app: &TestApp, id: i32) -> Vec<i32> {
    app.sql()
        .await
        .query(
            "WITH RECURSIVE t AS (SELECT id FROM units WHERE id = $1
                                  UNION ALL SELECT u.id FROM units u JOIN t ON u.parent_id = t.id)
             SELECT id FROM t",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A report's figures (the total or a row) against the expected ones.
fn assert_figures(what: &str, report: &Value, expected: &Expected) {
    assert_eq!(
        report["responses"].as_i64(),
        Some(expected.forms),
        "{what}: forms"
    );
    assert_eq!(report["withheld"], false, "{what}");
    match expected.index {
        Some(index) => {
            let got = report["index"]
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: no index"));
            assert!((got - index).abs() < 1e-9, "{what}: index {got} ≠ {index}");
        }
        None => assert!(report["index"].is_null(), "{what}: index"),
    }
    let mut seen = 0;
    for factor in report["factors"].as_array().unwrap() {
        for criterion in factor["criteria"].as_array().unwrap() {
            let code = criterion["code"].as_str().unwrap();
            match expected.criteria.get(code) {
                Some(index) => {
                    let got = criterion["stats"]["index"].as_f64().unwrap();
                    assert!((got - index).abs() < 1e-9, "{what}: {code} {got} ≠ {index}");
                    seen += 1;
                }
                None => assert!(criterion["stats"]["index"].is_null(), "{what}: {code}"),
            }
        }
    }
    assert_eq!(seen, expected.criteria.len(), "{what}: criteria");
}

/// The demo district with synthetic responses over `YEAR` (the same generator as `sipas demo`),
/// and an admin.
async fn generated() -> (TestApp, StaffClient) {
    let app = TestApp::spawn().await;
    {
        let mut conn = app.pool.get().await.unwrap();
        let generated = sipas::demo::generate_responses(
            &mut conn,
            &app.forms,
            &sipas::demo::ResponseSpec {
                seed: 17,
                count: RESPONSES,
                first: 0,
                from: day(YEAR, 1, 1),
                to: day(YEAR, 12, 31),
            },
        )
        .await
        .unwrap();
        assert_eq!(generated.inserted, RESPONSES);
    }
    app.settle_rollups().await;
    let admin = app.staff_with_role("qt.loc", "admin", &[]).await;
    (app, admin)
}

#[tokio::test]
async fn filtered_figures_are_those_of_the_matching_responses() {
    let (app, admin) = generated().await;
    let (from, to) = (day(YEAR, 1, 1), day(YEAR, 12, 31));
    let district = app.unit_id("xuan-loc").await;
    let all_units = subtree(&app, district).await;
    let women_25_34 = [("GIOI_TINH", 2), ("DO_TUOI", 2)];

    // The JSON API: the total and every row equal the independent computation.
    let filtered = api(
        &admin,
        &format!(
            "/api/v1/stats?year={YEAR}&unit={district}&{}",
            attrs(&women_25_34)
        ),
        200,
    )
    .await;
    let total = expected(&app, &all_units, &women_25_34, from, to).await;
    let everyone = expected(&app, &all_units, &[], from, to).await;
    // The filter picks out a real group: neither nobody nor everybody.
    assert!(
        total.forms >= 30 && total.forms < everyone.forms / 3,
        "{} of {}",
        total.forms,
        everyone.forms
    );
    assert_figures("filtered total", &filtered["total"], &total);
    let api_rows = filtered["rows"].as_array().unwrap();
    assert!(api_rows.len() > 10);
    let mut some_row_has_forms = false;
    for row in api_rows {
        let id = row["unit"]["id"].as_i64().unwrap() as i32;
        let expected_row = expected(&app, &subtree(&app, id).await, &women_25_34, from, to).await;
        some_row_has_forms |= expected_row.forms > 0;
        assert_figures(row["unit"]["name"].as_str().unwrap(), row, &expected_row);
        assert!(row["target"].is_null());
    }
    assert!(some_row_has_forms);
    assert_eq!(
        filtered["query"]["respondents"],
        serde_json::json!([
            {"item_code": "GIOI_TINH", "item_text": "Giới tính", "value": 2, "label": "Nữ"},
            {"item_code": "DO_TUOI", "item_text": "Độ tuổi", "value": 2, "label": "Từ 25 đến 34 tuổi"},
        ])
    );

    // Without a filter: the rollups' figures, as before, equal to the same computation.
    let unfiltered = api(
        &admin,
        &format!("/api/v1/stats?year={YEAR}&unit={district}"),
        200,
    )
    .await;
    assert_figures("unfiltered total", &unfiltered["total"], &everyone);
    assert_eq!(unfiltered["query"]["respondents"], serde_json::json!([]));
    // The groups of one question and those who left it blank add up to everyone.
    let mut by_gender = 0;
    for value in [1, 2] {
        let report = api(
            &admin,
            &format!("/api/v1/stats?year={YEAR}&unit={district}&attr=GIOI_TINH:{value}"),
            200,
        )
        .await;
        by_gender += report["total"]["responses"].as_i64().unwrap();
    }
    let blank = app
        .count(&format!(
            "SELECT count(*) FROM responses r
             JOIN form_items fi ON fi.form_version_id = r.form_version_id AND fi.code = 'GIOI_TINH'
             WHERE r.answers[fi.answer_index] IS NULL
               AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                   BETWEEN '{from}' AND '{to}'
               AND NOT EXISTS (SELECT 1 FROM response_reviews v
                               WHERE v.response_id = r.id AND v.excluded)"
        ))
        .await;
    assert!(blank > 0, "the demo leaves some genders blank");
    assert_eq!(by_gender + blank, everyone.forms);

    // The overview says whom the figures count, keeps the filters in its links and shows the
    // filtered count; the printable report's link counts everyone.
    let html = page(
        &admin,
        &format!("/staff/stats?year={YEAR}&{}", attrs(&women_25_34)),
        200,
    )
    .await;
    assert!(text(&html).contains(SENTENCE), "{}", text(&html));
    assert!(html.contains("<option value=\"GIOI_TINH:2\" selected>Nữ</option>"));
    assert!(html.contains("attr=GIOI_TINH%3A2&amp;attr=DO_TUOI%3A2"));
    let ranking = rows(&html, "bang-xep-hang");
    let shown_forms: i64 = ranking
        .iter()
        .map(|r| r[4].replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(shown_forms, total.forms);
    let report_link = &html[html.find("class=\"report-link\"").unwrap()..];
    let report_link = &report_link[..report_link.find("</p>").unwrap()];
    assert!(!report_link.contains("attr="), "{report_link}");
    assert!(text(report_link).contains("không theo bộ lọc người trả lời"));
    // Without a filter, no such sentence.
    let html = page(&admin, &format!("/staff/stats?year={YEAR}"), 200).await;
    assert!(!text(&html).contains("Chỉ tính người trả lời"));

    // A commune's page: its headline and its monthly trend count the women aged 25–34 only.
    let busiest: i32 = app
        .sql()
        .await
        .query_one(
            "SELECT unit_id FROM responses GROUP BY unit_id ORDER BY count(*) DESC, unit_id LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let units = subtree(&app, busiest).await;
    let html = page(
        &admin,
        &format!(
            "/staff/stats/units/{busiest}?year={YEAR}&{}",
            attrs(&women_25_34)
        ),
        200,
    )
    .await;
    assert!(text(&html).contains(SENTENCE));
    let unit_total = expected(&app, &units, &women_25_34, from, to).await;
    assert!(unit_total.forms > 0);
    let headline = &html[html.find("class=\"cards\"").unwrap()..];
    assert!(
        text(&headline[..headline.find("phiếu khảo sát").unwrap()])
            .contains(&count_text(unit_total.forms)),
        "{}",
        text(headline).chars().take(300).collect::<String>()
    );
    let unit_index = unit_total.index.unwrap();
    assert!(
        text(&headline[..headline.find("Chỉ số SIPAS").unwrap()]).contains(&published(unit_index)),
        "{}",
        published(unit_index)
    );
    let months: Vec<i64> = rows(&html, "bang-xu-huong")
        .iter()
        .map(|r| r[2].replace('.', "").parse().unwrap())
        .collect();
    assert_eq!(months, expected_months(&app, &units, &women_25_34).await);
    assert!(
        html.contains("không theo bộ lọc người trả lời"),
        "desks and comments"
    );

    // The comparison of two communes with the filter: each side's forms are its own group's.
    let others: Vec<i32> = api_rows
        .iter()
        .map(|r| r["unit"]["id"].as_i64().unwrap() as i32)
        .filter(|id| *id != busiest)
        .take(1)
        .collect();
    let html = page(
        &admin,
        &format!(
            "/staff/stats/compare?year={YEAR}&units={busiest}&units={}&{}",
            others[0],
            attrs(&women_25_34)
        ),
        200,
    )
    .await;
    assert!(text(&html).contains(SENTENCE));
    let compared = rows(&html, "bang-so-sanh");
    assert_eq!(compared.len(), 2);
    for (row, id) in compared.iter().zip([busiest, others[0]]) {
        let e = expected(&app, &subtree(&app, id).await, &women_25_34, from, to).await;
        assert_eq!(row[3], count_text(e.forms), "{row:?}");
    }
}

/// A filter by one attribute reads the rollups by attribute for whole months and the raw
/// responses for the days at the edges of its range (crates/sipas-db/src/stats.rs,
/// `FilteredSources`): every way gives the figures of the matching responses, computed here
/// from `responses`.
#[tokio::test]
async fn one_attribute_over_whole_months_and_edge_days_counts_the_matching_responses() {
    let (app, admin) = generated().await;
    let district = app.unit_id("xuan-loc").await;
    let all_units = subtree(&app, district).await;
    for (conditions, from, to) in [
        // The year: whole months only, from the rollups by attribute.
        (vec![("GIOI_TINH", 2)], day(YEAR, 1, 1), day(YEAR, 12, 31)),
        // A quarter of one field.
        (vec![("LINH_VUC", 1)], day(YEAR, 1, 1), day(YEAR, 3, 31)),
        // Edges on both sides: Jan 15–31 and Apr 1–10 raw, Feb–Mar from the rollups.
        (vec![("DO_TUOI", 3)], day(YEAR, 1, 15), day(YEAR, 4, 10)),
        // No whole month: every day raw.
        (vec![("GIOI_TINH", 1)], day(YEAR, 6, 10), day(YEAR, 7, 20)),
    ] {
        let what = format!("{conditions:?} {from}..{to}");
        let report = api(
            &admin,
            &format!(
                "/api/v1/stats?from={from}&to={to}&unit={district}&{}",
                attrs(&conditions)
            ),
            200,
        )
        .await;
        let total = expected(&app, &all_units, &conditions, from, to).await;
        assert!(total.forms >= 30, "{what}: {}", total.forms);
        assert_figures(&what, &report["total"], &total);
        for row in report["rows"].as_array().unwrap() {
            let id = row["unit"]["id"].as_i64().unwrap() as i32;
            let e = expected(&app, &subtree(&app, id).await, &conditions, from, to).await;
            assert_figures(&format!("{what} {id}"), row, &e);
        }
    }

    // One channel: the rollups by attribute keep it.
    let (from, to) = (day(YEAR, 1, 1), day(YEAR, 12, 31));
    let channel: String = app
        .sql()
        .await
        .query_one(
            "SELECT channel FROM responses GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let report = api(
        &admin,
        &format!("/api/v1/stats?year={YEAR}&unit={district}&channel={channel}&attr=GIOI_TINH:2"),
        200,
    )
    .await;
    let in_channel = app
        .count(&format!(
            "SELECT count(*) FROM responses r
             JOIN form_items fi ON fi.form_version_id = r.form_version_id AND fi.code = 'GIOI_TINH'
             WHERE r.answers[fi.answer_index] = 2 AND r.channel = '{channel}'
               AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                   BETWEEN '{from}' AND '{to}'
               AND NOT EXISTS (SELECT 1 FROM response_reviews v
                               WHERE v.response_id = r.id AND v.excluded)"
        ))
        .await;
    assert!(in_channel > 0);
    assert_eq!(report["total"]["responses"].as_i64(), Some(in_channel));

    // A commune's monthly trend by one attribute: each month's forms.
    let busiest: i32 = app
        .sql()
        .await
        .query_one(
            "SELECT unit_id FROM responses GROUP BY unit_id ORDER BY count(*) DESC, unit_id LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let units = subtree(&app, busiest).await;
    let women = [("GIOI_TINH", 2)];
    let html = page(
        &admin,
        &format!("/staff/stats/units/{busiest}?year={YEAR}&{}", attrs(&women)),
        200,
    )
    .await;
    assert!(text(&html).contains("Chỉ tính người trả lời: Nữ"));
    let months: Vec<i64> = rows(&html, "bang-xu-huong")
        .iter()
        .map(|r| r[2].replace('.', "").parse().unwrap())
        .collect();
    assert_eq!(months, expected_months(&app, &units, &women).await);
}

#[tokio::test]
async fn unknown_or_hostile_filters_are_refused_in_vietnamese() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("qt.loc", "admin", &[]).await;
    let unit = app.unit_id("xuan-loc.xuan-bac").await;
    let other = app.unit_id("xuan-loc.xuan-dinh").await;
    let long = format!("GIOI_TINH:{}", "9".repeat(3000));
    let cases: Vec<(String, &str)> = vec![
        (
            "attr=GIOI_TINH:9".into(),
            "Giá trị «9» không có trong câu hỏi «Giới tính». Các giá trị: 1 (Nam), 2 (Nữ).",
        ),
        (
            "attr=TC1:5".into(),
            "Mẫu phiếu không có câu hỏi về người trả lời «TC1»",
        ),
        (
            serde_urlencoded::to_string([("attr", "x'; DROP TABLE responses; --:1")]).unwrap(),
            "Mẫu phiếu không có câu hỏi về người trả lời «x'; DROP TABLE responses; --»",
        ),
        (
            "attr=GIOI_TINH:1&attr=GIOI_TINH:2".into(),
            "Câu hỏi «Giới tính» chỉ được chọn một giá trị để lọc.",
        ),
        ("attr=GIOI_TINH".into(), "cần dạng MÃ_CÂU_HỎI:mã_giá_trị"),
        ("attr=GIOI_TINH:-1".into(), "Giá trị «-1» không có"),
        (
            serde_urlencoded::to_string([("attr", long.as_str())]).unwrap(),
            "Giá trị «9999999999",
        ),
        (
            "form=danh-gia-mot-cua&attr=GIOI_TINH:2".into(),
            "Các câu hỏi dùng để lọc: không có.",
        ),
    ];
    for (query, message) in &cases {
        for path in [
            format!("/staff/stats?{query}"),
            format!("/staff/stats/units/{unit}?{query}"),
            format!("/staff/stats/compare?units={unit}&units={other}&{query}"),
        ] {
            let html = page(&admin, &path, 422).await;
            assert!(text(&html).contains(message), "{path}: {}", text(&html));
        }
        let body = api(&admin, &format!("/api/v1/stats?{query}"), 400).await;
        assert_eq!(body["code"], "invalid_parameter", "{query}");
        assert_eq!(body["parameter"], "attr", "{query}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.starts_with("Tham số «attr»: ") && error.contains(message),
            "{query}: {error}"
        );
        assert!(error.chars().count() < 400, "{error}");
    }
    // Nothing was run: the responses are still there, and the page without a filter answers.
    assert_eq!(app.count("SELECT count(*) FROM responses").await, 0);
    page(&admin, "/staff/stats", 200).await;
}

/// One response to the QĐ 1001 form, inserted at `at` (Vietnam's time) for `unit`: every
/// criterion `score`, the feedback items "not applicable", and the respondent answers given.
async fn insert(app: &TestApp, unit: i32, at: &str, score: i16, respondent: &[(&str, i16)]) {
    let sql = app.sql().await;
    let version: i32 = sql
        .query_one(
            "SELECT id FROM form_versions WHERE form_id = $1 ORDER BY id DESC LIMIT 1",
            &[&FORM],
        )
        .await
        .unwrap()
        .get(0);
    let items = sql
        .query(
            "SELECT code, section_role FROM form_items
             WHERE form_version_id = $1 AND answer_index IS NOT NULL ORDER BY answer_index",
            &[&version],
        )
        .await
        .unwrap();
    let answers: Vec<Option<i16>> = items
        .iter()
        .map(|row| {
            let (code, role): (String, String) = (row.get(0), row.get(1));
            match role.as_str() {
                "factor" if code.starts_with("PA") => Some(0),
                "factor" => Some(score),
                "respondent" => respondent.iter().find(|(c, _)| *c == code).map(|(_, v)| *v),
                _ => None,
            }
        })
        .collect();
    sql.execute(
        "INSERT INTO responses (submission_key, unit_id, form_version_id, channel, submitted_at, answers)
         VALUES (gen_random_uuid(), $1, $2, 'interview', ($3::text::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'), $4)",
        &[&unit, &version, &at, &answers],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_unit_account_sees_its_units_only_and_no_small_group() {
    let app = TestApp::spawn().await;
    // Honest responses: no fraud signal leaves any out.
    app.sql()
        .await
        .batch_execute(
            "UPDATE fraud_rules SET desk_burst_min = 1000, client_burst_min = 1000, \
             identical_run_desk = 1000, identical_run_client = 1000, straight_min_criteria = 1000, \
             min_seconds_base = 0, min_seconds_per_item = 0",
        )
        .await
        .unwrap();
    let bac = app.unit_id("xuan-loc.xuan-bac").await;
    let dinh = app.unit_id("xuan-loc.xuan-dinh").await;
    // Xuân Bắc, in March: 3 women aged 25–34, fully satisfied; 9 men aged 35–49, dissatisfied;
    // all of them Kinh.
    for i in 0..12 {
        let at = format!("{YEAR}-03-{:02} 09:30", 2 + i);
        if i < 3 {
            insert(
                &app,
                bac,
                &at,
                5,
                &[("GIOI_TINH", 2), ("DO_TUOI", 2), ("DAN_TOC", 1)],
            )
            .await;
        } else {
            insert(
                &app,
                bac,
                &at,
                2,
                &[("GIOI_TINH", 1), ("DO_TUOI", 3), ("DAN_TOC", 1)],
            )
            .await;
        }
    }
    // Xuân Định: 20 women aged 25–34, Kinh, rating 4.
    for i in 0..20 {
        let at = format!("{YEAR}-04-{:02} 10:00", 1 + i);
        insert(
            &app,
            dinh,
            &at,
            4,
            &[("GIOI_TINH", 2), ("DO_TUOI", 2), ("DAN_TOC", 1)],
        )
        .await;
    }
    app.settle_rollups().await;
    let unit = app
        .staff_with_role("cb.xuan.bac", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let admin = app.staff_with_role("qt.loc", "admin", &[]).await;
    let stats = |attr: &str| format!("/api/v1/stats?year={YEAR}&attr={attr}");

    // Three women: withheld from the unit's own staff (the total and its only row).
    let women = api(&unit, &stats("GIOI_TINH:2"), 200).await;
    assert_eq!(women["root"]["id"], bac);
    for report in [&women["total"], &women["rows"][0]] {
        assert_eq!(report["withheld"], true, "{report}");
        assert_eq!(report["responses"], 0);
        assert!(report["index"].is_null());
    }
    // Nine men: their complement, the three women, would come back from the unfiltered figures.
    let men = api(&unit, &stats("GIOI_TINH:1"), 200).await;
    assert_eq!(men["total"]["withheld"], true);
    // Everyone is Kinh: nothing to hide, and only Xuân Bắc's twelve count (not Xuân Định's).
    let kinh = api(&unit, &stats("DAN_TOC:1"), 200).await;
    let bac_kinh = expected(
        &app,
        &[bac],
        &[("DAN_TOC", 1)],
        day(YEAR, 1, 1),
        day(YEAR, 12, 31),
    )
    .await;
    assert_eq!(bac_kinh.forms, 12);
    assert_figures("Xuân Bắc, Kinh", &kinh["total"], &bac_kinh);
    assert_eq!(kinh["rows"].as_array().unwrap().len(), 1);
    // Admins see the three women exactly.
    let exact = api(
        &admin,
        &format!("/api/v1/stats?year={YEAR}&unit={bac}&attr=GIOI_TINH:2"),
        200,
    )
    .await;
    let bac_women = expected(
        &app,
        &[bac],
        &[("GIOI_TINH", 2)],
        day(YEAR, 1, 1),
        day(YEAR, 12, 31),
    )
    .await;
    assert_eq!(bac_women.forms, 3);
    assert_eq!(bac_women.index, Some(1.0));
    assert_figures("Xuân Bắc, women (admin)", &exact["total"], &bac_women);

    // Another unit, with a filter, stays out of reach.
    api(
        &unit,
        &format!("/api/v1/stats?year={YEAR}&unit={dinh}&attr=GIOI_TINH:2"),
        404,
    )
    .await;
    page(
        &unit,
        &format!("/staff/stats/units/{dinh}?year={YEAR}&attr=GIOI_TINH:2"),
        404,
    )
    .await;
    page(
        &unit,
        &format!("/staff/stats/compare?year={YEAR}&units={bac}&units={dinh}&attr=GIOI_TINH:2"),
        404,
    )
    .await;
    let html = page(
        &unit,
        &format!("/staff/stats?year={YEAR}&unit={dinh}&attr=GIOI_TINH:2"),
        422,
    )
    .await;
    assert!(!text(&html).contains("Xuân Định:"));

    // The pages say so, and show neither the group's count nor its index (100%); the month of
    // the three women in the trend is withheld too.
    let html = page(
        &unit,
        &format!("/staff/stats/units/{bac}?year={YEAR}&attr=GIOI_TINH:2&attr=DO_TUOI:2"),
        200,
    )
    .await;
    let shown = text(&html);
    assert!(shown.contains(SENTENCE), "{shown}");
    assert!(
        shown.contains("Không hiển thị: nhóm người trả lời quá nhỏ"),
        "{shown}"
    );
    assert!(!shown.contains("100,00%"), "{shown}");
    let march = &rows(&html, "bang-xu-huong")[2];
    assert_eq!(march[0], format!("T3/{YEAR}"));
    assert_eq!(march[2], "ẩn", "{march:?}");
    // The admin's page of the same selection shows them.
    let html = page(
        &admin,
        &format!("/staff/stats/units/{bac}?year={YEAR}&attr=GIOI_TINH:2&attr=DO_TUOI:2"),
        200,
    )
    .await;
    let shown = text(&html);
    assert!(shown.contains("100,00%"), "{shown}");
    assert_eq!(rows(&html, "bang-xu-huong")[2][2], "3");
}
