//! Results across a reorganisation (issue 19): a merge, a split (with shares, and without
//! them: refused with the act named), a rename and a move, each across a period boundary,
//! through the real pages and API.
//!
//! The acts are written here as plain SQL (units ending, new units, lineage rows, shares), as
//! the pages recording acts would leave them. The expected figures are computed here over the
//! raw `responses` (not the rollups), with the lineage weights written by hand: every
//! response answers all 16 criteria with the same code (5: satisfied, 2: not), so the index is
//! the weighted share of satisfied respondents, each weighted count rounded as the rule says.

use crate::common;

use common::{StaffClient, TestApp, html_text};
use serde_json::Value;

const FORM: &str = "sipas-1001-dich-vu";
/// The acts' effective date: the third quarter of 2025 is after them, the second before.
const ACT_DAY: &str = "2025-07-01";

async fn api(client: &StaffClient, path: &str, status: u16) -> Value {
    let response = client.get(path).await;
    let got = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn page(client: &StaffClient, path: &str, status: u16) -> String {
    let response = client.get(path).await;
    let got = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{path}: {}", html_text(&body));
    body
}

/// A made-up unit under `parent`, returns its id.
async fn unit(app: &TestApp, parent: i32, code: &str, name: &str, kind: &str) -> i32 {
    app.sql()
        .await
        .query_one(
            "INSERT INTO units (parent_id, code, name, kind) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&parent, &code, &name, &kind],
        )
        .await
        .unwrap()
        .get(0)
}

/// `count` responses of `unit` on Vietnam's day `day` (YYYY-MM-DD), every criterion `score`.
async fn responses(app: &TestApp, unit: i32, day: &str, score: i16, count: usize) {
    let sql = app.sql().await;
    let version: i32 = sql
        .query_one(
            "SELECT id FROM form_versions WHERE form_id = $1 ORDER BY id DESC LIMIT 1",
            &[&FORM],
        )
        .await
        .unwrap()
        .get(0);
    let roles = sql
        .query(
            "SELECT code, section_role FROM form_items
             WHERE form_version_id = $1 AND answer_index IS NOT NULL ORDER BY answer_index",
            &[&version],
        )
        .await
        .unwrap();
    let answers: Vec<Option<i16>> = roles
        .iter()
        .map(|row| {
            let (code, role): (String, String) = (row.get(0), row.get(1));
            match role.as_str() {
                "factor" if code.starts_with("PA") => Some(0),
                "factor" => Some(score),
                _ => None,
            }
        })
        .collect();
    for i in 0..count {
        let at = format!("{day} {:02}:{:02}", 8 + i / 60, i % 60);
        sql.execute(
            "INSERT INTO responses (submission_key, unit_id, form_version_id, channel, submitted_at, answers)
             VALUES (gen_random_uuid(), $1, $2, 'interview', ($3::text::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'), $4)",
            &[&unit, &version, &at, &answers],
        )
        .await
        .unwrap();
    }
}

/// Records an act as the reorganisation pages would: returns its id.
async fn act(app: &TestApp, kind: &str, title: &str, details: &str) -> i32 {
    app.sql()
        .await
        .query_one(
            "INSERT INTO reorganisations (kind, title, legal_basis, effective_date, details)
             VALUES ($1, $2, 'Nghị quyết thử nghiệm 1/2025', $3::text::date, $4::text::jsonb) RETURNING id",
            &[&kind, &title, &ACT_DAY, &details],
        )
        .await
        .unwrap()
        .get(0)
}

async fn lineage(app: &TestApp, act: i32, predecessor: i32, successor: i32, share: Option<i32>) {
    app.sql()
        .await
        .execute(
            "INSERT INTO unit_lineage (reorganisation_id, predecessor_id, successor_id, share_points)
             VALUES ($1, $2, $3, $4)",
            &[&act, &predecessor, &successor, &share],
        )
        .await
        .unwrap();
}

/// Ends `unit` on the act's day; starts `new` on it.
async fn ends(app: &TestApp, unit: i32) {
    app.sql()
        .await
        .execute(
            "UPDATE units SET valid_until = $2::text::date, active = false WHERE id = $1",
            &[&unit, &ACT_DAY],
        )
        .await
        .unwrap();
}

async fn starts(app: &TestApp, unit: i32) {
    app.sql()
        .await
        .execute(
            "UPDATE units SET valid_from = $2::text::date WHERE id = $1",
            &[&unit, &ACT_DAY],
        )
        .await
        .unwrap();
}

/// Expected figures, from the raw responses: (responses, index) of the units weighted as
/// given, on Vietnam's days `from..=to`.
async fn expected(app: &TestApp, weights: &[(i32, f64)], from: &str, to: &str) -> (i64, f64) {
    let units: Vec<i32> = weights.iter().map(|(u, _)| *u).collect();
    let values: Vec<f64> = weights.iter().map(|(_, w)| *w).collect();
    let row = app
        .sql()
        .await
        .query_one(
            "WITH w AS (SELECT * FROM unnest($1::int4[], $2::float8[]) AS w(unit_id, weight)),
                  r AS (
                      SELECT w.weight, r.answers[1] AS code
                      FROM responses r JOIN w ON w.unit_id = r.unit_id
                      WHERE (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                            BETWEEN $3::text::date AND $4::text::date
                  )
             SELECT round(coalesce(sum(weight), 0))::int8,
                    round(coalesce(sum(weight) FILTER (WHERE code = 5), 0))::float8,
                    round(coalesce(sum(weight) FILTER (WHERE code = 2), 0))::float8
             FROM r",
            &[&units, &values, &from, &to],
        )
        .await
        .unwrap();
    let (n, satisfied, not): (i64, f64, f64) = (row.get(0), row.get(1), row.get(2));
    (n, satisfied / (satisfied + not))
}

fn assert_total(label: &str, report: &Value, (n, index): (i64, f64)) {
    assert_eq!(report["total"]["responses"], n, "{label}: {report}");
    let got = report["total"]["index"].as_f64().unwrap();
    assert!((got - index).abs() < 1e-9, "{label}: {got} ≠ {index}");
}

/// The row of `unit` in `report`, wrapped as a report's total (for [`assert_total`]).
fn row_of(report: &Value, unit: i32) -> Value {
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"]["id"] == unit)
        .unwrap_or_else(|| panic!("no row of unit {unit}: {report}"));
    serde_json::json!({ "total": row })
}

fn names(report: &Value) -> Vec<String> {
    report["lineage"]["predecessors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn merges_splits_renames_and_moves_across_a_period_boundary() {
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
    let district = app.unit_id("xuan-loc").await;
    let a = unit(&app, district, "tn.a", "Xã Thử Nghiệm A", "commune").await;
    let b = unit(&app, district, "tn.b", "Xã Thử Nghiệm B", "commune").await;
    let c = unit(&app, district, "tn.c", "Xã Thử Nghiệm C", "commune").await;
    let m = unit(&app, district, "tn.m", "Xã Thử Nghiệm Mới", "commune").await;
    let other = unit(&app, district, "tn.u", "Xã Thử Nghiệm Khác", "commune").await;
    let s = unit(&app, district, "tn.s", "Xã Thử Nghiệm Tách", "commune").await;
    let s1 = unit(&app, district, "tn.s1", "Xã Thử Nghiệm Tách Một", "commune").await;
    let s2 = unit(&app, district, "tn.s2", "Xã Thử Nghiệm Tách Hai", "commune").await;
    let t = unit(&app, district, "tn.t", "Xã Thử Nghiệm Chưa Chia", "commune").await;
    let t1 = unit(&app, district, "tn.t1", "Xã Thử Nghiệm Chia Một", "commune").await;
    let t2 = unit(&app, district, "tn.t2", "Xã Thử Nghiệm Chia Hai", "commune").await;
    let r = unit(&app, district, "tn.r", "Xã Thử Nghiệm Tên Cũ", "commune").await;
    let v = unit(&app, district, "tn.v", "Xã Thử Nghiệm Chuyển", "commune").await;
    let new_district = unit(&app, district, "tn.h", "Huyện Thử Nghiệm", "district").await;

    // Before the acts (the second quarter of 2025, and the third of 2024).
    responses(&app, a, "2025-05-06", 5, 3).await;
    responses(&app, a, "2025-05-07", 2, 1).await;
    responses(&app, a, "2024-08-01", 5, 2).await;
    responses(&app, b, "2025-04-10", 2, 2).await;
    responses(&app, c, "2025-06-30", 5, 4).await;
    responses(&app, other, "2025-05-06", 2, 7).await;
    responses(&app, s, "2025-05-20", 5, 5).await;
    responses(&app, s, "2025-05-21", 2, 5).await;
    responses(&app, t, "2025-05-20", 5, 6).await;
    responses(&app, r, "2025-05-15", 5, 3).await;
    responses(&app, v, "2025-05-15", 2, 3).await;
    // After them.
    responses(&app, m, "2025-07-01", 5, 5).await;
    responses(&app, m, "2025-08-12", 2, 1).await;
    responses(&app, other, "2025-08-12", 5, 2).await;
    responses(&app, s2, "2025-08-01", 5, 3).await;
    responses(&app, t1, "2025-08-01", 5, 3).await;
    responses(&app, r, "2025-08-01", 2, 2).await;
    responses(&app, v, "2025-08-01", 5, 2).await;

    // The acts, as plain SQL: A, B and C merge into the new M; S splits into S1 (60 %) and S2
    // (40 %); T splits without shares; R is renamed; V moves to the new district.
    let merge = act(&app, "merge", "Sáp nhập xã Thử Nghiệm A, B, C", "{}").await;
    for old in [a, b, c] {
        lineage(&app, merge, old, m, None).await;
        ends(&app, old).await;
    }
    starts(&app, m).await;
    let split = act(&app, "split", "Chia tách xã Thử Nghiệm Tách", "{}").await;
    lineage(&app, split, s, s1, Some(6000)).await;
    lineage(&app, split, s, s2, Some(4000)).await;
    ends(&app, s).await;
    let unshared = act(&app, "split", "Chia tách xã Thử Nghiệm Chưa Chia", "{}").await;
    lineage(&app, unshared, t, t1, None).await;
    lineage(&app, unshared, t, t2, None).await;
    ends(&app, t).await;
    let details = format!(
        r#"{{"unit_id": {r}, "from": "Xã Thử Nghiệm Tên Cũ", "to": "Xã Thử Nghiệm Tên Mới"}}"#
    );
    act(&app, "rename", "Đổi tên xã Thử Nghiệm Tên Cũ", &details).await;
    app.sql()
        .await
        .execute(
            "UPDATE units SET name = 'Xã Thử Nghiệm Tên Mới' WHERE id = $1",
            &[&r],
        )
        .await
        .unwrap();
    let details = format!(
        r#"{{"unit_id": {v}, "from_parent_id": {district}, "to_parent_id": {new_district}}}"#
    );
    act(&app, "move", "Chuyển xã Thử Nghiệm Chuyển", &details).await;
    app.sql()
        .await
        .execute(
            "UPDATE units SET parent_id = $2 WHERE id = $1",
            &[&v, &new_district],
        )
        .await
        .unwrap();
    app.settle_rollups().await;

    let admin = app.staff_with_role("qt.lineage", "admin", &[]).await;
    let q2 = "from=2025-04-01&to=2025-06-30";
    let stats = |unit: i32, compared: bool| {
        format!(
            "/api/v1/stats?unit={unit}&{q2}{}",
            if compared {
                "&compared_to=2025-09-30"
            } else {
                ""
            }
        )
    };

    // Merge: M's second quarter, compared with its third, is A + B + C (not the other
    // commune); on its own (not compared) M had nothing then.
    let merged = api(&admin, &stats(m, true), 200).await;
    let want = expected(
        &app,
        &[(a, 1.0), (b, 1.0), (c, 1.0), (m, 1.0)],
        "2025-04-01",
        "2025-06-30",
    )
    .await;
    assert_eq!(want.0, 10);
    assert_total("merge", &merged, want);
    assert_eq!(
        names(&merged),
        ["Xã Thử Nghiệm A", "Xã Thử Nghiệm B", "Xã Thử Nghiệm C"]
    );
    assert_eq!(
        merged["lineage"]["note"],
        "so sánh theo đơn vị trước sắp xếp: Xã Thử Nghiệm A, Xã Thử Nghiệm B, Xã Thử Nghiệm C"
    );
    let own = api(&admin, &stats(m, false), 200).await;
    assert_eq!(own["total"]["responses"], 0);
    assert!(own["lineage"].is_null(), "{own}");
    // The third quarter itself is M's own: no act after its start.
    let later = api(
        &admin,
        &format!("/api/v1/stats?unit={m}&from=2025-07-01&to=2025-09-30&compared_to=2025-09-30"),
        200,
    )
    .await;
    assert_total(
        "after the merge",
        &later,
        expected(&app, &[(m, 1.0)], "2025-07-01", "2025-09-30").await,
    );
    assert!(later["lineage"].is_null(), "{later}");
    // The district: its own total leaves out the communes that ended (no longer its rows);
    // compared by lineage, each response of the quarter counts once, whichever unit it went
    // to (the split without shares does not matter: both parts are in the district).
    let whole = api(&admin, &stats(district, true), 200).await;
    let plain = api(&admin, &stats(district, false), 200).await;
    let everyone: Vec<(i32, f64)> = [district, a, b, c, m, other, s, s1, s2, t, t1, t2, r, v]
        .into_iter()
        .chain([new_district])
        .map(|u| (u, 1.0))
        .collect();
    let all = expected(&app, &everyone, "2025-04-01", "2025-06-30").await;
    assert_eq!(all.0, 39);
    assert_total("the district", &whole, all);
    assert_eq!(plain["total"]["responses"], 13);
    // Its rows, each regrouped on its own (what the workbook's "Chỉ số kỳ trước" reads): the
    // merged commune is A + B + C, each part of the split its share, the renamed one its own
    // under its former name; the parts of the split without shares fall in different rows,
    // so they cannot be compared (empty, saying why), although the total could.
    let merged_row = row_of(&whole, m);
    assert_total(
        "the merged row",
        &merged_row,
        expected(
            &app,
            &[(a, 1.0), (b, 1.0), (c, 1.0), (m, 1.0)],
            "2025-04-01",
            "2025-06-30",
        )
        .await,
    );
    assert_eq!(
        merged_row["total"]["lineage"]["note"],
        "so sánh theo đơn vị trước sắp xếp: Xã Thử Nghiệm A, Xã Thử Nghiệm B, Xã Thử Nghiệm C"
    );
    assert_total(
        "the row of the split's 40 %",
        &row_of(&whole, s2),
        expected(&app, &[(s, 0.4), (s2, 1.0)], "2025-04-01", "2025-06-30").await,
    );
    assert_total(
        "the row of the split's 60 %",
        &row_of(&whole, s1),
        expected(&app, &[(s, 0.6), (s1, 1.0)], "2025-04-01", "2025-06-30").await,
    );
    for part in [t1, t2] {
        let refused = row_of(&whole, part);
        assert_eq!(refused["total"]["responses"], 0, "{refused}");
        assert!(refused["total"]["index"].is_null(), "{refused}");
        assert!(
            refused["total"]["lineage"]["refused"]
                .as_str()
                .unwrap()
                .contains("«Chia tách xã Thử Nghiệm Chưa Chia»"),
            "{refused}"
        );
    }
    let renamed_row = row_of(&whole, r);
    assert_total(
        "the renamed row",
        &renamed_row,
        expected(&app, &[(r, 1.0)], "2025-04-01", "2025-06-30").await,
    );
    assert_eq!(
        renamed_row["total"]["lineage"]["note"],
        "so sánh theo đơn vị trước sắp xếp: Xã Thử Nghiệm Tên Cũ"
    );
    // A row no act touched is its own, and says nothing.
    let untouched = row_of(&whole, other);
    assert_total(
        "an untouched row",
        &untouched,
        expected(&app, &[(other, 1.0)], "2025-04-01", "2025-06-30").await,
    );
    assert!(untouched["total"].get("lineage").is_none(), "{untouched}");
    // Not compared, no row says anything.
    assert!(
        plain["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("lineage").is_none()),
        "{plain}"
    );

    // Split with shares: S2 gets 40 % of S (rounded), S1 60 %.
    let split2 = api(&admin, &stats(s2, true), 200).await;
    assert_total(
        "split 40 %",
        &split2,
        expected(&app, &[(s, 0.4), (s2, 1.0)], "2025-04-01", "2025-06-30").await,
    );
    assert_eq!(split2["total"]["responses"], 4);
    assert_eq!(names(&split2), ["Xã Thử Nghiệm Tách"]);
    let split1 = api(&admin, &stats(s1, true), 200).await;
    assert_total(
        "split 60 %",
        &split1,
        expected(&app, &[(s, 0.6), (s1, 1.0)], "2025-04-01", "2025-06-30").await,
    );

    // Split without shares: refused, naming the act.
    let refused = api(&admin, &stats(t1, true), 400).await;
    assert_eq!(refused["parameter"], "compared_to", "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("«Chia tách xã Thử Nghiệm Chưa Chia»"),
        "{refused}"
    );

    // Rename: the figures are the unit's own, said with its former name.
    let renamed = api(&admin, &stats(r, true), 200).await;
    assert_total(
        "rename",
        &renamed,
        expected(&app, &[(r, 1.0)], "2025-04-01", "2025-06-30").await,
    );
    assert_eq!(
        renamed["lineage"]["note"],
        "so sánh theo đơn vị trước sắp xếp: Xã Thử Nghiệm Tên Cũ"
    );
    // Move: the moved commune's history follows it to its new district.
    let moved = api(&admin, &stats(new_district, false), 200).await;
    assert_total(
        "move",
        &moved,
        expected(&app, &[(v, 1.0)], "2025-04-01", "2025-06-30").await,
    );

    // The comparison page, by periods: M's second quarter regrouped, said so; the third its own.
    let html = page(
        &admin,
        &format!(
            "/staff/stats/compare?unit={m}&periods=2025-q2&periods=2025-q3&year=2025&form={FORM}"
        ),
        200,
    )
    .await;
    let text = html_text(&html);
    assert!(
        text.contains(
            "(so sánh theo đơn vị trước sắp xếp: Xã Thử Nghiệm A, Xã Thử Nghiệm B, Xã Thử Nghiệm C)"
        ),
        "{text}"
    );
    assert!(text.contains("Quý II/2025"), "{text}");
    // Without shares: the page refuses with the act named, and shows no figures.
    let html = page(
        &admin,
        &format!(
            "/staff/stats/compare?unit={t1}&periods=2025-q2&periods=2025-q3&year=2025&form={FORM}"
        ),
        422,
    )
    .await;
    let text = html_text(&html);
    assert!(
        text.contains("«Chia tách xã Thử Nghiệm Chưa Chia»"),
        "{text}"
    );
    assert!(!html.contains("id=\"bang-so-sanh\""));

    // The unit page of M in the third quarter: the quarter before is A + B + C, said so; the
    // trend's months before July too.
    let html = page(
        &admin,
        &format!("/staff/stats/units/{m}?year=2025&period=q3&form={FORM}"),
        200,
    )
    .await;
    let text = html_text(&html);
    assert!(
        text.contains("so sánh theo đơn vị trước sắp xếp: Xã Thử Nghiệm A, Xã Thử Nghiệm B"),
        "{text}"
    );
    let changes = html
        .split("id=\"bang-thay-doi\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    assert!(
        changes.contains("so sánh theo đơn vị trước sắp xếp"),
        "{changes}"
    );
    let trend = html
        .split("id=\"bang-xu-huong\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    let may = trend.split("T5").nth(1).unwrap();
    let may = html_text(may.split("</tr>").next().unwrap());
    // A's five and C's none in May: 3 + 1 of A (B in April, C on 30 June).
    assert!(may.contains('4'), "{may}");
    assert!(may.contains("so sánh theo đơn vị trước sắp xếp"), "{may}");
    // T1's page: the earlier quarter is refused, with the act named.
    let html = page(
        &admin,
        &format!("/staff/stats/units/{t1}?year=2025&period=q3&form={FORM}"),
        200,
    )
    .await;
    let changes = html
        .split("id=\"bang-thay-doi\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    assert!(
        changes.contains("«Chia tách xã Thử Nghiệm Chưa Chia»"),
        "{changes}"
    );

    // A unit account of M sees its predecessors regrouped, never another unit.
    let account = app
        .staff_with_role("cb.thu.nghiem", "unit", &["tn.m"])
        .await;
    let mine = api(&account, &stats(m, true), 200).await;
    assert_eq!(mine["total"]["responses"], merged["total"]["responses"]);
    api(&account, &stats(a, false), 404).await;
    api(&account, &stats(other, true), 404).await;
    page(&account, &format!("/staff/stats/units/{a}"), 404).await;
    let html = page(
        &account,
        &format!(
            "/staff/stats/compare?unit={m}&periods=2025-q2&periods=2025-q3&year=2025&form={FORM}"
        ),
        200,
    )
    .await;
    assert!(html_text(&html).contains("so sánh theo đơn vị trước sắp xếp"));

    // The workbook of the district's third quarter: "Chỉ số kỳ trước" of each row is the
    // second quarter regrouped as the API's rows are, and the note says which rows.
    let workbook = district_workbook(&app, "2025-q3").await;
    let previous = |name: &str| workbook.previous_index(name);
    let merged_index = expected(
        &app,
        &[(a, 1.0), (b, 1.0), (c, 1.0), (m, 1.0)],
        "2025-04-01",
        "2025-06-30",
    )
    .await
    .1;
    let got = previous("Xã Thử Nghiệm Mới").expect("the merged row's previous index");
    assert!((got - merged_index).abs() < 1e-9, "{got} ≠ {merged_index}");
    let share = expected(&app, &[(s, 0.4), (s2, 1.0)], "2025-04-01", "2025-06-30")
        .await
        .1;
    let got = previous("Xã Thử Nghiệm Tách Hai").expect("the split row's previous index");
    assert!((got - share).abs() < 1e-9, "{got} ≠ {share}");
    assert_eq!(previous("Xã Thử Nghiệm Chia Một"), None);
    assert!(
        workbook.note.contains(
            "Kỳ trước của Xã Thử Nghiệm Mới: so sánh theo đơn vị trước sắp xếp: Xã Thử Nghiệm A, \
             Xã Thử Nghiệm B, Xã Thử Nghiệm C."
        ),
        "{}",
        workbook.note
    );
    assert!(
        workbook
            .note
            .contains("Kỳ trước của Xã Thử Nghiệm Chia Một: Không so sánh"),
        "{}",
        workbook.note
    );
}

/// The sheet "Tổng hợp" of the district's workbook for `period` of 2025: each row's "Chỉ số
/// kỳ trước" by unit name, and the note above the table.
struct Summary {
    previous: Vec<(String, Option<f64>)>,
    note: String,
}

impl Summary {
    fn previous_index(&self, name: &str) -> Option<f64> {
        self.previous
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no row {name}: {:?}", self.previous))
            .1
    }
}

async fn district_workbook(app: &TestApp, period: &str) -> Summary {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    use sipas::export::{self, ExportFormat, SpecRequest, UnitRef};
    let mut conn = app.pool.get().await.unwrap();
    let spec = export::ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        sipas::auth::Scope::All,
        &SpecRequest {
            year: 2025,
            period: Some(period.into()),
            unit: Some(UnitRef::Code("xuan-loc".into())),
            ..SpecRequest::default()
        },
    )
    .await
    .unwrap();
    drop(conn);
    let dir = common::TempDir::new("lineage-workbook");
    let path = app.export(&spec, ExportFormat::Xlsx, &dir).await;
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let sheet = book.worksheet_range("Tổng hợp").unwrap();
    let header = export::xlsx::HEADER_ROW as usize;
    let text = |row: usize, col: usize| match sheet.get((row, col)) {
        Some(Data::String(s)) => s.clone(),
        _ => String::new(),
    };
    let width = sheet.width();
    let column = (0..width)
        .find(|c| text(header, *c) == "Chỉ số kỳ trước")
        .expect("the column of the previous index");
    let note = (0..header)
        .flat_map(|r| (0..width).map(move |c| (r, c)))
        .map(|(r, c)| text(r, c))
        .filter(|t| t.starts_with("Kỳ trước:"))
        .collect::<Vec<_>>()
        .join(" ");
    let previous = (header + 1..sheet.height())
        .map(|r| {
            let value = match sheet.get((r, column)) {
                Some(Data::Float(f)) => Some(*f),
                _ => None,
            };
            (text(r, 1), value)
        })
        .collect();
    Summary { previous, note }
}

/// The raw data keeps the unit a response was given to (`unit_code`) and says today's unit(s)
/// (`unit_code_now`): the merged unit, both parts of a split, the unit itself when it remains.
#[tokio::test]
async fn the_raw_data_keeps_the_unit_and_names_todays_successor() {
    use sipas::auth::Scope;
    use sipas::export::{ExportFormat, ExportSpec, SpecRequest};

    let app = TestApp::spawn().await;
    let district = app.unit_id("xuan-loc").await;
    let a = unit(&app, district, "tn.a", "Xã Thử Nghiệm A", "commune").await;
    let m = unit(&app, district, "tn.m", "Xã Thử Nghiệm Mới", "commune").await;
    let s = unit(&app, district, "tn.s", "Xã Thử Nghiệm Tách", "commune").await;
    let s1 = unit(&app, district, "tn.s1", "Xã Thử Nghiệm Tách Một", "commune").await;
    let s2 = unit(&app, district, "tn.s2", "Xã Thử Nghiệm Tách Hai", "commune").await;
    let kept = unit(&app, district, "tn.k", "Xã Thử Nghiệm Còn", "commune").await;
    responses(&app, a, "2025-05-06", 5, 1).await;
    responses(&app, s, "2025-05-06", 5, 1).await;
    responses(&app, kept, "2025-05-06", 2, 1).await;
    responses(&app, m, "2025-08-06", 2, 1).await;
    let merge = act(&app, "merge", "Sáp nhập thử nghiệm", "{}").await;
    lineage(&app, merge, a, m, None).await;
    ends(&app, a).await;
    let split = act(&app, "split", "Chia tách thử nghiệm", "{}").await;
    lineage(&app, split, s, s1, Some(5000)).await;
    lineage(&app, split, s, s2, Some(5000)).await;
    ends(&app, s).await;

    let mut conn = app.pool.get().await.unwrap();
    let spec = ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        Scope::All,
        &SpecRequest {
            year: 2025,
            ..SpecRequest::default()
        },
    )
    .await
    .unwrap();
    drop(conn);
    let dir = common::TempDir::new("lineage-raw");
    let path = app.export(&spec, ExportFormat::Csv, &dir).await;
    let bytes = std::fs::read(&path).unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let now = header.iter().position(|h| h == "unit_code_now").unwrap();
    let unit_col = header.iter().position(|h| h == "unit_code").unwrap();
    let mut pairs: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[unit_col].to_string(), r[now].to_string())
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("tn.a".to_string(), "tn.m".to_string()),
            ("tn.k".into(), "tn.k".into()),
            ("tn.m".into(), "tn.m".into()),
            ("tn.s".into(), "tn.s1, tn.s2".into()),
        ]
    );

    // The SPSS syntax declares and labels the new variable.
    let path = app.export(&spec, ExportFormat::Sps, &dir).await;
    let syntax = std::fs::read_to_string(&path).unwrap();
    assert!(syntax.contains("unit_code_now"), "{syntax}");
    assert!(syntax.contains("Mã đơn vị hiện nay"), "{syntax}");
}
