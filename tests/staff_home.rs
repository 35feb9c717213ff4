//! The staff home page ("Tổng quan", issue 17): the year's responses in words whose parts add
//! up to the total, checked against counts computed here with SQL; the overview's figure is
//! the part of its form; what needs attention (comments, flags, units short of their target),
//! each a link; the grouped menu; the audit log in sentences; the favicon, compression and the
//! hashed stylesheets.

use crate::common;

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{Datelike, NaiveDate};
use common::{StaffClient, TestApp};

const FORM: &str = "sipas-1001-dich-vu";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const RESPONSES: u64 = 3_000;

/// Vietnam's year and day.
fn today() -> NaiveDate {
    sipas::domain::time::today_in_vietnam()
}

/// "20.013" → 20013.
fn number(text: &str) -> i64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("not a count: {text:?}"))
}

/// The count in the first `<strong>` after `marker` (the page writes "<strong>N</strong> …").
fn strong_after(html: &str, marker: &str) -> i64 {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in the page:\n{html}"));
    let rest = &html[at..];
    let tag = rest.find("<strong").unwrap();
    let open = tag + rest[tag..].find('>').unwrap() + 1;
    let close = open + rest[open..].find("</strong>").unwrap();
    number(&rest[open..close])
}

/// Spawns the demo district with responses over the current year (to today), folded.
async fn fixture() -> (TestApp, StaffClient) {
    let app = TestApp::spawn().await;
    let today = today();
    {
        let mut conn = app.pool.get().await.unwrap();
        let generated = sipas::demo::generate_responses(
            &mut conn,
            &app.forms,
            &sipas::demo::ResponseSpec {
                seed: 17,
                count: RESPONSES,
                first: 0,
                from: NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap(),
                to: today,
            },
        )
        .await
        .unwrap();
        assert_eq!(generated.inserted, RESPONSES);
    }
    app.settle_rollups().await;
    let admin = app.staff_with_role("qt.home", "admin", &[]).await;
    // Five responses flagged (as the fraud rules would), three of them excluded by an admin's
    // decision through the use case (which folds their unit-month again); two left to review.
    let db = app.sql().await;
    db.batch_execute(
        "INSERT INTO response_reviews (response_id, excluded_by_default) \
         SELECT id, false FROM responses ORDER BY id LIMIT 5",
    )
    .await
    .unwrap();
    let account_id: i32 = db
        .query_one("SELECT id FROM accounts WHERE username = 'qt.home'", &[])
        .await
        .unwrap()
        .get(0);
    let actor = sipas::domain::access::Actor {
        account_id,
        role: sipas::domain::access::Role::Admin,
        scope: sipas::domain::access::Scope::All,
    };
    let mut conn = app.pool.get().await.unwrap();
    for id in db
        .query(
            "SELECT response_id FROM response_reviews ORDER BY response_id LIMIT 3",
            &[],
        )
        .await
        .unwrap()
    {
        sipas::app::flags::decide(
            &mut conn,
            &actor,
            id.get(0),
            sipas::db::flags::Decision::Exclude,
            None,
        )
        .await
        .unwrap();
    }
    drop(conn);
    (app, admin)
}

/// The year's responses computed independently: (all, excluded, counted per form), for the
/// units `units` (None: all).
async fn independent_counts(
    app: &TestApp,
    units: Option<&str>,
) -> (i64, i64, BTreeMap<String, i64>) {
    let db = app.sql().await;
    let year = today().year();
    let scope = units.map_or_else(String::new, |u| format!("AND r.unit_id IN ({u})"));
    let in_year = format!(
        "r.submitted_at >= make_date({year}, 1, 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' \
         AND r.submitted_at < make_date({year} + 1, 1, 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' {scope}"
    );
    let all: i64 = db
        .query_one(
            &format!("SELECT count(*) FROM responses r WHERE {in_year}"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let excluded: i64 = db
        .query_one(
            &format!(
                "SELECT count(*) FROM responses r JOIN response_reviews v ON v.response_id = r.id \
                 WHERE v.excluded AND {in_year}"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let counted = db
        .query(
            &format!(
                "SELECT fv.form_id, count(*) FROM responses r \
                 JOIN form_versions fv ON fv.id = r.form_version_id \
                 WHERE {in_year} AND NOT EXISTS (SELECT 1 FROM response_reviews v \
                   WHERE v.response_id = r.id AND v.excluded) \
                 GROUP BY fv.form_id"
            ),
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1)))
        .collect();
    (all, excluded, counted)
}

/// The headline's parts as the page shows them: (total, excluded, counted per form).
fn shown_parts(html: &str) -> (i64, i64, BTreeMap<String, i64>) {
    let total = strong_after(html, "id=\"tong-so\"");
    let excluded = if html.contains("data-part=\"excluded\"") {
        strong_after(html, "data-part=\"excluded\"")
    } else {
        0
    };
    let mut counted = BTreeMap::new();
    for (at, _) in html.match_indices("data-part=\"counted\"") {
        let before = &html[..at];
        let form_at = before.rfind("data-form=\"").unwrap() + "data-form=\"".len();
        let form = &before[form_at..form_at + before[form_at..].find('"').unwrap()];
        counted.insert(form.to_string(), strong_after(&html[at..], "data-part"));
    }
    assert!(
        !html.contains("data-part=\"pending\""),
        "settled: nothing pending"
    );
    (total, excluded, counted)
}

#[tokio::test]
async fn the_home_page_reconciles_its_counts_with_the_overview_and_the_database() {
    let (app, admin) = fixture().await;
    let home = admin.get("/staff").await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();

    let (total, excluded, counted) = shown_parts(&html);
    let (all, sql_excluded, sql_counted) = independent_counts(&app, None).await;
    assert_eq!(total, all, "the total is every response of the year");
    assert_eq!(excluded, sql_excluded);
    assert!(
        excluded >= 3,
        "the excluded responses are a part of their own"
    );
    assert_eq!(counted, sql_counted);
    assert_eq!(
        counted.values().sum::<i64>() + excluded,
        total,
        "the parts add up to the total"
    );
    assert!(counted.len() >= 2, "both forms have responses: {counted:?}");
    assert!(total >= 1_000 && html.contains(&sipas::views::group_thousands(total as u64)));
    assert!(
        !html.contains(&format!(">{total}<")),
        "never an ungrouped count"
    );
    // Titles, not ids: the default form first, "tính vào chỉ số".
    assert!(
        html.contains(
            "phiếu theo mẫu “Khảo sát sự hài lòng về dịch vụ hành chính công”</a> tính vào chỉ số"
        ),
        "{html}"
    );
    assert!(!html.contains(&format!(">{FORM}<")));

    // The overview's figure is the part of its form.
    let overview = admin.get("/staff/stats").await.text().await.unwrap();
    let card = overview
        .find("<p>phiếu khảo sát</p>")
        .expect("the overview's count card");
    let big = &overview[..card];
    let open = big.rfind("<p class=\"big\">").unwrap() + "<p class=\"big\">".len();
    let shown = number(&big[open..big[open..].find("</p>").unwrap() + open]);
    assert_eq!(
        shown, counted[FORM],
        "the overview shows the part of its form"
    );

    // What waits: unhandled comments (everyone), undecided flags (admins), each a link.
    let db = app.sql().await;
    let unhandled: i64 = db
        .query_one(
            "SELECT count(*) FROM response_texts WHERE handled_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(unhandled > 0);
    assert_eq!(
        strong_after(&html, "href=\"/staff/comments?state=unhandled\""),
        unhandled
    );
    let undecided: i64 = db
        .query_one(
            "SELECT count(*) FROM response_reviews WHERE decision IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        undecided >= 2,
        "two of ours at least, and what the rules flagged"
    );
    let todo = &html[html
        .find("<ul class=\"todo\">")
        .expect("the list of what waits")..];
    assert_eq!(strong_after(todo, "href=\"/staff/flags\""), undecided);
    assert!(todo.contains("phiếu nghi vấn chờ xem xét"));
    // The spool is empty: no line about it.
    assert!(!html.contains("id=\"spool\""), "{html}");
    // The grouped menu, the account once.
    for group in ["Kết quả", "Thu thập ý kiến", "Quản trị"] {
        assert!(html.contains(&format!(">{group}</span>")), "{group}");
    }
    assert_eq!(html.matches("Quản trị (Phòng Nội vụ)").count(), 1);

    // A unit account: its own unit's responses only, no flag line.
    let unit_id = app.unit_id(XUAN_BAC).await;
    let unit = app
        .staff_with_role("cb.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let html = unit.get("/staff").await.text().await.unwrap();
    let (total, excluded, counted) = shown_parts(&html);
    let (all, sql_excluded, sql_counted) =
        independent_counts(&app, Some(&unit_id.to_string())).await;
    assert!(all > 0);
    assert_eq!((total, excluded, counted), (all, sql_excluded, sql_counted));
    assert!(!html.contains("href=\"/staff/flags"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn the_home_page_lists_the_units_short_of_their_target_in_the_current_period() {
    let (app, admin) = fixture().await;
    let db = app.sql().await;
    let today = today();
    let year = today.year();
    let unit_id = app.unit_id(XUAN_BAC).await;
    let district: i32 = db
        .query_one("SELECT id FROM units WHERE code = 'xuan-loc'", &[])
        .await
        .unwrap()
        .get(0);
    let plan: i32 = db
        .query_one(
            "INSERT INTO survey_plans (unit_id, year, title, form_id) VALUES ($1, $2, 'Kế hoạch thử', $3) RETURNING id",
            &[&district, &(year as i16), &FORM],
        )
        .await
        .unwrap()
        .get(0);
    let period: i32 = db
        .query_one(
            "INSERT INTO plan_periods (plan_id, name, starts_on, ends_on) \
             VALUES ($1, 'Cả năm', make_date($2, 1, 1), make_date($2, 12, 31)) RETURNING id",
            &[&plan, &year],
        )
        .await
        .unwrap()
        .get(0);
    // Xuân Bắc's counted responses to the plan's form this year, independently.
    let received: i64 = db
        .query_one(
            "SELECT count(*) FROM responses r JOIN form_versions fv ON fv.id = r.form_version_id \
             WHERE r.unit_id = $1 AND fv.form_id = $2 \
               AND r.submitted_at >= make_date($3, 1, 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' \
               AND NOT EXISTS (SELECT 1 FROM response_reviews v WHERE v.response_id = r.id AND v.excluded)",
            &[&unit_id, &FORM, &year],
        )
        .await
        .unwrap()
        .get(0);
    assert!(received > 0);
    let target = i32::try_from(received).unwrap() + 1_000;
    db.execute(
        "INSERT INTO plan_targets (period_id, unit_id, target) VALUES ($1, $2, $3)",
        &[&period, &unit_id, &target],
    )
    .await
    .unwrap();
    let html = admin.get("/staff").await.text().await.unwrap();
    let link = format!("href=\"/staff/stats?unit={unit_id}&amp;year={year}&amp;period=p{period}\"");
    assert!(html.contains(&link), "{html}");
    let line = &html[html.find(&link).unwrap()..];
    let line = &line[..line.find("</li>").unwrap()];
    let expected = format!(
        "— {} / {} phiếu",
        sipas::views::group_thousands(received as u64),
        sipas::views::group_thousands(target as u64)
    );
    assert!(line.contains(&expected), "{line} lacks {expected}");
    assert!(
        html.contains("1</strong> đơn vị chưa đủ số phiếu theo chỉ tiêu"),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"/staff/plans/{plan}\"")));
    app.stop().await;
}

/// `bytes` decoded by the system's gzip (an independent decoder).
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "not gzip");
    out.stdout
}

#[tokio::test]
async fn favicon_compression_and_hashed_stylesheets() {
    let app = TestApp::spawn().await;
    let icon = app.get("/favicon.ico").await;
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/x-icon");
    assert!(
        icon.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let bytes = icon.bytes().await.unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO file");

    // The pages link the stylesheets under their content hash, cached for a year; the old
    // address still answers.
    let page = app.get("/quyen-rieng-tu").await.text().await.unwrap();
    let href = sipas::views::STYLESHEET_HREF.as_str();
    assert!(page.contains(&format!("href=\"{href}\"")), "{page}");
    assert!(page.contains("<link rel=\"icon\" href=\"/favicon.ico\""));
    for (path, body) in [
        (href, sipas::views::STYLESHEET),
        (
            sipas::views::STAFF_STYLESHEET_HREF.as_str(),
            sipas::views::STAFF_STYLESHEET,
        ),
        ("/static/sipas.css", sipas::views::STYLESHEET),
        ("/static/staff.css", sipas::views::STAFF_STYLESHEET),
    ] {
        let css = app.get(path).await;
        assert_eq!(css.status(), 200, "{path}");
        let cache = css.headers()["cache-control"].to_str().unwrap().to_string();
        if path.starts_with("/static/sipas.css") || path.starts_with("/static/staff.css") {
            assert_eq!(cache, "public, max-age=3600", "{path}");
        } else {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{path}");
        }
        assert_eq!(css.text().await.unwrap(), body, "{path}");
    }
    assert_eq!(
        app.get("/static/sipas.0000000000000000.css").await.status(),
        404
    );

    // gzip when asked for: the survey page, a stylesheet, the API's JSON; the same bytes once
    // decoded.
    let client = reqwest::Client::new();
    let code = app.desk_code(XUAN_BAC).await;
    for path in [
        format!("/s/{code}"),
        href.to_string(),
        "/healthz".to_string(),
    ] {
        let url = format!("{}{path}", app.address);
        let plain = client.get(&url).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain_type = plain.headers()["content-type"].clone();
        let plain = plain.bytes().await.unwrap();
        let gz = client
            .get(&url)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gz.status(), 200, "{path}");
        assert_eq!(gz.headers()["content-encoding"], "gzip", "{path}");
        assert!(
            gz.headers()["vary"]
                .to_str()
                .unwrap()
                .eq_ignore_ascii_case("accept-encoding"),
            "{path}"
        );
        assert_eq!(gz.headers()["content-type"], plain_type, "{path}");
        assert!(
            gz.headers().get("content-security-policy").is_some(),
            "{path}"
        );
        let compressed = gz.bytes().await.unwrap();
        let decoded = gunzip(&compressed);
        if path.starts_with("/s/") {
            // The form carries a fresh submission key each time: compare its length and text.
            assert!(
                compressed.len() * 3 < decoded.len(),
                "{path}: {} of {}",
                compressed.len(),
                decoded.len()
            );
            let text = String::from_utf8(decoded).unwrap();
            assert!(
                text.contains("Phiếu khảo sát") || text.contains("<form"),
                "{text}"
            );
        } else if path == "/healthz" {
            assert!(serde_json::from_slice::<serde_json::Value>(&decoded).is_ok());
        } else {
            assert_eq!(decoded, plain.to_vec(), "{path}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_reads_as_sentences() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("qt.audit", "admin", &[]).await;
    app.create_account("lan.nguyen", "viewer", &[]).await;
    let html = admin.get("/staff/audit").await.text().await.unwrap();
    assert!(
        html.contains("đã tạo tài khoản “lan.nguyen” với vai trò Lãnh đạo (chỉ xem)"),
        "{html}"
    );
    // Local time, "HH:MM dd/mm/yyyy", before the sentence.
    let now = chrono::Utc::now().with_timezone(&sipas::views::vietnam_offset());
    assert!(
        html.contains(&now.format("%d/%m/%Y</time> — ").to_string()),
        "{html}"
    );
    // The action code only in the folded details.
    let details = html.find("<details").unwrap();
    assert!(html.find("account.create").unwrap() > details);
    app.stop().await;
}

/// The home page names the ranked units whose index is below the plan's first goal (here the
/// national one, 80%: no plan), exactly those the API's figures put there.
#[tokio::test]
async fn the_home_page_names_the_units_below_the_first_goal() {
    let (_app, admin) = fixture().await;
    let year = today().year();
    let api = admin.get(&format!("/api/v1/stats?year={year}")).await;
    assert_eq!(api.status(), 200);
    let api: serde_json::Value = serde_json::from_str(&api.text().await.unwrap()).unwrap();
    let rows = api["rows"].as_array().unwrap();
    let ranked = rows.iter().filter(|r| !r["rank"].is_null()).count();
    let below: Vec<&str> = rows
        .iter()
        .filter(|r| !r["rank"].is_null())
        .filter(|r| (r["index"].as_f64().unwrap() * 10_000.0).round() < 8_000.0)
        .map(|r| r["unit"]["name"].as_str().unwrap())
        .collect();
    assert!(ranked > 0, "some units have enough forms");
    let html = admin.get("/staff").await.text().await.unwrap();
    if below.is_empty() {
        assert!(html.contains("đạt Mục tiêu 2025: 80%"), "{html}");
        return;
    }
    let start = html
        .find("có chỉ số dưới Mục tiêu 2025: 80%")
        .expect("the list of units below the goal");
    let section = &html[start..];
    let section = &section[..section.find("</ul>").unwrap()];
    let listed = section.matches("<li>").count();
    assert_eq!(listed, below.len(), "{section}");
    for name in &below {
        assert!(
            section.contains(&format!(">{name}</a>")),
            "{name} in {section}"
        );
    }
    assert!(html.contains(&format!(
        "{}</strong> / {ranked} đơn vị đủ mẫu năm {year}",
        below.len()
    )));
}
