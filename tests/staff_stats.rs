//! The statistics pages of the staff side ("Kết quả khảo sát"): the district overview, a
//! unit's page and the comparison page, read through HTTP as a staff member's browser would.
//!
//! Data: 2,000 synthetic responses of 2025 from the demo generator (`sipas::demo`), with real
//! differences between units. Every figure a page shows is recomputed here INDEPENDENTLY,
//! straight from `responses` with SQL (criterion index = share of 4 and 5 among the valid
//! answers 1..5; factor = mean of its criteria; unit = mean of its factors; forms = responses)
//! and compared to the page's data table at the published precision (two decimals of a
//! percent). A second fixture submits a handful of ballots through the real citizen path this
//! year to check ranks with ties.

use crate::common;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use common::{StaffClient, TestApp, full_answers, with_hidden};

const FORM: &str = "sipas-1001-dich-vu";
const QUICK_FORM: &str = "danh-gia-mot-cua";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const XUAN_HIEP: &str = "xuan-loc.xuan-hiep";
const XUAN_TAM: &str = "xuan-loc.xuan-tam";
const BAO_HOA: &str = "xuan-loc.bao-hoa";
const GIA_RAY: &str = "xuan-loc.gia-ray";
const DISTRICT_OFFICE: &str = "xuan-loc.van-phong-hdnd-ubnd";
const YEAR: i32 = 2025;
const RESPONSES: u64 = 2_000;

// ---------------------------------------------------------------------------------------------
// Reading the pages

use crate::common::html_text as text;

/// The `<table id="...">` of a page.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<table class=\"data\" id=\"{id}\""))
        .or_else(|| html.find(&format!("id=\"{id}\"")))
        .unwrap_or_else(|| panic!("no table {id} in the page:\n{}", text(html)));
    let end = html[start..].find("</table>").unwrap() + start;
    &html[start..end]
}

/// The body rows of a table, each as the texts of its cells (`th` and `td`).
fn rows(table: &str) -> Vec<Vec<String>> {
    // Every body of the table (a ranking has the ranked units, then the unranked ones under a
    // heading row of their own, which is no unit's row).
    let body = table.find("<tbody").map(|i| &table[i..]).unwrap_or(table);
    let body = &body[..body.rfind("</tbody>").unwrap_or(body.len())];
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

/// An index as published: a percentage with two decimals and a decimal comma.
fn published(index: f64) -> String {
    let rounded = (index * 10_000.0).round() / 100.0;
    format!("{rounded:.2}%").replace('.', ",")
}

/// "1.234".
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

// ---------------------------------------------------------------------------------------------
// The independent figures

/// What to recompute.
#[derive(Debug, Clone)]
struct Range {
    form: &'static str,
    from: NaiveDate,
    to: NaiveDate,
    channel: Option<&'static str>,
}

impl Range {
    fn year(year: i32) -> Range {
        Range {
            form: FORM,
            from: NaiveDate::from_ymd_opt(year, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(year, 12, 31).unwrap(),
            channel: None,
        }
    }
}

/// One unit's figures straight from `responses`: (index, forms).
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    name: String,
    index: Option<f64>,
    forms: i64,
}

/// The responses of `range` (with the units below each row unit) that count, as a CTE: a
/// response counts unless an admin excluded it, or, without an admin's decision, one of its
/// fraud signals is strong or two different weak signals other than straight-lining coincide
/// (issue 6), straight from `response_flags` and the decisions.
const RANGE_CTE: &str = "
    r AS (
        SELECT r.id, r.unit_id, r.answers, r.form_version_id
        FROM responses r JOIN form_versions fv ON fv.id = r.form_version_id
        WHERE fv.form_id = $1
          AND r.submitted_at >= ($2::text::date)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
          AND r.submitted_at < ($3::text::date + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
          AND ($4::text IS NULL OR r.channel = $4)
          AND NOT coalesce(
            (SELECT v.decision = 'exclude' FROM response_reviews v
             WHERE v.response_id = r.id AND v.decision IS NOT NULL),
            EXISTS (SELECT 1 FROM response_flags f WHERE f.response_id = r.id AND f.severity = 'strong')
            OR (SELECT count(DISTINCT f.reason) FROM response_flags f
                WHERE f.response_id = r.id AND f.severity = 'weak' AND f.reason <> 'straight_line') >= 2)
    ),
    answers AS (
        SELECT r.unit_id, fi.section_code, fi.code, a.value
        FROM r
        CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY AS a (value, idx)
        JOIN form_items fi ON fi.form_version_id = r.form_version_id AND fi.answer_index = a.idx
        WHERE fi.section_role = 'factor' AND a.value >= 1
    )";

/// The SIPAS index and forms of each child of `parent` (with its own sub-units), by the
/// official rule, computed by PostgreSQL from the stored answers.
async fn expected_children(app: &TestApp, parent: &str, range: &Range) -> Vec<Expected> {
    let sql = format!(
        "WITH RECURSIVE tree AS (
             SELECT u.id AS row_id, u.id FROM units u
             WHERE u.parent_id = (SELECT id FROM units WHERE code = $5) AND u.active
             UNION ALL
             SELECT tree.row_id, c.id FROM units c JOIN tree ON c.parent_id = tree.id
         ), {RANGE_CTE},
         positive AS (
             SELECT s.value = ANY (ARRAY[4, 5]::int2[]) AS satisfied, t.row_id, s.section_code, s.code
             FROM answers s JOIN tree t ON t.id = s.unit_id
         ),
         criteria AS (
             SELECT row_id, section_code, code, avg(satisfied::int::float8) AS idx
             FROM positive GROUP BY row_id, section_code, code
         ),
         factors AS (SELECT row_id, section_code, avg(idx) AS idx FROM criteria GROUP BY 1, 2),
         units_index AS (SELECT row_id, avg(idx) AS idx FROM factors GROUP BY 1),
         forms AS (
             SELECT t.row_id, count(*) AS n FROM r JOIN tree t ON t.id = r.unit_id GROUP BY 1
         )
         SELECT u.name, ui.idx, coalesce(f.n, 0)
         FROM units u
         LEFT JOIN units_index ui ON ui.row_id = u.id
         LEFT JOIN forms f ON f.row_id = u.id
         WHERE u.parent_id = (SELECT id FROM units WHERE code = $5) AND u.active
         ORDER BY u.name"
    );
    app.sql()
        .await
        .query(
            &sql,
            &[
                &range.form,
                &range.from.to_string(),
                &range.to.to_string(),
                &range.channel,
                &parent,
            ],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| Expected {
            name: row.get(0),
            index: row.get(1),
            forms: row.get(2),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures

struct Fixture {
    app: TestApp,
    admin: StaffClient,
}

/// The demo district with 2,000 synthetic responses over 2025.
async fn generated() -> Fixture {
    let app = TestApp::spawn().await;
    {
        let mut conn = app.pool.get().await.unwrap();
        let generated = sipas::demo::generate_responses(
            &mut conn,
            &app.forms,
            &sipas::demo::ResponseSpec {
                seed: 7,
                count: RESPONSES,
                first: 0,
                from: NaiveDate::from_ymd_opt(YEAR, 1, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(YEAR, 12, 31).unwrap(),
            },
        )
        .await
        .unwrap();
        assert_eq!(generated.inserted, RESPONSES);
    }
    app.settle_rollups().await;
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    Fixture { app, admin }
}

async fn page(client: &StaffClient, path: &str, status: u16) -> String {
    let response = client.get(path).await;
    let got = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{path}:\n{}", text(&body));
    body
}

/// A row of the district as the overview's ranking table shows it, by header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    rank: String,
    index: String,
    interval: String,
    forms: String,
    target: Option<String>,
    flag: String,
}

/// The ranking table `id` of a page, by unit name, in the page's order.
fn shown(html: &str, id: &str) -> Vec<(String, Shown)> {
    let t = table(html, id);
    let head = &t[..t.find("</thead>").unwrap()];
    let headers: Vec<String> = head
        .split("<th ")
        .skip(1)
        .map(|h| text(&h[h.find('>').unwrap() + 1..h.find("</th>").unwrap()]))
        .collect();
    let at = |name: &str| headers.iter().position(|h| h == name);
    rows(t)
        .into_iter()
        .map(|cells| {
            assert_eq!(cells.len(), headers.len(), "{cells:?} against {headers:?}");
            let get = |name: &str| cells[at(name).unwrap()].clone();
            (
                get("Đơn vị"),
                Shown {
                    rank: get("Hạng"),
                    index: get("Chỉ số"),
                    interval: get("KTC 95%"),
                    forms: get("Số phiếu"),
                    target: at("Chỉ tiêu").map(|i| cells[i].clone()),
                    flag: get("Ghi chú"),
                },
            )
        })
        .collect()
}

/// The competition rank ("1, 1, 3") of each published value, best first, among the units
/// with enough sample (at least 30 forms and the target): the others are listed unranked ("–").
fn expected_ranks(
    expected: &[Expected],
    targets: &BTreeMap<String, i64>,
) -> BTreeMap<String, String> {
    let enough = |e: &Expected| e.forms >= 30 && targets.get(&e.name).is_none_or(|t| e.forms >= *t);
    expected
        .iter()
        .map(|e| {
            let rank = e.index.filter(|_| enough(e)).map(|x| {
                let mine = published_value(x);
                1 + expected
                    .iter()
                    .filter(|o| enough(o) && o.index.is_some_and(|y| published_value(y) > mine))
                    .count()
            });
            (
                e.name.clone(),
                rank.map(|r| r.to_string())
                    .unwrap_or_else(|| "–".to_string()),
            )
        })
        .collect()
}

fn published_value(index: f64) -> f64 {
    (index * 10_000.0).round() / 100.0
}

/// Checks a ranking table against the independent figures: every unit, its index, its forms,
/// its rank (ties shared) and its flag (below 30 forms, or below `targets`).
fn check_ranking(
    html: &str,
    expected: &[Expected],
    targets: &BTreeMap<String, i64>,
    goals: &[&str],
) {
    let shown = shown(html, "bang-xep-hang");
    let ranks = expected_ranks(expected, targets);
    assert_eq!(
        shown.len(),
        expected.len(),
        "one row per unit: {:?}",
        shown.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for e in expected {
        let (_, row) = shown
            .iter()
            .find(|(name, _)| *name == e.name)
            .unwrap_or_else(|| panic!("{} is not in the table", e.name));
        assert_eq!(
            row.index,
            e.index.map_or("—".to_string(), published),
            "index of {}",
            e.name
        );
        assert_eq!(row.forms, count_text(e.forms), "forms of {}", e.name);
        assert_eq!(row.rank, ranks[&e.name], "rank of {}", e.name);
        let target = targets.get(&e.name).copied();
        let flag = if e.forms == 0 {
            "Chưa có phiếu"
        } else if e.forms < 30 {
            "Chưa đủ mẫu (< 30 phiếu)"
        } else if target.is_some_and(|t| e.forms < t) {
            "Chưa đủ mẫu (dưới chỉ tiêu)"
        } else {
            ""
        };
        assert_eq!(row.flag, flag, "flag of {}", e.name);
        if let Some(t) = target {
            assert_eq!(row.target.as_deref(), Some(count_text(t).as_str()));
        }
        if e.forms >= 2 {
            assert!(row.interval.contains(" – "), "{}: {row:?}", e.name);
        }
    }
    // The table is in rank order, the unranked units (short of sample, without forms) last,
    // under their heading.
    let order: Vec<u64> = shown
        .iter()
        .map(|(_, r)| r.rank.parse().unwrap_or(u64::MAX))
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    // The chart beside it: one bar per unit with forms, coloured by reliability, and a
    // "Chưa có phiếu" for each unit without.
    let svg = &html[html
        .find("<svg class=\"chart\" id=\"bieu-do-xep-hang\"")
        .unwrap()..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    let enough = |e: &Expected| e.forms >= 30 && targets.get(&e.name).is_none_or(|t| e.forms >= *t);
    let with_forms: Vec<&Expected> = expected.iter().filter(|e| e.forms > 0).collect();
    assert_eq!(
        svg.matches("class=\"bar reliable\"").count(),
        with_forms.iter().filter(|e| enough(e)).count()
    );
    assert_eq!(
        svg.matches("class=\"bar unreliable\"").count(),
        with_forms.iter().filter(|e| !enough(e)).count()
    );
    assert_eq!(
        svg.matches(">Chưa có phiếu</text>").count(),
        expected.len() - with_forms.len()
    );
    for e in &with_forms {
        let value = published(e.index.unwrap());
        assert!(
            svg.contains(&format!(">{value}</text>")),
            "{value} in the chart"
        );
    }
    // The goals of the plan the selection falls under (without a plan, the national
    // programme's: Nghị quyết 76/NQ-CP), each a line with its label, and no other.
    for goal in goals {
        assert!(svg.contains(&format!(">{goal}</text>")), "goal {goal}");
    }
    assert_eq!(svg.matches("class=\"target-label\"").count(), goals.len());
    assert!(!svg.contains("2020"), "no outdated goal");
}

/// The goals drawn where no plan applies, or a plan made by the service has not changed them.
const NATIONAL: &[&str] = &["Mục tiêu 2025: 80%", "Mục tiêu 2030: 90%"];

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[tokio::test]
async fn the_overview_shows_the_figures_of_the_responses() {
    let f = generated().await;
    let district = f.app.unit_id("xuan-loc").await;
    let none = BTreeMap::new();

    // The year, every unit of the district: the default unit is the district (the province
    // has a single child).
    let html = page(&f.admin, &format!("/staff/stats?year={YEAR}"), 200).await;
    let expected = expected_children(&f.app, "xuan-loc", &Range::year(YEAR)).await;
    assert_eq!(expected.len(), 28);
    assert!(expected.iter().any(|e| e.forms >= 30) && expected.iter().any(|e| e.forms < 30));
    check_ranking(&html, &expected, &none, NATIONAL);
    // The district's total in the headline, computed the same way one level up.
    let total = expected_children(&f.app, "dong-nai", &Range::year(YEAR)).await;
    assert_eq!(total.len(), 1);
    let headline = text(&html[html.find("<div class=\"cards\">").unwrap()..]);
    assert!(
        headline.starts_with(&format!(
            "{} Chỉ số SIPAS Khoảng tin cậy 95%: ",
            published(total[0].index.unwrap())
        )),
        "{headline}"
    );
    assert!(headline.contains(&format!("{} phiếu khảo sát", count_text(total[0].forms))));
    assert!(text(&html).contains("UBND huyện Xuân Lộc · Năm 2025 (01/01/2025 – 31/12/2025)"));
    // The same page when the district is chosen.
    let chosen = page(
        &f.admin,
        &format!("/staff/stats?year={YEAR}&unit={district}"),
        200,
    )
    .await;
    assert_eq!(
        shown(&chosen, "bang-xep-hang"),
        shown(&html, "bang-xep-hang")
    );
    // The filter form shows what applies: the year and the default form.
    assert!(html.contains("name=\"year\" value=\"2025\""));
    assert!(html.contains(&format!("<option value=\"{FORM}\" selected>")));
    // Links to each unit's page (with the filters) and to the comparison.
    let bac = f.app.unit_id(XUAN_BAC).await;
    assert!(html.contains(&format!(
        "href=\"/staff/stats/units/{bac}?year=2025&amp;form={FORM}\""
    )));
    assert!(html.contains("href=\"/staff/stats/compare?year=2025"));
    // The latest comments of the district's units in the year, newest first, with the link.
    // The five latest comments of the district's units in the year, newest first, each linked.
    let latest: Vec<String> = f
        .app
        .sql()
        .await
        .query(
            "SELECT t.response_id, t.item_id FROM response_texts t \
             JOIN responses r ON r.id = t.response_id \
             WHERE r.submitted_at < '2026-01-01 00:00+07' \
             ORDER BY r.submitted_at DESC, t.response_id DESC, t.item_id DESC LIMIT 5",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "/staff/comments/{}/{}",
                r.get::<_, i64>(0),
                r.get::<_, i32>(1)
            )
        })
        .collect();
    assert_eq!(latest.len(), 5);
    let section = &html[html.find("<section class=\"latest-comments\">").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    let links: Vec<&str> = section
        .split("<a href=\"")
        .skip(1)
        .map(|l| &l[..l.find('"').unwrap()])
        .filter(|l| !l.contains('?'))
        .collect();
    assert_eq!(links, latest);
    assert_eq!(section.matches("<blockquote>").count(), 5);
    assert!(html.contains(&format!(
        "href=\"/staff/comments?unit={district}&amp;from=01%2F01%2F2025&amp;to=31%2F12%2F2025\""
    )));

    // Filters: a quarter, a range of days, a channel, a kind of unit, a unit.
    let q2 = Range {
        from: day(YEAR, 4, 1),
        to: day(YEAR, 6, 30),
        ..Range::year(YEAR)
    };
    let html = page(
        &f.admin,
        &format!("/staff/stats?year={YEAR}&period=q2"),
        200,
    )
    .await;
    check_ranking(
        &html,
        &expected_children(&f.app, "xuan-loc", &q2).await,
        &none,
        NATIONAL,
    );
    assert!(text(&html).contains("Quý II/2025 (01/04/2025 – 30/06/2025)"));
    let days = Range {
        from: day(YEAR, 3, 10),
        to: day(YEAR, 4, 15),
        ..Range::year(YEAR)
    };
    let html = page(
        &f.admin,
        &format!("/staff/stats?year={YEAR}&period=custom&from=10/03/2025&to=2025-04-15"),
        200,
    )
    .await;
    check_ranking(
        &html,
        &expected_children(&f.app, "xuan-loc", &days).await,
        &none,
        NATIONAL,
    );
    let paper = Range {
        channel: Some("paper"),
        ..Range::year(YEAR)
    };
    let html = page(
        &f.admin,
        &format!("/staff/stats?year={YEAR}&channel=paper"),
        200,
    )
    .await;
    let expected_paper = expected_children(&f.app, "xuan-loc", &paper).await;
    assert!(expected_paper.iter().map(|e| e.forms).sum::<i64>() > 100);
    check_ranking(&html, &expected_paper, &none, NATIONAL);
    let html = page(
        &f.admin,
        &format!("/staff/stats?year={YEAR}&kind=commune"),
        200,
    )
    .await;
    let communes: Vec<Expected> = expected
        .iter()
        .filter(|e| e.name.starts_with("UBND xã"))
        .cloned()
        .collect();
    assert_eq!(communes.len(), 14);
    check_ranking(&html, &communes, &none, NATIONAL);
    let html = page(
        &f.admin,
        &format!("/staff/stats?year={YEAR}&unit={bac}"),
        200,
    )
    .await;
    let rows = shown(&html, "bang-xep-hang");
    let bac_expected = expected
        .iter()
        .find(|e| e.name == "UBND xã Xuân Bắc")
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "UBND xã Xuân Bắc");
    assert_eq!(rows[0].1.index, published(bac_expected.index.unwrap()));
    // No responses in 2024: every unit is listed without forms, and no bar is drawn.
    let html = page(&f.admin, "/staff/stats?year=2024", 200).await;
    let empty = expected_children(&f.app, "xuan-loc", &Range::year(2024)).await;
    assert!(empty.iter().all(|e| e.forms == 0));
    check_ranking(&html, &empty, &none, NATIONAL);
    assert!(!html.contains("class=\"bar "));
}

/// A plan of 2025 for the district with a period (Quý II) and targets: Gia Ray's target is
/// above its forms, the district office's below.
async fn plan_with_targets(app: &TestApp) -> (i32, i32) {
    let db = app.sql().await;
    let district = app.unit_id("xuan-loc").await;
    let plan: i32 = db
        .query_one(
            "INSERT INTO survey_plans (unit_id, year, title, form_id) \
             VALUES ($1, 2025, 'Kế hoạch khảo sát năm 2025', $2) RETURNING id",
            &[&district, &FORM],
        )
        .await
        .unwrap()
        .get(0);
    let period: i32 = db
        .query_one(
            "INSERT INTO plan_periods (plan_id, name, starts_on, ends_on) \
             VALUES ($1, 'Quý II', '2025-04-01', '2025-06-30') RETURNING id",
            &[&plan],
        )
        .await
        .unwrap()
        .get(0);
    for (code, target) in [(GIA_RAY, 1000), (DISTRICT_OFFICE, 10)] {
        let unit = app.unit_id(code).await;
        db.execute(
            "INSERT INTO plan_targets (period_id, unit_id, target) VALUES ($1, $2, $3)",
            &[&period, &unit, &target],
        )
        .await
        .unwrap();
    }
    (plan, period)
}

#[tokio::test]
async fn a_plan_period_gives_the_days_the_targets_and_the_progress() {
    let f = generated().await;
    let (plan, period) = plan_with_targets(&f.app).await;
    // Without a period of the plan: the periods are offered, no progress is shown.
    let html = page(&f.admin, &format!("/staff/stats?year={YEAR}"), 200).await;
    assert!(html.contains(&format!(
        "<option value=\"p{period}\">Quý II (01/04/2025 – 30/06/2025)</option>"
    )));
    assert!(html.contains("Các đợt của Kế hoạch khảo sát năm 2025"));
    assert!(!html.contains("id=\"bang-tien-do\""));

    let html = page(
        &f.admin,
        &format!("/staff/stats?year={YEAR}&period=p{period}"),
        200,
    )
    .await;
    let q2 = Range {
        from: day(YEAR, 4, 1),
        to: day(YEAR, 6, 30),
        ..Range::year(YEAR)
    };
    let expected = expected_children(&f.app, "xuan-loc", &q2).await;
    let gia_ray = expected
        .iter()
        .find(|e| e.name == "UBND thị trấn Gia Ray")
        .unwrap();
    let office = expected
        .iter()
        .find(|e| e.name == "Văn phòng HĐND và UBND huyện")
        .unwrap();
    assert!(gia_ray.forms >= 30 && gia_ray.forms < 1000, "{gia_ray:?}");
    assert!(office.forms >= 30, "{office:?}");
    let targets: BTreeMap<String, i64> = [
        ("UBND thị trấn Gia Ray".to_string(), 1000),
        ("Văn phòng HĐND và UBND huyện".to_string(), 10),
    ]
    .into();
    check_ranking(&html, &expected, &targets, &[]); // a plan written straight into the database has no goals
    let ranked = shown(&html, "bang-xep-hang");
    let row = |name: &str| ranked.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(
        row("UBND thị trấn Gia Ray").flag,
        "Chưa đủ mẫu (dưới chỉ tiêu)"
    );
    assert_eq!(row("Văn phòng HĐND và UBND huyện").flag, "");
    assert!(text(&html).contains("Quý II năm 2025 (01/04/2025 – 30/06/2025)"));
    // Progress against the plan, unit by unit.
    let progress = rows_by_name(table(&html, "bang-tien-do"));
    assert_eq!(
        progress["UBND thị trấn Gia Ray"],
        [
            count_text(gia_ray.forms),
            "1.000".to_string(),
            format!("{:.1} %", gia_ray.forms as f64 / 10.0).replace('.', ","),
            "Chưa đạt".to_string()
        ]
    );
    assert_eq!(progress["Văn phòng HĐND và UBND huyện"][3], "Đạt");
    assert_eq!(progress["UBND xã Xuân Bắc"][3], "Chưa giao chỉ tiêu");
    let all: i64 = expected.iter().map(|e| e.forms).sum();
    assert!(text(&html).contains(&format!(
        "Đã thu {} / 1.010 phiếu theo chỉ tiêu; 1/2 đơn vị được giao chỉ tiêu đã đạt.",
        count_text(all)
    )));
    assert!(html.contains(&format!(
        "href=\"/staff/plans/{plan}/progress?period={period}\""
    )));

    // The plan's period among the periods compared for one unit, with its target.
    let gia_ray_id = f.app.unit_id(GIA_RAY).await;
    let html = page(
        &f.admin,
        &format!(
            "/staff/stats/compare?year={YEAR}&unit={gia_ray_id}&periods=p{period}&periods=2025-q1"
        ),
        200,
    )
    .await;
    assert!(html.contains(&format!("<option value=\"p{period}\" selected>")));
    let compared = rows(table(&html, "bang-so-sanh"));
    assert_eq!(
        compared[0][0],
        "UBND thị trấn Gia Ray – Quý II (01/04/2025 – 30/06/2025)"
    );
    assert_eq!(compared[0][3], count_text(gia_ray.forms));
    assert_eq!(compared[0][4], "Chưa đủ mẫu (dưới chỉ tiêu)");
    assert_eq!(compared[1][0], "UBND thị trấn Gia Ray – Quý I/2025");
    assert_eq!(compared[1][4], "");

    // A period of no plan of that year for the unit: refused, with the form.
    let html = page(
        &f.admin,
        &format!("/staff/stats?year=2024&period=p{period}"),
        422,
    )
    .await;
    assert!(text(&html).contains("Đợt khảo sát đã chọn không thuộc kế hoạch năm 2024"));
}

/// Table rows by their first cell.
fn rows_by_name(table: &str) -> BTreeMap<String, Vec<String>> {
    rows(table)
        .into_iter()
        .map(|mut cells| {
            let name = cells.remove(0);
            (name, cells)
        })
        .collect()
}

/// Per criterion of `unit_code` (with its sub-units): (valid answers, index, not applicable).
async fn expected_items(
    app: &TestApp,
    unit_code: &str,
    range: &Range,
) -> BTreeMap<String, (i64, Option<f64>, i64)> {
    let sql = format!(
        "WITH RECURSIVE tree AS (
             SELECT id FROM units WHERE code = $5
             UNION ALL SELECT c.id FROM units c JOIN tree ON c.parent_id = tree.id
         ), {RANGE_CTE}
         SELECT fi.code,
                count(*) FILTER (WHERE a.value >= 1),
                avg((a.value = ANY (fi_pos.positive))::int::float8) FILTER (WHERE a.value >= 1),
                count(*) FILTER (WHERE a.value = 0)
         FROM r
         CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY AS a (value, idx)
         JOIN form_items fi ON fi.form_version_id = r.form_version_id AND fi.answer_index = a.idx
         CROSS JOIN LATERAL (SELECT CASE WHEN $1 = '{QUICK_FORM}' THEN ARRAY[2, 3]::int2[]
                                          ELSE ARRAY[4, 5]::int2[] END AS positive) fi_pos
         WHERE fi.section_role = 'factor' AND r.unit_id IN (SELECT id FROM tree)
         GROUP BY fi.code"
    );
    app.sql()
        .await
        .query(
            &sql,
            &[
                &range.form,
                &range.from.to_string(),
                &range.to.to_string(),
                &range.channel,
                &unit_code,
            ],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3))))
        .collect()
}

/// The index and forms of `unit_code` per month of `year`, by the official rule.
async fn expected_months(
    app: &TestApp,
    unit_code: &str,
    year: i32,
) -> BTreeMap<u32, (Option<f64>, i64)> {
    let sql = format!(
        "WITH RECURSIVE tree AS (
             SELECT id FROM units WHERE code = $5
             UNION ALL SELECT c.id FROM units c JOIN tree ON c.parent_id = tree.id
         ), {RANGE_CTE},
         months AS (
             SELECT r.id, extract(month FROM r_at.at)::int AS month
             FROM r JOIN responses x ON x.id = r.id
             CROSS JOIN LATERAL (SELECT x.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS at) r_at
             WHERE r.unit_id IN (SELECT id FROM tree)
         ),
         graded AS (
             SELECT m.month, fi.section_code, fi.code, (a.value >= 4)::int::float8 AS ok
             FROM r JOIN months m ON m.id = r.id
             CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY AS a (value, idx)
             JOIN form_items fi ON fi.form_version_id = r.form_version_id AND fi.answer_index = a.idx
             WHERE fi.section_role = 'factor' AND a.value >= 1
         ),
         criteria AS (SELECT month, section_code, code, avg(ok) AS idx FROM graded GROUP BY 1, 2, 3),
         factors AS (SELECT month, section_code, avg(idx) AS idx FROM criteria GROUP BY 1, 2),
         indices AS (SELECT month, avg(idx) AS idx FROM factors GROUP BY 1)
         SELECT m.month, i.idx, count(*) FROM months m LEFT JOIN indices i ON i.month = m.month
         GROUP BY m.month, i.idx"
    );
    let range = Range::year(year);
    app.sql()
        .await
        .query(
            &sql,
            &[
                &range.form,
                &range.from.to_string(),
                &range.to.to_string(),
                &range.channel,
                &unit_code,
            ],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get::<_, i32>(0) as u32, (row.get(1), row.get(2))))
        .collect()
}

#[tokio::test]
async fn a_units_page_shows_its_criteria_trend_changes_and_comments() {
    let f = generated().await;
    let bac = f.app.unit_id(XUAN_BAC).await;
    let q2 = Range {
        from: day(YEAR, 4, 1),
        to: day(YEAR, 6, 30),
        ..Range::year(YEAR)
    };
    let html = page(
        &f.admin,
        &format!("/staff/stats/units/{bac}?year={YEAR}&period=q2"),
        200,
    )
    .await;
    let all = text(&html);
    assert!(all.contains("Kết quả khảo sát: UBND xã Xuân Bắc"));
    // The unit's index, as the overview's row computes it.
    let row = expected_children(&f.app, "xuan-loc", &q2)
        .await
        .into_iter()
        .find(|e| e.name == "UBND xã Xuân Bắc")
        .unwrap();
    assert!(all.contains(&format!(
        "{} Chỉ số SIPAS Khoảng tin cậy 95%",
        published(row.index.unwrap())
    )));
    // Every criterion: valid answers, index, not applicable.
    let items = expected_items(&f.app, XUAN_BAC, &q2).await;
    assert_eq!(items.len(), 19);
    let criteria = rows(table(&html, "bang-tieu-chi"));
    let mut seen = 0;
    for cells in &criteria {
        let Some((n, index, na)) = items.get(&cells[0]) else {
            continue; // a factor's heading row
        };
        seen += 1;
        assert_eq!(cells[2], count_text(*n), "{cells:?}");
        assert_eq!(cells[5], index.map_or("—".into(), published), "{cells:?}");
        assert_eq!(cells[7], count_text(*na), "{cells:?}");
        assert!(cells[6].contains(" – "), "Wilson interval: {cells:?}");
    }
    assert_eq!(seen, 19);
    assert!(
        items["PA1"].2 > 0,
        "the generator answers PA1 “not applicable” often"
    );
    // The stacked bars: one per criterion, with the scale's labels in the legend.
    let svg = &html[html.find("id=\"bieu-do-tieu-chi\"").unwrap()..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    assert_eq!(svg.matches("<g class=\"bar\"").count(), 19);
    for level in [
        "Rất không hài lòng",
        "Không hài lòng",
        "Bình thường",
        "Hài lòng",
        "Rất hài lòng",
    ] {
        assert!(svg.contains(&format!(">{level}</text>")), "{level}");
    }
    // Factors: the mean of their criteria.
    let factors = rows(table(&html, "bang-yeu-to"));
    assert_eq!(factors.len(), 5);
    let tc: Vec<f64> = ["TC1", "TC2", "TC3", "TC4"]
        .iter()
        .map(|c| items[*c].1.unwrap())
        .collect();
    assert_eq!(factors[0][0], "Tiếp cận dịch vụ");
    assert_eq!(factors[0][2], published(tc.iter().sum::<f64>() / 4.0));
    // Expectations and respondents are there.
    assert!(table(&html, "bang-mong-doi").contains("Cải thiện thái độ phục vụ của công chức"));
    assert!(all.contains("Giới tính ("));

    // The trend: the twelve months of 2025, each as computed month by month.
    let months = expected_months(&f.app, XUAN_BAC, YEAR).await;
    let trend = rows(table(&html, "bang-xu-huong"));
    assert_eq!(trend.len(), 12);
    for (m, cells) in (1..=12u32).zip(&trend) {
        assert_eq!(cells[0], format!("T{m}/2025"));
        let (index, forms) = months.get(&m).copied().unwrap_or((None, 0));
        assert_eq!(cells[1], index.map_or("—".into(), published), "month {m}");
        assert_eq!(cells[2], count_text(forms), "month {m}");
    }
    assert!(html.contains(">Tháng (năm 2025)</text>"));
    let quarters = page(
        &f.admin,
        &format!("/staff/stats/units/{bac}?year={YEAR}&period=q2&trend=quarter"),
        200,
    )
    .await;
    let by_quarter = rows(table(&quarters, "bang-xu-huong"));
    assert_eq!(
        by_quarter.iter().map(|c| c[0].as_str()).collect::<Vec<_>>(),
        ["Quý I/2025", "Quý II/2025", "Quý III/2025", "Quý IV/2025"]
    );
    assert_eq!(by_quarter[1][2], count_text(row.forms));

    // Against the quarter before (data) and the same quarter of 2024 (none).
    let changes = rows(table(&html, "bang-thay-doi"));
    assert_eq!(changes.len(), 2);
    assert!(
        changes[0][0].starts_with("Kỳ trước 01/01/2025 – 31/03/2025"),
        "{changes:?}"
    );
    // Conclusions first (issue 17): the row's plain conclusion, the test's statistics folded
    // away in "Chi tiết kiểm định thống kê" (its own table).
    assert!(changes[0][4].starts_with("Kỳ này "), "{changes:?}");
    assert!(
        changes[0][4].ends_with("; khác biệt có ý nghĩa thống kê.")
            || changes[0][4].ends_with("; khác biệt chưa đủ để kết luận."),
        "{changes:?}"
    );
    assert!(!changes[0][4].contains("p ="), "{changes:?}");
    let tests_of_changes = rows(table(&html, "bang-kiem-dinh-thay-doi"));
    assert_eq!(tests_of_changes.len(), 1, "{tests_of_changes:?}");
    assert!(
        tests_of_changes[0][1].contains("điểm phần trăm ("),
        "{tests_of_changes:?}"
    );
    assert!(
        tests_of_changes[0][3].starts_with("Khác biệt"),
        "{tests_of_changes:?}"
    );
    assert!(html.contains("<summary>Chi tiết kiểm định thống kê</summary>"));
    let q1 = Range {
        from: day(YEAR, 1, 1),
        to: day(YEAR, 3, 31),
        ..Range::year(YEAR)
    };
    let q1_row = expected_children(&f.app, "xuan-loc", &q1)
        .await
        .into_iter()
        .find(|e| e.name == "UBND xã Xuân Bắc")
        .unwrap();
    assert_eq!(changes[0][1], published(q1_row.index.unwrap()));
    let points = published_value(row.index.unwrap()) - published_value(q1_row.index.unwrap());
    assert_eq!(
        changes[0][3],
        format!(
            "{}{} điểm phần trăm",
            if points > 0.0 {
                "+"
            } else if points < 0.0 {
                "-"
            } else {
                ""
            },
            decimal2(points.abs())
        )
    );
    assert_eq!(changes[0][2], count_text(q1_row.forms));
    assert!(changes[1][0].starts_with("Cùng kỳ năm trước 01/04/2024 – 30/06/2024"));
    assert_eq!(
        changes[1][3],
        "Không đủ số liệu để so sánh (mỗi kỳ cần ít nhất 2 phiếu)."
    );
    // A whole year has one earlier period: the year before.
    let year_page = page(
        &f.admin,
        &format!("/staff/stats/units/{bac}?year={YEAR}"),
        200,
    )
    .await;
    let changes = rows(table(&year_page, "bang-thay-doi"));
    assert_eq!(changes.len(), 1);
    assert!(changes[0][0].starts_with("Năm trước 01/01/2024 – 31/12/2024"));
    // Its desks (issue 17): the responses each received in the quarter, every form and
    // channel, counted here straight from `responses` (flagged ones included).
    let desks: Vec<(String, i64)> = f
        .app
        .sql()
        .await
        .query(
            "SELECT d.name, count(r.id) FROM desks d \
             LEFT JOIN responses r ON r.desk_id = d.id \
               AND r.submitted_at >= '2025-04-01 00:00+07' AND r.submitted_at < '2025-07-01 00:00+07' \
             WHERE d.unit_id = $1 AND d.active GROUP BY d.id, d.name ORDER BY d.name, d.id",
            &[&bac],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        !desks.is_empty() && desks.iter().any(|(_, n)| *n > 0),
        "{desks:?}"
    );
    let shown_desks = rows(table(&html, "bang-quay"));
    assert_eq!(
        shown_desks
            .iter()
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect::<Vec<_>>(),
        desks
            .iter()
            .map(|(name, n)| (name.clone(), count_text(*n)))
            .collect::<Vec<_>>()
    );
    // Its latest comments: Xuân Bắc's of the quarter, newest first.
    let expected_links: Vec<String> = f
        .app
        .sql()
        .await
        .query(
            "SELECT t.response_id, t.item_id FROM response_texts t \
             JOIN responses r ON r.id = t.response_id \
             WHERE r.unit_id = $1 AND r.submitted_at >= '2025-04-01 00:00+07' \
               AND r.submitted_at < '2025-07-01 00:00+07' \
             ORDER BY r.submitted_at DESC, t.response_id DESC, t.item_id DESC LIMIT 5",
            &[&bac],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "/staff/comments/{}/{}",
                r.get::<_, i64>(0),
                r.get::<_, i32>(1)
            )
        })
        .collect();
    assert!(!expected_links.is_empty());
    let section = &html[html.find("<section class=\"latest-comments\">").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    let links: Vec<&str> = section
        .split("<a href=\"")
        .skip(1)
        .map(|l| &l[..l.find('"').unwrap()])
        .filter(|l| !l.contains('?'))
        .collect();
    assert_eq!(links, expected_links);
    // Its comments, with the link to the list.
    assert!(html.contains(&format!(
        "href=\"/staff/comments?unit={bac}&amp;from=01%2F04%2F2025&amp;to=30%2F06%2F2025\""
    )));
}

#[tokio::test]
async fn the_quick_rating_shows_the_share_of_each_level() {
    let f = generated().await;
    let office = f.app.unit_id(DISTRICT_OFFICE).await;
    let html = page(
        &f.admin,
        &format!("/staff/stats/units/{office}?year={YEAR}&form={QUICK_FORM}"),
        200,
    )
    .await;
    let range = Range {
        form: QUICK_FORM,
        ..Range::year(YEAR)
    };
    let counts: Vec<(i16, i64)> = f
        .app
        .sql()
        .await
        .query(
            "SELECT r.answers[1], count(*) FROM responses r \
             JOIN form_versions fv ON fv.id = r.form_version_id \
             WHERE fv.form_id = $1 AND r.answers[1] >= 1 \
               AND NOT coalesce( \
                   (SELECT v.decision = 'exclude' FROM response_reviews v \
                    WHERE v.response_id = r.id AND v.decision IS NOT NULL), \
                   EXISTS (SELECT 1 FROM response_flags f \
                           WHERE f.response_id = r.id AND f.severity = 'strong') \
                   OR (SELECT count(DISTINCT f.reason) FROM response_flags f \
                       WHERE f.response_id = r.id AND f.severity = 'weak' \
                         AND f.reason <> 'straight_line') >= 2) \
             GROUP BY 1 ORDER BY 1",
            &[&QUICK_FORM],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let n: i64 = counts.iter().map(|c| c.1).sum();
    assert!(n > 50, "{counts:?}");
    let levels = rows(table(&html, "bang-muc-do"));
    assert_eq!(levels.len(), 3);
    for ((label, (code, k)), cells) in ["Không hài lòng", "Hài lòng", "Rất hài lòng"]
        .iter()
        .zip(&counts)
        .zip(&levels)
    {
        assert_eq!(cells[0], *label, "code {code}");
        assert_eq!(cells[1], count_text(*k));
        assert_eq!(cells[2], published(*k as f64 / n as f64));
    }
    let satisfied: i64 = counts.iter().filter(|c| c.0 >= 2).map(|c| c.1).sum();
    let foot =
        text(&table(&html, "bang-muc-do")[table(&html, "bang-muc-do").find("<tfoot>").unwrap()..]);
    assert_eq!(
        foot,
        format!(
            "Chỉ số hài lòng (Hài lòng + Rất hài lòng) {} {}",
            count_text(n),
            published(satisfied as f64 / n as f64)
        )
    );
    let items = expected_items(&f.app, DISTRICT_OFFICE, &range).await;
    assert_eq!(items["DG"].0, n);
    // The unit's index is the item's.
    assert!(text(&html).contains(&format!(
        "{} Chỉ số SIPAS",
        published(satisfied as f64 / n as f64)
    )));
}

/// Pearson's chi-square of a k×2 table and the two-sided p-value of a pooled two-proportion z.
fn chi_square(table: &[(f64, f64)]) -> f64 {
    let (c0, c1): (f64, f64) = table.iter().fold((0.0, 0.0), |a, r| (a.0 + r.0, a.1 + r.1));
    let total = c0 + c1;
    table
        .iter()
        .map(|(a, b)| {
            let n = a + b;
            let (e0, e1) = (n * c0 / total, n * c1 / total);
            (a - e0).powi(2) / e0 + (b - e1).powi(2) / e1
        })
        .sum()
}

fn two_proportions(x1: f64, n1: f64, x2: f64, n2: f64) -> (f64, f64) {
    let p = (x1 + x2) / (n1 + n2);
    let z = (x1 / n1 - x2 / n2) / (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let p_value = statrs::function::erf::erfc(z.abs() / std::f64::consts::SQRT_2);
    (z, p_value)
}

/// Holm's step-down adjustment.
fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, i) in order.into_iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0,001".into()
    } else {
        format!("{p:.3}").replace('.', ",")
    }
}

fn decimal2(x: f64) -> String {
    format!("{x:.2}").replace('.', ",")
}

#[tokio::test]
async fn the_compare_page_tests_units_and_periods() {
    let f = generated().await;
    let units = [XUAN_HIEP, XUAN_TAM, XUAN_BAC];
    let names = ["UBND xã Xuân Hiệp", "UBND xã Xuân Tâm", "UBND xã Xuân Bắc"];
    let mut ids = Vec::new();
    for code in units {
        ids.push(f.app.unit_id(code).await);
    }
    // The landing page: the choices, no result.
    let html = page(&f.admin, "/staff/stats/compare", 200).await;
    assert!(html.contains("So sánh các đơn vị") && html.contains("So sánh các kỳ của một đơn vị"));
    assert!(!html.contains("id=\"bang-so-sanh\""));

    let html = page(
        &f.admin,
        &format!(
            "/staff/stats/compare?year={YEAR}&units={}&units={}&units={}&item=CC2",
            ids[0], ids[1], ids[2]
        ),
        200,
    )
    .await;
    // Side by side, as the overview computes them.
    let expected = expected_children(&f.app, "xuan-loc", &Range::year(YEAR)).await;
    let compared = rows(table(&html, "bang-so-sanh"));
    assert_eq!(compared.len(), 3);
    for (cells, name) in compared.iter().zip(names) {
        let e = expected.iter().find(|e| e.name == name).unwrap();
        assert_eq!(cells[0], name);
        assert_eq!(cells[1], published(e.index.unwrap()));
        assert_eq!(cells[3], count_text(e.forms));
    }
    // The index, pair by pair: the best commune is clearly above the worst one.
    let pairs = rows(table(&html, "bang-kiem-dinh-chi-so"));
    assert_eq!(pairs.len(), 3);
    assert_eq!(
        (pairs[0][0].as_str(), pairs[0][1].as_str()),
        (names[0], names[1])
    );
    // The statement gives the difference of the published indices (as the table shows them).
    let index_of = |name: &str| {
        published_value(
            expected
                .iter()
                .find(|e| e.name == name)
                .unwrap()
                .index
                .unwrap(),
        )
    };
    for (pair, (a, b)) in pairs.iter().zip([(0, 1), (0, 2), (1, 2)]) {
        let points = index_of(names[a]) - index_of(names[b]);
        let size = decimal2(points.abs());
        let direction = if points > 0.0 {
            "cao hơn"
        } else {
            "thấp hơn"
        };
        assert_eq!(
            pair[2],
            format!(
                "{}{} điểm phần trăm",
                if points > 0.0 { "+" } else { "-" },
                size
            )
        );
        assert!(
            pair[6].starts_with(&format!(
                "{} {direction} {} {size} điểm phần trăm: khác biệt ",
                names[a], names[b]
            )),
            "{pair:?}"
        );
        assert!(
            pair[3].ends_with(')') && pair[3].contains(" – "),
            "{pair:?}"
        );
    }
    assert!(
        pairs[0][6].ends_with(": khác biệt có ý nghĩa thống kê (p < 0,001)."),
        "{:?}",
        pairs[0]
    );
    // Conclusions first (issue 17): one plain sentence per pair leads the section, the tests'
    // names, statistics and p-values folded below it in "Chi tiết kiểm định thống kê".
    let lead = html
        .find("id=\"ket-luan-chi-so\"")
        .expect("the conclusions");
    let folded = html[lead..]
        .find("<summary>Chi tiết kiểm định thống kê</summary>")
        .map(|at| at + lead)
        .expect("the folded details");
    assert!(folded < html.find("id=\"bang-kiem-dinh-chi-so\"").unwrap());
    assert!(html[folded..].contains("“Có ý nghĩa thống kê” nghĩa là"));
    for (pair, (a, b)) in pairs.iter().zip([(0, 1), (0, 2), (1, 2)]) {
        let points = index_of(names[a]) - index_of(names[b]);
        let direction = if points > 0.0 {
            "cao hơn"
        } else {
            "thấp hơn"
        };
        let p_holm: f64 = if pair[5].starts_with('<') {
            0.0
        } else {
            pair[5].replace(',', ".").parse().unwrap()
        };
        let verdict = if p_holm < 0.05 {
            "khác biệt có ý nghĩa thống kê"
        } else {
            "khác biệt chưa đủ để kết luận"
        };
        let sentence = format!(
            "{} {direction} {} {} điểm phần trăm; {verdict}.",
            names[a],
            names[b],
            decimal2(points.abs())
        );
        let at = html
            .find(&format!(">{sentence}</li>"))
            .unwrap_or_else(|| panic!("{sentence}"));
        assert!(lead < at && at < folded, "{sentence} leads");
    }
    // One criterion (CC2): chi-square over the three, then the pairs, recomputed here.
    let mut counts = Vec::new();
    for code in units {
        let items = expected_items(&f.app, code, &Range::year(YEAR)).await;
        let (n, index, _) = items["CC2"];
        let x = (index.unwrap() * n as f64).round();
        counts.push((x, n as f64));
    }
    let table_rows: Vec<(f64, f64)> = counts.iter().map(|(x, n)| (*x, n - x)).collect();
    let chi = chi_square(&table_rows);
    let chi_p = {
        use statrs::distribution::{ChiSquared, ContinuousCDF};
        ChiSquared::new(2.0).unwrap().sf(chi)
    };
    let all = text(&html);
    assert!(
        all.contains(&format!(
            "χ² = {}, bậc tự do = 2, {}",
            decimal2(chi),
            if chi_p < 0.001 {
                "p < 0,001".to_string()
            } else {
                format!("p = {}", p_text(chi_p))
            }
        )),
        "{all}"
    );
    assert!(all.contains("So sánh theo tiêu chí: CC2."));
    let item_rows = rows(table(&html, "bang-tieu-chi-so-sanh"));
    for ((cells, (x, n)), name) in item_rows.iter().zip(&counts).zip(names) {
        assert_eq!(cells[0], name);
        assert_eq!(cells[1], count_text(*n as i64));
        assert_eq!(cells[2], count_text(*x as i64));
        assert_eq!(cells[3], published(x / n));
    }
    let tests: Vec<(f64, f64)> = [(0, 1), (0, 2), (1, 2)]
        .iter()
        .map(|&(a, b)| two_proportions(counts[a].0, counts[a].1, counts[b].0, counts[b].1))
        .collect();
    let adjusted = holm(&tests.iter().map(|t| t.1).collect::<Vec<_>>());
    let shown_pairs = rows(table(&html, "bang-kiem-dinh-tieu-chi"));
    assert_eq!(shown_pairs.len(), 3);
    for ((cells, (z, p)), p_holm) in shown_pairs.iter().zip(&tests).zip(&adjusted) {
        assert_eq!(cells[4], decimal2(*z), "{cells:?}");
        assert_eq!(cells[5], p_text(*p), "{cells:?}");
        assert_eq!(cells[6], p_text(*p_holm), "{cells:?}");
        let significant = if *p_holm < 0.05 {
            "có ý nghĩa"
        } else {
            "không có ý nghĩa"
        };
        assert!(
            cells[7].contains(&format!("khác biệt {significant} thống kê")),
            "{cells:?}"
        );
    }
    // The default criterion is the form's first (TC1).
    let html = page(
        &f.admin,
        &format!(
            "/staff/stats/compare?year={YEAR}&units={}&units={}",
            ids[0], ids[1]
        ),
        200,
    )
    .await;
    assert!(text(&html).contains("So sánh theo tiêu chí: TC1."));
    assert!(text(&html).contains("bậc tự do = 1"));

    // Two periods of one unit.
    let html = page(
        &f.admin,
        &format!(
            "/staff/stats/compare?unit={}&periods=2025-q1&periods=2025-q2&year={YEAR}",
            ids[2]
        ),
        200,
    )
    .await;
    let compared = rows(table(&html, "bang-so-sanh"));
    assert_eq!(
        compared.iter().map(|c| c[0].as_str()).collect::<Vec<_>>(),
        [
            "UBND xã Xuân Bắc – Quý I/2025",
            "UBND xã Xuân Bắc – Quý II/2025"
        ]
    );
    for (cells, (from, to)) in compared.iter().zip([
        (day(YEAR, 1, 1), day(YEAR, 3, 31)),
        (day(YEAR, 4, 1), day(YEAR, 6, 30)),
    ]) {
        let range = Range {
            from,
            to,
            ..Range::year(YEAR)
        };
        let e = expected_children(&f.app, "xuan-loc", &range)
            .await
            .into_iter()
            .find(|e| e.name == "UBND xã Xuân Bắc")
            .unwrap();
        assert_eq!(cells[1], published(e.index.unwrap()));
        assert_eq!(cells[3], count_text(e.forms));
    }
    let pairs = rows(table(&html, "bang-kiem-dinh-chi-so"));
    assert_eq!(pairs.len(), 1);
    assert!(
        pairs[0][6].starts_with("UBND xã Xuân Bắc – Quý I/2025 "),
        "{pairs:?}"
    );

    // Refusals: too few, unreadable, unknown.
    let few = page(
        &f.admin,
        &format!("/staff/stats/compare?units={}", ids[0]),
        422,
    )
    .await;
    assert!(text(&few).contains("Vui lòng chọn ít nhất hai đơn vị để so sánh."));
    let same = page(
        &f.admin,
        &format!("/staff/stats/compare?units={}&units={}", ids[0], ids[0]),
        422,
    )
    .await;
    assert!(text(&same).contains("Vui lòng chọn ít nhất hai đơn vị để so sánh."));
    let bad = page(
        &f.admin,
        &format!("/staff/stats/compare?units=abc&units={}", ids[0]),
        422,
    )
    .await;
    assert!(text(&bad).contains("Đơn vị không hợp lệ. Vui lòng chọn trong danh sách."));
    page(
        &f.admin,
        &format!("/staff/stats/compare?units=999999&units={}", ids[0]),
        404,
    )
    .await;
    let thirteen = f
        .app
        .sql()
        .await
        .query(
            "SELECT id FROM units WHERE parent_id = (SELECT id FROM units WHERE code = 'xuan-loc') \
             ORDER BY id LIMIT 13",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(thirteen.len(), 13);
    let many: String = thirteen
        .iter()
        .map(|r| format!("&units={}", r.get::<_, i32>(0)))
        .collect();
    let html = page(
        &f.admin,
        &format!("/staff/stats/compare?year={YEAR}{many}"),
        422,
    )
    .await;
    assert!(text(&html).contains("Chỉ so sánh được tối đa 12 đơn vị cùng lúc."));
    let html = page(
        &f.admin,
        &format!("/staff/stats/compare?unit={}&periods=2025-q1", ids[0]),
        422,
    )
    .await;
    assert!(text(&html).contains("Vui lòng chọn ít nhất hai kỳ khác nhau để so sánh."));
    let html = page(
        &f.admin,
        &format!(
            "/staff/stats/compare?unit={}&periods=2025-q1&periods=2025-q9",
            ids[0]
        ),
        422,
    )
    .await;
    assert!(text(&html).contains("Kỳ so sánh không hợp lệ."));
    let html = page(
        &f.admin,
        &format!(
            "/staff/stats/compare?units={}&units={}&item=ZZ9",
            ids[0], ids[1]
        ),
        422,
    )
    .await;
    assert!(text(&html).contains("Tiêu chí không hợp lệ."));
}

#[tokio::test]
async fn unit_accounts_see_only_their_units() {
    let f = generated().await;
    let unit = f
        .app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let viewer = f.app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let bac = f.app.unit_id(XUAN_BAC).await;
    let dinh = f.app.unit_id(XUAN_DINH).await;
    let district = f.app.unit_id("xuan-loc").await;
    let expected = expected_children(&f.app, "xuan-loc", &Range::year(YEAR)).await;
    let bac_expected = expected
        .iter()
        .find(|e| e.name == "UBND xã Xuân Bắc")
        .unwrap();

    // The overview starts at the account's unit and shows nothing of the others.
    let html = page(&unit, &format!("/staff/stats?year={YEAR}"), 200).await;
    let rows = shown(&html, "bang-xep-hang");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "UBND xã Xuân Bắc");
    assert_eq!(rows[0].1.index, published(bac_expected.index.unwrap()));
    assert_eq!(rows[0].1.rank, "1");
    for other in ["Xuân Định", "Xuân Hiệp", "Gia Ray", "Văn phòng HĐND"] {
        assert!(!html.contains(other), "{other} shown to the unit account");
    }
    let unit_page = page(&unit, &format!("/staff/stats/units/{bac}?year={YEAR}"), 200).await;
    assert!(!unit_page.contains("Xuân Định"));
    // Another unit's page, the district's, a comparison with another unit: not found.
    for path in [
        format!("/staff/stats/units/{dinh}?year={YEAR}"),
        format!("/staff/stats/units/{district}"),
        format!("/staff/stats/compare?units={bac}&units={dinh}"),
        format!("/staff/stats/compare?unit={dinh}&periods=2025-q1&periods=2025-q2"),
    ] {
        let body = page(&unit, &path, 404).await;
        assert!(!body.contains("Xuân Định"), "{path}");
    }
    // Another unit in the overview's filter: refused as a bad choice, nothing shown of it.
    let html = page(&unit, &format!("/staff/stats?unit={dinh}"), 422).await;
    assert!(text(&html).contains("Đơn vị không hợp lệ. Vui lòng chọn trong danh sách."));
    assert!(!html.contains("Xuân Định"));
    // Its own periods compare.
    page(
        &unit,
        &format!("/staff/stats/compare?unit={bac}&periods=2025-q1&periods=2025-q2"),
        200,
    )
    .await;
    // A viewer reads every unit.
    let html = page(
        &viewer,
        &format!("/staff/stats/units/{dinh}?year={YEAR}"),
        200,
    )
    .await;
    assert!(html.contains("Kết quả khảo sát: UBND xã Xuân Định"));
    assert_eq!(
        shown(
            &page(&viewer, &format!("/staff/stats?year={YEAR}"), 200).await,
            "bang-xep-hang"
        )
        .len(),
        28
    );
    // Anonymous: to the sign-in page, and back here after it.
    for path in [
        "/staff/stats",
        "/staff/stats/compare",
        &format!("/staff/stats/units/{bac}"),
    ] {
        let response = f.app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with("/sign-in?next=%2Fstaff%2Fstats"),
            "{location}"
        );
    }
}

#[tokio::test]
async fn bad_filters_are_refused_with_a_message() {
    let f = generated().await;
    let bac = f.app.unit_id(XUAN_BAC).await;
    let overview_cases = [
        ("year=abc", "Năm không hợp lệ."),
        ("year=1999", "Năm không hợp lệ."),
        ("year=20260", "Năm không hợp lệ."),
        ("period=q9", "Đợt/kỳ không hợp lệ."),
        (
            "period=p999999",
            "Đợt khảo sát đã chọn không thuộc kế hoạch năm",
        ),
        ("period=custom", "Vui lòng nhập cả “Từ ngày” và “Đến ngày”"),
        (
            "period=custom&from=31/02/2025&to=01/03/2025",
            "Ngày không hợp lệ.",
        ),
        (
            "from=02/03/2025&to=01/03/2025",
            "“Đến ngày” phải bằng hoặc sau “Từ ngày”.",
        ),
        (
            "from=01/01/1900&to=01/03/2025",
            "Ngày phải nằm trong các năm từ 2000 đến 2100.",
        ),
        ("unit=abc", "Đơn vị không hợp lệ."),
        ("unit=999999", "Đơn vị không hợp lệ."),
        ("kind=city", "Loại đơn vị không hợp lệ."),
        ("form=khong-co", "Mẫu phiếu không hợp lệ."),
        ("channel=fax", "Kênh không hợp lệ."),
    ];
    for (query, message) in overview_cases {
        let html = page(&f.admin, &format!("/staff/stats?{query}"), 422).await;
        let all = text(&html);
        assert!(all.contains(message), "{query}: {all}");
        assert!(html.contains("role=\"alert\""), "{query}");
        assert!(
            html.contains("<form class=\"filters-form\" method=\"get\""),
            "{query}"
        );
        assert!(!html.contains("id=\"bang-xep-hang\""), "{query}");
        // The unit page refuses the same values (the unit of the query is not used there).
        if !query.starts_with("unit=") && !query.starts_with("kind=") {
            let html = page(&f.admin, &format!("/staff/stats/units/{bac}?{query}"), 422).await;
            assert!(text(&html).contains(message), "unit page, {query}");
        }
    }
    let html = page(
        &f.admin,
        &format!("/staff/stats/units/{bac}?trend=week"),
        422,
    )
    .await;
    assert!(text(&html).contains("Cách xem xu hướng không hợp lệ."));
    // The unit page is about the unit of its path: a unit or kind in the query is not used.
    page(
        &f.admin,
        &format!("/staff/stats/units/{bac}?kind=city&unit=abc"),
        200,
    )
    .await;
    // Several problems at once: each is named.
    let html = page(&f.admin, "/staff/stats?year=x&channel=y&kind=z", 422).await;
    let all = text(&html);
    for message in [
        "Năm không hợp lệ.",
        "Kênh không hợp lệ.",
        "Loại đơn vị không hợp lệ.",
    ] {
        assert!(all.contains(message), "{message}");
    }
    // An unreadable query string is read as no filter; bad ids in paths are pages that do not
    // exist; other methods answer like a missing page.
    page(&f.admin, "/staff/stats?%zz=1&year", 200).await;
    for path in [
        "/staff/stats/units/abc",
        "/staff/stats/units/0",
        "/staff/stats/units/-3",
        "/staff/stats/units/999999",
        "/staff/stats/units/99999999999",
        "/staff/stats/nope",
    ] {
        page(&f.admin, path, 404).await;
    }
    let response = f.admin.post("/staff/stats", &[]).await;
    assert_eq!(response.status(), 404);
}

/// Submits a QĐ 1001 ballot at the unit's desk through the citizen's path, every criterion
/// answered with `score`.
async fn submit(app: &TestApp, unit_code: &str, score: &str) {
    let code = app.desk_code(unit_code).await;
    let (_, token, version) = app.open_survey(&code).await;
    let fields = full_answers(score);
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 200, "submitting at {unit_code}");
}

#[tokio::test]
async fn units_with_two_forms_take_no_place_whatever_their_index() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    // This year, through the survey pages: two units at 100%, one at 0%.
    submit(&app, XUAN_BAC, "5").await;
    submit(&app, XUAN_BAC, "4").await;
    submit(&app, XUAN_DINH, "4").await;
    submit(&app, BAO_HOA, "2").await;
    let html = page(&admin, "/staff/stats", 200).await;
    let rows = shown(&html, "bang-xep-hang");
    assert_eq!(rows.len(), 28);
    let row = |name: &str| rows.iter().find(|(n, _)| n == name).unwrap().1.clone();
    // Two forms are no sample: however high, no unit takes a place (ties are shared among the
    // ranked units: tests/ranking.rs, sipas_core::reports' unit tests).
    assert_eq!(row("UBND xã Xuân Bắc").rank, "–");
    assert_eq!(row("UBND xã Xuân Định").rank, "–");
    assert_eq!(row("UBND xã Bảo Hòa").rank, "–");
    assert_eq!(row("UBND xã Xuân Bắc").index, "100,00%");
    assert_eq!(row("UBND xã Bảo Hòa").index, "0,00%");
    assert_eq!(row("UBND xã Xuân Bắc").forms, "2");
    assert_eq!(row("UBND xã Xuân Bắc").flag, "Chưa đủ mẫu (< 30 phiếu)");
    assert_eq!(row("UBND xã Suối Cát").rank, "–");
    assert_eq!(row("UBND xã Suối Cát").flag, "Chưa có phiếu");
    // All unranked, so listed by name under their heading.
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(html.contains("Chưa đủ mẫu – chưa xếp hạng"));
    let expected =
        expected_children(&app, "xuan-loc", &Range::year(sipas::plans::current_year())).await;
    check_ranking(&html, &expected, &BTreeMap::new(), NATIONAL);
    assert!(text(&html).contains("4 phiếu khảo sát"));
    // So few forms: the chi-square test comes with its warning.
    let bac = app.unit_id(XUAN_BAC).await;
    let bao_hoa = app.unit_id(BAO_HOA).await;
    let html = page(
        &admin,
        &format!("/staff/stats/compare?units={bac}&units={bao_hoa}"),
        200,
    )
    .await;
    let all = text(&html);
    assert!(
        all.contains("χ² = 3,00, bậc tự do = 1, p = 0,083."),
        "{all}"
    );
    assert!(all.contains(
        "Lưu ý: có ô có tần số kỳ vọng nhỏ hơn 5 (nhỏ nhất 0,33), kết quả kiểm định \
         khi-bình phương chỉ có tính tham khảo."
    ));
}

/// Every `href` in `html`, unescaped.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
        .collect()
}

/// The markup of the SVG chart `id`.
fn svg_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg class=\"chart\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let rest = &html[start..];
    &rest[..rest.find("</svg>").unwrap()]
}

/// Drill-down (issue 17): the overview's headline, its "Xem chi tiết" link, every bar of the
/// ranking chart and every row of its table lead to that unit's page with the same filters;
/// the overview shows the factor profile and the monthly trend of its total; the quick range
/// "30 ngày qua" gives the figures of the last 30 days (today included), recomputed here with
/// SQL over the same days from responses spread over 60 days.
#[tokio::test]
async fn the_overview_leads_to_each_units_page_and_reads_the_last_30_days() {
    let app = TestApp::spawn().await;
    let today = sipas::plans::today_in_vietnam();
    let first = today - chrono::Days::new(59);
    {
        let mut conn = app.pool.get().await.unwrap();
        sipas::demo::generate_responses(
            &mut conn,
            &app.forms,
            &sipas::demo::ResponseSpec {
                seed: 5,
                count: 1_500,
                first: 0,
                from: first,
                to: today,
            },
        )
        .await
        .unwrap();
    }
    app.settle_rollups().await;
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    let district = app.unit_id("xuan-loc").await;

    let html = page(&admin, "/staff/stats?period=30d", 200).await;
    let from = today - chrono::Days::new(29);
    let range = Range {
        from,
        to: today,
        ..Range::year(today.year())
    };
    let expected = expected_children(&app, "xuan-loc", &range).await;
    let in_30_days: i64 = expected.iter().map(|e| e.forms).sum();
    let sixty = Range {
        from: first,
        ..range.clone()
    };
    let in_60_days: i64 = expected_children(&app, "xuan-loc", &sixty)
        .await
        .iter()
        .map(|e| e.forms)
        .sum();
    assert!(
        in_30_days > 100 && in_30_days < in_60_days,
        "the 30 days are a part of the data: {in_30_days} of {in_60_days}"
    );
    check_ranking(&html, &expected, &BTreeMap::new(), NATIONAL);
    let total = expected_children(&app, "dong-nai", &range).await;
    let headline = text(&html[html.find("<div class=\"cards\">").unwrap()..]);
    assert!(
        headline.starts_with(&published(total[0].index.unwrap())),
        "{headline}"
    );
    assert!(headline.contains(&format!("{} phiếu khảo sát", count_text(total[0].forms))));
    assert!(
        text(&html).contains(&format!(
            "UBND huyện Xuân Lộc · 30 ngày qua ({} – {})",
            from.format("%d/%m/%Y"),
            today.format("%d/%m/%Y")
        )),
        "{}",
        text(&html)
    );
    assert!(html.contains("<option value=\"30d\" selected>30 ngày qua</option>"));
    assert!(html.contains("<option value=\"thang-nay\">Tháng này</option>"));

    // The headline and "Xem chi tiết của ..." lead to the district's own page.
    let root = format!("/staff/stats/units/{district}?");
    let drill = &html[html
        .find("<a class=\"drill\" href=\"")
        .expect("the headline's link")..];
    assert!(hrefs(drill)[0].starts_with(&root), "{}", hrefs(drill)[0]);
    let detail = &html[html
        .find("<p class=\"drill-root\">")
        .expect("the detail link")..];
    let detail_link = hrefs(detail)[0].clone();
    assert_eq!(detail_link, hrefs(drill)[0]);
    assert!(detail_link.contains("period=30d"), "{detail_link}");
    let district_page = page(&admin, &detail_link, 200).await;
    assert!(district_page.contains("Kết quả khảo sát: UBND huyện Xuân Lộc</h1>"));
    assert_eq!(
        hrefs(svg_of(&district_page, "bieu-do-truc-thuoc")).len(),
        28,
        "the district's page leads on to its units"
    );

    // Every bar and every row lead to their unit's page, in the same order.
    let bar_links = hrefs(svg_of(&html, "bieu-do-xep-hang"));
    let table_links = hrefs(table(&html, "bang-xep-hang"));
    assert_eq!(bar_links.len(), 28);
    assert_eq!(bar_links, table_links);
    let names: Vec<String> = shown(&html, "bang-xep-hang")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for (link, name) in bar_links.iter().zip(&names) {
        assert!(
            link.starts_with("/staff/stats/units/") && link.contains("period=30d"),
            "{link}"
        );
        let unit_html = page(&admin, link, 200).await;
        assert!(
            unit_html.contains(&format!("Kết quả khảo sát: {name}</h1>")),
            "{link} is the page of {name}"
        );
        assert!(text(&unit_html).contains(&format!("{name} · 30 ngày qua")));
    }

    // The factor profile and the monthly trend of the total, on the overview.
    assert!(html.contains("id=\"bieu-do-yeu-to\""));
    let trend = rows(table(&html, "bang-xu-huong"));
    let years = Range {
        from: NaiveDate::from_ymd_opt(from.year(), 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(today.year(), 12, 31).unwrap(),
        ..range.clone()
    };
    let in_years = expected_children(&app, "dong-nai", &years).await[0].forms;
    let trend_sum: i64 = trend
        .iter()
        .map(|cells| cells[2].replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(trend_sum, in_years, "{trend:?}");
    assert!(trend.len() >= 12, "{trend:?}");
}
