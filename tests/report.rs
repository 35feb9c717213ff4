//! The printable report (`GET /staff/report`, `sipas report`), through HTTP and the real
//! binary against PostgreSQL:
//! - the page has the document's title and head, and its appendix shows every unit of the
//!   account's scope with the figures of `GET /api/v1/stats` for the same filters (forms, each
//!   factor's index, the SIPAS index and its interval, as printed: "82,66%");
//! - the units below the 80% target and the units short of forms are exactly those the API's
//!   figures say; the comments part counts the comments SQL counts and shows a handled one
//!   with its note;
//! - the statistics overview links to the report with its filters;
//! - a unit account's report holds its own unit only, and another unit is refused;
//! - `sipas report` writes the same document as one self-contained HTML file, and with `--pdf`
//!   a PDF whose text (pdftotext) has the title and the unit table.
//!
//! Responses come from the demo generator (seed 11) in the first quarter of last year.

use crate::common;

use std::path::Path;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use common::{StaffClient, TempDir, TestApp};
use serde_json::Value;
use sipas::stats::{format_percent, round_percent};
use sipas::views::public::format_count;

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const DEMO_RESPONSES: u64 = 1500;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

pub(crate) fn last_year() -> i32 {
    (chrono::Utc::now() + chrono::Duration::hours(7)).year() - 1
}

/// The first quarter of last year.
pub(crate) fn quarter() -> (NaiveDate, NaiveDate) {
    let year = last_year();
    (
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(year, 3, 31).unwrap(),
    )
}

pub(crate) fn title() -> String {
    format!(
        "Báo cáo kết quả khảo sát sự hài lòng của người dân, tổ chức năm {}",
        last_year()
    )
}

pub(crate) async fn with_responses() -> TestApp {
    let app = TestApp::spawn().await;
    let (from, to) = quarter();
    let mut conn = app.pool.get().await.unwrap();
    let generated = sipas::demo::generate_responses(
        &mut conn,
        &app.forms,
        &sipas::demo::ResponseSpec {
            seed: 11,
            count: DEMO_RESPONSES,
            first: 0,
            from,
            to,
        },
    )
    .await
    .unwrap();
    assert_eq!(generated.inserted, DEMO_RESPONSES);
    assert!(generated.comments > 0, "the demo writes comments");
    drop(conn);
    app.settle_rollups().await;
    app
}

/// The API's answer for the first quarter of last year, for the client's account.
pub(crate) async fn api_quarter(client: &StaffClient) -> Value {
    let (from, to) = quarter();
    let response = client
        .get(&format!("/api/v1/stats?from={from}&to={to}"))
        .await;
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

async fn report_page(client: &StaffClient, query: &str) -> (u16, String) {
    let response = client.get(&format!("/staff/report?{query}")).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The part of `html` from the element with `id` to the end of its table.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let rest = &html[start..];
    &rest[..rest.find("</table>").unwrap()]
}

/// The units (ids) of the rows of a table.
fn units_of(table: &str) -> Vec<i64> {
    table
        .split("<tr data-unit=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

fn row(table: &str, unit: i64) -> &str {
    let start = table
        .find(&format!("<tr data-unit=\"{unit}\""))
        .unwrap_or_else(|| panic!("no row for unit {unit}"));
    let rest = &table[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

pub(crate) fn percent(v: &Value) -> String {
    v.as_f64().map_or("—".to_string(), format_percent)
}

/// The appendix row of every unit shows the API's figures for it, as printed.
fn assert_appendix_matches(html: &str, api: &Value) {
    let appendix = table(html, "phu-luc-don-vi");
    let rows = api["rows"].as_array().unwrap();
    let wanted: Vec<i64> = rows
        .iter()
        .map(|r| r["unit"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(units_of(appendix), wanted, "every unit, in the API's order");
    for r in rows {
        let tr = row(appendix, r["unit"]["id"].as_i64().unwrap());
        let name = r["unit"]["name"].as_str().unwrap();
        assert!(
            tr.contains(&format!("<td class=\"unit\">{name}</td>")),
            "{tr}"
        );
        let forms = format_count(r["responses"].as_u64().unwrap());
        assert!(
            tr.contains(&format!("<td class=\"num forms\">{forms}</td>")),
            "{name}: {tr}"
        );
        let index = percent(&r["index"]);
        assert!(
            tr.contains(&format!("<td class=\"num index\">{index}</td>")),
            "{name}: {tr}"
        );
        let factors: Vec<String> = tr
            .split("<td class=\"num factor\">")
            .skip(1)
            .map(|s| s[..s.find('<').unwrap()].to_string())
            .collect();
        let api_factors: Vec<String> = r["factors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| percent(&f["index"]))
            .collect();
        assert_eq!(factors, api_factors, "{name}");
        if r["index_ci"].is_object() {
            let ci = format!(
                "{} – {}",
                percent(&r["index_ci"]["low"]),
                percent(&r["index_ci"]["high"])
            );
            assert!(tr.contains(&ci), "{name}: {ci} in {tr}");
        }
        if let Some(rank) = r["rank"].as_i64() {
            assert!(
                tr.contains(&format!("<td class=\"num rank\">{rank}</td>")),
                "{tr}"
            );
        }
    }
}

#[tokio::test]
async fn the_report_shows_the_figures_of_the_api_for_every_unit() {
    let app = with_responses().await;
    let admin = app.staff_with_role("qt.bao.cao", "admin", &[]).await;
    let year = last_year();
    let api = api_quarter(&admin).await;

    // From the statistics overview: the link carries its filters.
    let overview = admin
        .get(&format!("/staff/stats?year={year}&period=q1"))
        .await
        .text()
        .await
        .unwrap();
    let link =
        format!("href=\"/staff/report?year={year}&amp;period=q1&amp;form=sipas-1001-dich-vu\"");
    assert!(
        overview.contains(&link),
        "the overview links to the report: {link}"
    );
    assert!(overview.contains(">In báo cáo</a>"));

    let (status, html) = report_page(
        &admin,
        &format!("year={year}&period=q1&form=sipas-1001-dich-vu"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&format!("<h1 class=\"doc-title\">{}</h1>", title())));
    assert!(html.contains(&format!("Quý I/{year}")));
    assert!(html.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
    assert!(html.contains("<p class=\"parent\">UBND HUYỆN XUÂN LỘC</p>"));
    assert!(html.contains("<p class=\"org\">PHÒNG NỘI VỤ</p>"));
    // The stylesheet under its content hash (cached for a year), as the other pages have it.
    let href = sipas::views::REPORT_STYLESHEET_HREF.as_str();
    assert!(href.starts_with("/static/report.") && href.len() > "/static/report.css".len());
    assert!(html.contains(&format!("href=\"{href}\"")));
    assert!(!html.contains("<script"));
    let css = app.get(href).await;
    assert_eq!(css.status(), 200);
    let css = css.text().await.unwrap();
    assert!(css.contains("size:A4 portrait") && css.contains("table-header-group"));

    // Every unit, with the API's figures.
    assert_eq!(api["rows"].as_array().unwrap().len(), 28);
    assert_appendix_matches(&html, &api);
    // The overall index and the forms received, as in the API, with an independent count.
    let total = percent(&api["total"]["index"]);
    assert!(
        html.contains(&format!("<strong class=\"index\">{total}</strong>")),
        "{total}"
    );
    let (from, to) = quarter();
    let forms: i64 = app
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM responses r JOIN form_versions v ON v.id = r.form_version_id \
             WHERE v.form_id = 'sipas-1001-dich-vu' \
             AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $1::text::date AND $2::text::date",
            &[&from.to_string(), &to.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(api["total"]["responses"], forms);
    assert!(html.contains(&format!(
        "Tổng số phiếu hợp lệ: <strong>{}</strong>",
        format_count(forms as u64)
    )));

    // Units below the 80% target and units short of forms: exactly those of the figures.
    let rows = api["rows"].as_array().unwrap();
    let below: Vec<i64> = rows
        .iter()
        .filter(|r| r["index"].as_f64().is_some_and(|i| round_percent(i) < 80.0))
        .map(|r| r["unit"]["id"].as_i64().unwrap())
        .collect();
    let short: Vec<i64> = rows
        .iter()
        .filter(|r| r["enough_sample"] == false)
        .map(|r| r["unit"]["id"].as_i64().unwrap())
        .collect();
    assert!(!short.is_empty(), "some units have fewer than 30 forms");
    if below.is_empty() {
        assert!(html.contains("Không có đơn vị nào có chỉ số dưới 80%."));
    } else {
        assert_eq!(units_of(table(&html, "bang-duoi-muc-tieu")), below);
    }
    assert_eq!(units_of(table(&html, "bang-chua-du-mau")), short);

    // Comments: the count SQL gives, and a handled one with its note.
    let db = app.sql().await;
    let newest = db
        .query_one(
            "SELECT t.response_id, t.item_id FROM response_texts t JOIN responses r ON r.id = t.response_id \
             JOIN units u ON u.id = r.unit_id WHERE u.code = $1 ORDER BY r.submitted_at DESC, r.id DESC LIMIT 1",
            &[&XUAN_BAC],
        )
        .await
        .expect("Xuân Bắc has comments");
    let (response_id, item_id): (i64, i32) = (newest.get(0), newest.get(1));
    let handled = admin
        .post(
            &format!("/staff/comments/{response_id}/{item_id}/handle"),
            &[("note", "Đã liên hệ và hướng dẫn lại người dân")],
        )
        .await;
    assert_eq!(handled.status(), 303);
    let (status, html) = report_page(
        &admin,
        &format!("year={year}&period=q1&form=sipas-1001-dich-vu"),
    )
    .await;
    assert_eq!(status, 200);
    let counted: i64 = db
        .query_one(
            "SELECT count(*) FROM response_texts t JOIN responses r ON r.id = t.response_id \
             WHERE (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $1::text::date AND $2::text::date",
            &[&from.to_string(), &to.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        html.contains(&format!(
            "Trong kỳ báo cáo có {} ý kiến góp ý; đã xử lý 1 (",
            format_count(counted as u64)
        )),
        "{counted} comments"
    );
    assert!(html.contains("Đã liên hệ và hướng dẫn lại người dân"));
    assert!(html.contains("<span class=\"state done\">Đã xử lý</span>"));

    // Bad filters: the form again with the message, no document.
    let (status, html) = report_page(&admin, "year=20x6").await;
    assert_eq!(status, 422);
    assert!(html.contains("Năm không hợp lệ"));
    assert!(!html.contains("<article"));
}

#[tokio::test]
async fn a_unit_account_reports_on_its_own_unit_only() {
    let app = with_responses().await;
    let unit = app
        .staff_with_role("cb.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let year = last_year();
    let api = api_quarter(&unit).await;
    let xuan_bac = app.unit_id(XUAN_BAC).await;
    assert_eq!(api["rows"].as_array().unwrap().len(), 1);
    assert_eq!(api["rows"][0]["unit"]["id"], xuan_bac);

    let (status, html) = report_page(&unit, &format!("year={year}&period=q1")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&title()));
    assert_appendix_matches(&html, &api);
    assert!(html.contains("<p class=\"org\">UBND XÃ XUÂN BẮC</p>"));
    for other in ["Xuân Định", "Bảo Hòa", "Phòng Tư pháp", "Gia Ray"] {
        assert!(
            !html.contains(other),
            "{other} is outside the account's scope"
        );
    }

    // Another unit: refused, and nothing of it shown.
    let xuan_dinh = app.unit_id(XUAN_DINH).await;
    let (status, html) =
        report_page(&unit, &format!("year={year}&period=q1&unit={xuan_dinh}")).await;
    assert_eq!(status, 422);
    assert!(!html.contains("Xuân Định"));
    assert!(!html.contains("<article"));
}

fn sipas(database_url: &str) -> tokio::process::Command {
    common::sipas_binary(database_url, "report")
}

async fn run(mut cmd: tokio::process::Command, args: &[&str]) -> std::process::Output {
    cmd.args(args);
    tokio::time::timeout(COMMAND_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("sipas {args:?} did not finish"))
        .expect("the sipas binary runs")
}

pub(crate) fn chromium_available() -> bool {
    if let Some(path) = std::env::var_os("SIPAS_CHROMIUM").filter(|p| !p.is_empty()) {
        return Path::new(&path).is_file();
    }
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|dir| dir.join("chromium").is_file() || dir.join("chromium-browser").is_file())
    })
}

/// Text of a PDF (`pdftotext -layout`), whitespace runs made single spaces.
pub(crate) fn pdf_text(pdf: &Path) -> String {
    let output = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs (apt-get install poppler-utils)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn sipas_report_writes_the_document_as_html_and_as_pdf() {
    let app = with_responses().await;
    let dir = TempDir::new("report");
    let year = last_year().to_string();
    let period = format!("{year}-q1");
    let admin = app.staff_with_role("qt.cli", "admin", &[]).await;
    let api = api_quarter(&admin).await;

    // HTML: one file, its stylesheet inlined, the same figures as the API.
    let html_path = dir.path().join("bao-cao.html");
    let output = run(
        sipas(&app.database.url),
        &[
            "report",
            "--year",
            &year,
            "--period",
            &period,
            "--out",
            html_path.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains(&title()));
    assert!(html.contains("<style>") && html.contains("@page"));
    assert!(!html.contains("<link") && !html.contains("class=\"report-tools"));
    assert_appendix_matches(&html, &api);

    // A unit code that does not exist: a precise error naming the flag, no file.
    let nothing = dir.path().join("khong-co.html");
    let output = run(
        sipas(&app.database.url),
        &[
            "report",
            "--year",
            &year,
            "--unit",
            "khong-co",
            "--out",
            nothing.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--unit: Không có đơn vị mã “khong-co”."),
        "{stderr}"
    );
    assert!(!nothing.exists());

    // PDF through headless Chromium.
    let pdf_path = dir.path().join("bao-cao.pdf");
    let args = [
        "report",
        "--year",
        &year,
        "--period",
        &period,
        "--out",
        pdf_path.to_str().unwrap(),
        "--pdf",
    ];
    if !chromium_available() {
        // Without Chromium: the precise message, and (for this run only) the test stops here.
        let output = run(sipas(&app.database.url), &args).await;
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(
                "chromium not found; install it or use --out report.html and print from a browser"
            ),
            "{stderr}"
        );
        eprintln!(
            "NOTICE: skipping the PDF part of sipas_report_writes_the_document_as_html_and_as_pdf: chromium is not installed"
        );
        return;
    }
    let output = run(sipas(&app.database.url), &args).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pdf = std::fs::read(&pdf_path).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let text = pdf_text(&pdf_path);
    assert!(text.contains(&title()), "{text}");
    assert!(text.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
    assert!(text.contains("Phụ lục 1. Chỉ số theo đơn vị và yếu tố"));
    for r in api["rows"].as_array().unwrap() {
        let name = r["unit"]["name"].as_str().unwrap();
        assert!(text.contains(name), "{name} in the PDF");
        let index = percent(&r["index"]);
        let line = format!("{name} {} ", format_count(r["responses"].as_u64().unwrap()));
        assert!(text.contains(&line), "{line:?} in the PDF");
        assert!(text.contains(&index), "{index} of {name} in the PDF");
    }
    assert!(!dir.path().join("bao-cao.pdf.partial").exists());
}
