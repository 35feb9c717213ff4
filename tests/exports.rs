//! Exports (`sipas::export::write`, what `sipas export` and the web's export jobs call), read
//! back and checked against what users compare them with:
//! - the workbook's "Tổng hợp" (every figure) and "Tiêu chí" (a sample) equal the JSON API
//!   (`GET /api/v1/stats`) for the same query, to the last decimal shown; percentages are
//!   numbers with a percentage format; headers are Vietnamese; "Dữ liệu" holds one row per
//!   response in scope (counted in SQL), "Mã hóa" one row per column of it, "Góp ý" every
//!   comment of the period;
//! - a unit account's export holds only its units (summary, data, comments), and asking for
//!   another unit fails with a precise message;
//! - the CSV starts with the UTF-8 BOM and its Vietnamese text round-trips; the codebook CSV
//!   describes every column; the `.sps` reads the CSV's twin by name with a label for every
//!   column; the zip holds the four, byte for byte;
//! - open answers with line breaks, quotes, commas, semicolons, emoji, 2,000 characters or
//!   formula-like starts round-trip through GNU PSPP running the exported syntax (one case per
//!   response, the stored texts exactly, labels and measurement levels, no error or warning, a
//!   unit name cannot run a command), and LibreOffice opening the CSV finds no formula;
//! - bad periods and units are refused with messages naming them.

use crate::common;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::{Datelike, NaiveDate};
use common::{StaffClient, TempDir, TestApp, full_answers, with_hidden};
use serde_json::Value;
use sipas::auth::Scope;
use sipas::export::{self, ExportFormat, ExportSpec, SpecRequest, UnitRef};
use sipas::stats::round_percent;

const FORM: &str = "sipas-1001-dich-vu";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const GIA_RAY: &str = "xuan-loc.gia-ray";
const HEADER_ROW: usize = export::xlsx::HEADER_ROW as usize;
const SHEETS: [&str; 7] = [
    "Tổng hợp",
    "Tiêu chí",
    "Mong đợi",
    "Thông tin người trả lời",
    "Góp ý",
    "Dữ liệu",
    "Mã hóa",
];

fn this_year() -> i32 {
    (chrono::Utc::now() + chrono::Duration::hours(7)).year()
}

/// Synthetic responses over the first quarter of last year (seed 5).
async fn generate(app: &TestApp, count: u64) {
    let year = this_year() - 1;
    let mut conn = app.pool.get().await.unwrap();
    let generated = sipas::demo::generate_responses(
        &mut conn,
        &app.forms,
        &sipas::demo::ResponseSpec {
            seed: 5,
            count,
            first: 0,
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

async fn resolve(app: &TestApp, scope: Scope, request: SpecRequest) -> ExportSpec {
    let mut conn = app.pool.get().await.unwrap();
    ExportSpec::resolve(&mut conn, &app.forms, FORM, scope, &request)
        .await
        .unwrap()
}

async fn write(app: &TestApp, spec: &ExportSpec, format: ExportFormat, dir: &Path) -> PathBuf {
    let path = dir.join(export::file_name(spec, format));
    let mut conn = app.pool.get().await.unwrap();
    let calls = std::sync::Mutex::new(Vec::new());
    let summary = export::write(
        &mut conn,
        &app.forms,
        spec,
        format,
        &path,
        &|done, total| calls.lock().unwrap().push((done, total)),
    )
    .await
    .unwrap();
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
    if format.reads_responses() {
        let calls = calls.into_inner().unwrap();
        let last = *calls.last().expect("progress is reported");
        assert_eq!(last, (summary.rows, summary.rows), "{calls:?}");
    }
    path
}

async fn json(client: &StaffClient, path: &str) -> Value {
    let response = client.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

type Sheet = calamine::Range<Data>;

fn sheets(path: &Path) -> HashMap<String, Sheet> {
    let mut workbook: Xlsx<_> = open_workbook(path).unwrap();
    assert_eq!(workbook.sheet_names(), SHEETS, "sheet names and order");
    SHEETS
        .iter()
        .map(|name| (name.to_string(), workbook.worksheet_range(name).unwrap()))
        .collect()
}

fn text(sheet: &Sheet, row: usize, col: usize) -> String {
    match sheet.get((row, col)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Empty) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn number(sheet: &Sheet, row: usize, col: usize) -> Option<f64> {
    match sheet.get((row, col)) {
        Some(Data::Float(f)) => Some(*f),
        Some(Data::Int(i)) => Some(*i as f64),
        _ => None,
    }
}

fn headers(sheet: &Sheet) -> Vec<String> {
    (0..sheet.width())
        .map(|c| text(sheet, HEADER_ROW, c))
        .collect()
}

fn column(sheet: &Sheet, header: &str) -> usize {
    headers(sheet)
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("no column {header:?} in {:?}", headers(sheet)))
}

/// Rows below the header.
fn body_rows(sheet: &Sheet) -> std::ops::Range<usize> {
    HEADER_ROW + 1..sheet.height()
}

/// A published share in the workbook: the API's value rounded as the dashboard shows it (two
/// decimals of a percent), as a fraction.
fn assert_published(cell: Option<f64>, api: &Value, what: &str) {
    match api.as_f64() {
        Some(value) => {
            let cell = cell.unwrap_or_else(|| panic!("{what}: empty cell, API {value}"));
            assert!(
                (cell - round_percent(value) / 100.0).abs() < 1e-12,
                "{what}: workbook {cell}, API {value}"
            );
            assert_eq!(
                format!("{:.2}", cell * 100.0),
                format!("{:.2}", round_percent(value)),
                "{what}: the digits shown"
            );
        }
        None => assert_eq!(cell, None, "{what}: API has no value"),
    }
}

/// The XML of one part of the workbook.
fn part(path: &Path, name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("no {name}"))
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// The cell styles (indices into cellXfs) whose number format is "0.00%".
fn percent_styles(path: &Path) -> Vec<usize> {
    let styles = part(path, "xl/styles.xml");
    let mut ids = vec!["10".to_string()]; // Excel's built-in "0.00%"
    for chunk in styles.split("<numFmt ").skip(1) {
        if chunk.contains("formatCode=\"0.00%\"") {
            let id = chunk.split("numFmtId=\"").nth(1).unwrap();
            ids.push(id[..id.find('"').unwrap()].to_string());
        }
    }
    let xfs = styles.split("<cellXfs").nth(1).unwrap();
    let xfs = &xfs[..xfs.find("</cellXfs>").unwrap()];
    xfs.split("<xf ")
        .skip(1)
        .enumerate()
        .filter(|(_, xf)| {
            ids.iter()
                .any(|id| xf.contains(&format!("numFmtId=\"{id}\"")))
        })
        .map(|(i, _)| i)
        .collect()
}

/// The style index of a cell ("E6") in a worksheet part.
fn cell_style(sheet_xml: &str, cell: &str) -> Option<usize> {
    let at = sheet_xml.find(&format!("<c r=\"{cell}\""))?;
    let tag = &sheet_xml[at..at + sheet_xml[at..].find('>')?];
    let s = tag.split(" s=\"").nth(1)?;
    s[..s.find('"')?].parse().ok()
}

fn column_letter(col: usize) -> String {
    let mut n = col + 1;
    let mut letters = Vec::new();
    while n > 0 {
        letters.push((b'A' + ((n - 1) % 26) as u8) as char);
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[tokio::test]
async fn workbook_figures_equal_the_api() {
    let app = TestApp::spawn().await;
    generate(&app, 900).await;
    let admin = app.staff_with_role("thu.ha", "admin", &[]).await;
    let year = this_year() - 1;
    // One commented response of the quarter is left out as suspicious (as the fraud checks
    // would), and the rollups rebuilt without it.
    let left_out = app
        .sql()
        .await
        .execute(
            "INSERT INTO response_reviews (response_id, excluded_by_default) \
             SELECT min(t.response_id), true FROM response_texts t \
             JOIN responses r ON r.id = t.response_id \
             JOIN form_versions fv ON fv.id = r.form_version_id \
             WHERE fv.form_id = $3 AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date \
                   BETWEEN $1::text::date AND $2::text::date",
            &[&format!("{year}-01-01"), &format!("{year}-03-31"), &FORM],
        )
        .await
        .unwrap();
    assert_eq!(left_out, 1);
    sipas::db::rollup::rebuild(&mut app.pool.get().await.unwrap())
        .await
        .unwrap();
    let spec = resolve(
        &app,
        Scope::All,
        SpecRequest {
            year,
            period: Some(format!("{year}-q1")),
            ..SpecRequest::default()
        },
    )
    .await;
    assert_eq!(
        spec.period_label,
        format!("Quý I/{year} (01/01/{year} – 31/03/{year})")
    );
    let dir = TempDir::new("exports");
    let path = write(&app, &spec, ExportFormat::Xlsx, dir.path()).await;
    let book = sheets(&path);
    let api = json(
        &admin,
        &format!("/api/v1/stats?from={year}-01-01&to={year}-03-31&form={FORM}"),
    )
    .await;
    assert_eq!(
        Some(i64::from(spec.query.root.unwrap())),
        api["root"]["id"].as_i64()
    );

    // Title and period on top of every sheet.
    for name in SHEETS {
        let sheet = &book[name];
        assert_eq!(text(sheet, 0, 0), spec.title, "{name}");
        assert!(text(sheet, 1, 0).contains(&spec.period_label), "{name}");
        assert!(text(sheet, 0, 0).starts_with("Kết quả khảo sát sự hài lòng"));
    }

    // Tổng hợp: every figure of every row.
    let summary = &book["Tổng hợp"];
    assert_eq!(
        &headers(summary)[..4],
        ["Mã đơn vị", "Đơn vị", "Số phiếu", "Chỉ tiêu số phiếu"]
    );
    let api_rows = api["rows"].as_array().unwrap();
    assert!(api_rows.len() > 20, "one row per commune and department");
    assert_eq!(
        summary.height() - HEADER_ROW - 1,
        api_rows.len() + 1,
        "rows and the total"
    );
    let factor_columns: Vec<usize> = api["total"]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            column(
                summary,
                &format!(
                    "Chỉ số {} ({})",
                    f["title"].as_str().unwrap(),
                    f["code"].as_str().unwrap()
                ),
            )
        })
        .collect();
    assert_eq!(factor_columns.len(), 5, "the five factors of QĐ 1001");
    let (c_responses, c_index, c_low, c_high, c_rank, c_flag) = (
        column(summary, "Số phiếu"),
        column(summary, "Chỉ số SIPAS"),
        column(summary, "Khoảng tin cậy 95% – cận dưới"),
        column(summary, "Khoảng tin cậy 95% – cận trên"),
        column(summary, "Xếp hạng"),
        column(summary, "Độ tin cậy"),
    );
    let mut checked = 0;
    for (i, row) in api_rows
        .iter()
        .chain(std::iter::once(&api["total"]))
        .enumerate()
    {
        let r = HEADER_ROW + 1 + i;
        let code = row["unit"]["code"].as_str().unwrap();
        assert_eq!(text(summary, r, 0), code, "row order is the API's");
        assert_eq!(
            number(summary, r, c_responses),
            row["responses"].as_f64(),
            "{code}"
        );
        for (f, col) in factor_columns.iter().enumerate() {
            assert_published(
                number(summary, r, *col),
                &row["factors"][f]["index"],
                &format!("{code} factor {f}"),
            );
        }
        assert_published(number(summary, r, c_index), &row["index"], code);
        assert_published(number(summary, r, c_low), &row["index_ci"]["low"], code);
        assert_published(number(summary, r, c_high), &row["index_ci"]["high"], code);
        if i < api_rows.len() {
            assert_eq!(number(summary, r, c_rank), row["rank"].as_f64(), "{code}");
        }
        let flag = if row["enough_sample"].as_bool().unwrap() {
            "đủ mẫu"
        } else {
            "chưa đủ mẫu"
        };
        assert_eq!(text(summary, r, c_flag), flag, "{code}");
        checked += 1;
    }
    assert_eq!(checked, api_rows.len() + 1);
    // The total row's figures are not all "—": there are responses.
    assert!(number(summary, HEADER_ROW + 1 + api_rows.len(), c_index).is_some());

    // Percentages are numbers with a percentage format.
    let percent = percent_styles(&path);
    let sheet1 = part(&path, "xl/worksheets/sheet1.xml");
    for col in [c_index, c_low, c_high, factor_columns[0]] {
        let cell = format!("{}{}", column_letter(col), HEADER_ROW + 2);
        let style = cell_style(&sheet1, &cell).unwrap_or_else(|| panic!("{cell} has a style"));
        assert!(
            percent.contains(&style),
            "{cell}: style {style} not in {percent:?}"
        );
    }

    // Tiêu chí: a sample of rows against the API's criteria.
    let criteria = &book["Tiêu chí"];
    let (k_code, k_n, k_mean, k_index, k_low, k_high) = (
        column(criteria, "Mã tiêu chí"),
        column(criteria, "Số câu trả lời hợp lệ"),
        column(criteria, "Điểm trung bình"),
        column(criteria, "Chỉ số hài lòng"),
        column(criteria, "Khoảng tin cậy 95% – cận dưới"),
        column(criteria, "Khoảng tin cậy 95% – cận trên"),
    );
    let share_columns: Vec<(i64, usize)> = headers(criteria)
        .iter()
        .enumerate()
        .filter_map(|(c, h)| {
            let code = h.strip_prefix("Tỉ lệ “")?.split('.').next()?.parse().ok()?;
            Some((code, c))
        })
        .collect();
    assert_eq!(share_columns.len(), 5, "{:?}", headers(criteria));
    let mut sampled = 0;
    for r in body_rows(criteria).step_by(7) {
        let unit = text(criteria, r, 0);
        let item = text(criteria, r, k_code);
        let api_unit = api_rows
            .iter()
            .chain(std::iter::once(&api["total"]))
            .rfind(|u| u["unit"]["code"] == unit.as_str())
            .unwrap();
        let stats = api_unit["factors"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["criteria"].as_array().unwrap())
            .find(|c| c["code"] == item.as_str())
            .map(|c| &c["stats"])
            .unwrap();
        let what = format!("{unit} {item}");
        assert_eq!(
            number(criteria, r, k_n),
            stats["n_valid"].as_f64(),
            "{what}"
        );
        assert_published(number(criteria, r, k_index), &stats["index"], &what);
        assert_published(number(criteria, r, k_low), &stats["index_ci"]["low"], &what);
        assert_published(
            number(criteria, r, k_high),
            &stats["index_ci"]["high"],
            &what,
        );
        if let Some(mean) = stats["mean"].as_f64() {
            // The workbook holds the mean rounded to two decimals half away from zero, as
            // published (4.625 gives 4.63, where `{:.2}` would give 4.62).
            let cell = number(criteria, r, k_mean).unwrap();
            let published = (mean * 100.0).round() / 100.0;
            assert!(
                (cell - published).abs() < 1e-9,
                "{what}: {cell} against {mean}"
            );
        }
        if stats["n_valid"].as_u64().unwrap() > 0 {
            for share in stats["shares"].as_array().unwrap() {
                let code = share[0].as_i64().unwrap();
                let col = share_columns.iter().find(|(c, _)| *c == code).unwrap().1;
                assert_published(number(criteria, r, col), &share[1], &what);
            }
        }
        sampled += 1;
    }
    assert!(sampled >= 20, "{sampled}");

    // Dữ liệu: one row per response of the form in the quarter, all units.
    let db = app.sql().await;
    let in_quarter: i64 = db
        .query_one(
            "SELECT count(*) FROM responses r JOIN form_versions fv ON fv.id = r.form_version_id \
             WHERE fv.form_id = $1 AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date \
             BETWEEN $2::text::date AND $3::text::date",
            &[&FORM, &format!("{year}-01-01"), &format!("{year}-03-31")],
        )
        .await
        .unwrap()
        .get(0);
    assert!(in_quarter > 800, "{in_quarter}");
    let data = &book["Dữ liệu"];
    assert_eq!(body_rows(data).len() as i64, in_quarter);
    let data_headers = headers(data);
    assert_eq!(
        &data_headers[..3],
        ["response_id", "submitted_at", "unit_code"]
    );
    // Coded answers are numbers.
    let tc1 = column(data, "TC1");
    assert!(
        body_rows(data).any(|r| number(data, r, tc1).is_some_and(|v| (1.0..=5.0).contains(&v)))
    );

    // Mã hóa: every data column, with its question and codes.
    let codebook = &book["Mã hóa"];
    assert_eq!(
        headers(codebook),
        ["Cột", "Nhóm câu hỏi", "Nội dung", "Kiểu", "Mã và nhãn"]
    );
    let described: Vec<String> = body_rows(codebook).map(|r| text(codebook, r, 0)).collect();
    assert_eq!(described, data_headers);
    let tc1_row = body_rows(codebook)
        .find(|r| text(codebook, *r, 0) == "TC1")
        .unwrap();
    assert!(
        text(codebook, tc1_row, 4).starts_with("1 = "),
        "{}",
        text(codebook, tc1_row, 4)
    );

    // Góp ý: every comment of the quarter; those of responses left out as suspicious say so,
    // and only those.
    let counts = db
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE rv.excluded) \
             FROM response_texts t JOIN responses r ON r.id = t.response_id \
             JOIN form_versions fv ON fv.id = r.form_version_id \
             LEFT JOIN response_reviews rv ON rv.response_id = r.id \
             WHERE fv.form_id = $1 AND (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date \
             BETWEEN $2::text::date AND $3::text::date",
            &[&FORM, &format!("{year}-01-01"), &format!("{year}-03-31")],
        )
        .await
        .unwrap();
    let (comments, excluded): (i64, i64) = (counts.get(0), counts.get(1));
    assert!(comments > 0);
    assert_eq!(body_rows(&book["Góp ý"]).len() as i64, comments);
    assert_eq!(text(&book["Góp ý"], HEADER_ROW + 1, 6), "Chưa xử lý");
    assert_eq!(
        headers(&book["Góp ý"]).last().map(String::as_str),
        Some("Phiếu")
    );
    let marked = body_rows(&book["Góp ý"])
        .filter(|r| text(&book["Góp ý"], *r, 10) == sipas::views::staff::comments::EXCLUDED_NOTE)
        .count() as i64;
    assert!(excluded > 0);
    assert_eq!(marked, excluded);

    // Thông tin người trả lời and Mong đợi have rows, with Vietnamese headers.
    assert!(body_rows(&book["Thông tin người trả lời"]).len() > 10);
    assert_eq!(text(&book["Mong đợi"], HEADER_ROW, 1), "Đơn vị");
    assert!(body_rows(&book["Mong đợi"]).len() > 10);
}

#[tokio::test]
async fn a_unit_account_exports_only_its_units() {
    let app = TestApp::spawn().await;
    generate(&app, 600).await;
    let unit = app.staff_with_role("xuan.bac", "unit", &[XUAN_BAC]).await;
    let year = this_year() - 1;
    let scope = {
        let db = app.sql().await;
        let id: i32 = db
            .query_one("SELECT id FROM accounts WHERE username = 'xuan.bac'", &[])
            .await
            .unwrap()
            .get(0);
        let mut conn = app.pool.get().await.unwrap();
        Scope::Units(
            sipas::db::accounts::Account::unit_subtree(&mut conn, id)
                .await
                .unwrap(),
        )
    };
    let spec = resolve(
        &app,
        scope.clone(),
        SpecRequest {
            year,
            ..SpecRequest::default()
        },
    )
    .await;
    assert_eq!(spec.unit_code, XUAN_BAC);
    let dir = TempDir::new("exports-unit");
    let path = write(&app, &spec, ExportFormat::Xlsx, dir.path()).await;
    let book = sheets(&path);
    let summary = &book["Tổng hợp"];
    assert_eq!(body_rows(summary).len(), 1);
    assert_eq!(text(summary, HEADER_ROW + 1, 0), XUAN_BAC);
    let api = json(&unit, &format!("/api/v1/stats?year={year}&form={FORM}")).await;
    assert_published(
        number(summary, HEADER_ROW + 1, column(summary, "Chỉ số SIPAS")),
        &api["total"]["index"],
        "the unit's index",
    );
    let data = &book["Dữ liệu"];
    let unit_col = column(data, "unit_code");
    let own: i64 = app
        .count(
            "SELECT count(*) FROM responses r JOIN units u ON u.id = r.unit_id \
             JOIN form_versions fv ON fv.id = r.form_version_id \
             WHERE u.code = 'xuan-loc.xuan-bac' AND fv.form_id = 'sipas-1001-dich-vu'",
        )
        .await;
    assert!(own > 0);
    assert_eq!(body_rows(data).len() as i64, own);
    assert!(body_rows(data).all(|r| text(data, r, unit_col) == XUAN_BAC));
    let comments = &book["Góp ý"];
    let unit_name: String = app
        .sql()
        .await
        .query_one("SELECT name FROM units WHERE code = $1", &[&XUAN_BAC])
        .await
        .unwrap()
        .get(0);
    assert!(body_rows(comments).all(|r| text(comments, r, 1) == unit_name));

    // The CSV too.
    let csv_path = write(&app, &spec, ExportFormat::Csv, dir.path()).await;
    let bytes = std::fs::read(&csv_path).unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len() as i64, own);
    assert!(rows.iter().all(|r| &r[2] == XUAN_BAC));

    // Another unit: refused, naming it.
    let mut conn = app.pool.get().await.unwrap();
    let error = ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        scope,
        &SpecRequest {
            year,
            unit: Some(UnitRef::Code(GIA_RAY.into())),
            ..SpecRequest::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.field(), "unit");
    assert_eq!(
        error.to_string(),
        format!("Đơn vị “{GIA_RAY}” không thuộc phạm vi của tài khoản.")
    );
}

#[tokio::test]
async fn csv_codebook_and_spss_read_together() {
    let app = TestApp::spawn().await;
    let comment = "Ý kiến: cán bộ một cửa huyện Xuân Lộc rất nhiệt tình, \"chu đáo\".";
    let code = app.desk_code(XUAN_BAC).await;
    let (_, token, version) = app.open_survey(&code).await;
    let mut fields = full_answers("4");
    fields.push(("YK", comment.to_string()));
    let sent = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(sent.status(), 200);
    app.settle_rollups().await;
    let spec = resolve(
        &app,
        Scope::All,
        SpecRequest {
            year: this_year(),
            unit: Some(UnitRef::Code(XUAN_BAC.into())),
            ..SpecRequest::default()
        },
    )
    .await;
    let dir = TempDir::new("exports-csv");

    let csv_path = write(&app, &spec, ExportFormat::Csv, dir.path()).await;
    let bytes = std::fs::read(&csv_path).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    assert!(text.starts_with("response_id,submitted_at,unit_code,"));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let yk = header.iter().position(|h| h == "YK").unwrap();
    assert_eq!(&rows[0][yk], comment, "Vietnamese text round-trips");
    let tc1 = header.iter().position(|h| h == "TC1").unwrap();
    assert_eq!(&rows[0][tc1], "4");

    let codebook_path = write(&app, &spec, ExportFormat::Codebook, dir.path()).await;
    let codebook = std::fs::read(&codebook_path).unwrap();
    assert_eq!(&codebook[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::Reader::from_reader(&codebook[3..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["Cột", "Nhóm câu hỏi", "Nội dung", "Kiểu", "Mã và nhãn"]
    );
    let described: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        described
            .iter()
            .map(|r| r[0].to_string())
            .collect::<Vec<_>>(),
        header
    );
    let yk_row = described.iter().find(|r| &r[0] == "YK").unwrap();
    assert_eq!(&yk_row[2], "Ý kiến khác (xin ghi cụ thể)");

    let sps_path = write(&app, &spec, ExportFormat::Sps, dir.path()).await;
    let sps = std::fs::read_to_string(&sps_path).unwrap();
    let data_file = export::data_file_name(&spec);
    assert_eq!(csv_path.file_name().unwrap().to_str().unwrap(), data_file);
    let spss_file = export::spss_data_file_name(&spec);
    assert_eq!(spss_file, data_file.replace(".csv", "-spss.csv"));
    assert!(
        sps.contains(&format!("/FILE='{spss_file}'")),
        "the syntax reads the CSV's twin by its name: {sps}"
    );
    assert!(sps.contains("/ENCODING='UTF8'"));
    assert!(sps.contains("/FIRSTCASE=2"));
    let labels = &sps[sps.find("VARIABLE LABELS").unwrap()..sps.find("VALUE LABELS").unwrap()];
    for name in &header {
        assert!(
            labels.contains(&format!(" {name} '")),
            "no variable label for {name}"
        );
        assert!(sps.contains(&format!("    {name} ")), "{name} not read");
    }
    assert!(
        sps.contains("    YK A8001\n"),
        "open answers are strings of 2,000 characters (4 bytes each at most), and an apostrophe"
    );
    assert!(sps.contains("    TC1 F8.0\n"));
    let values = &sps[sps.find("VALUE LABELS").unwrap()..];
    assert!(values.contains("TC1 1 '"), "{values}");

    // The zip: the same three files, and the CSV's twin for SPSS (the same bytes here, as the
    // comment has no line break and does not start like a formula).
    let zip_path = write(&app, &spec, ExportFormat::Bundle, dir.path()).await;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected = vec![
        data_file.clone(),
        spss_file.clone(),
        export::file_name(&spec, ExportFormat::Codebook),
        export::file_name(&spec, ExportFormat::Sps),
    ];
    expected.sort();
    assert_eq!(names, expected);
    for (name, path) in [
        (data_file.clone(), &csv_path),
        (
            export::file_name(&spec, ExportFormat::Codebook),
            &codebook_path,
        ),
        (export::file_name(&spec, ExportFormat::Sps), &sps_path),
        (spss_file.clone(), &csv_path),
    ] {
        let mut inside = Vec::new();
        zip.by_name(&name)
            .unwrap()
            .read_to_end(&mut inside)
            .unwrap();
        assert_eq!(inside, std::fs::read(path).unwrap(), "{name}");
    }
}

#[tokio::test]
async fn bad_periods_and_units_are_named() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.get().await.unwrap();
    let year = this_year();
    let attempt = |period: Option<&str>, unit: Option<&str>, form: Option<&str>| SpecRequest {
        year,
        period: period.map(String::from),
        unit: unit.map(|u| UnitRef::Code(u.into())),
        form: form.map(String::from),
        channel: None,
    };
    for (request, field, needle) in [
        (attempt(Some("2026-q5"), None, None), "period", "“2026-q5”"),
        (attempt(Some("Quý IX"), None, None), "period", "“Quý IX”"),
        (
            attempt(Some(&format!("{}-q1", year - 1)), None, None),
            "period",
            "-q1",
        ),
        (attempt(None, Some("khong-co"), None), "unit", "“khong-co”"),
        (attempt(None, None, Some("mau-la")), "form", "“mau-la”"),
    ] {
        let error = ExportSpec::resolve(&mut conn, &app.forms, FORM, Scope::All, &request)
            .await
            .unwrap_err();
        assert_eq!(error.field(), field, "{error}");
        assert!(error.to_string().contains(needle), "{error}");
    }
    // A period of the year's plan, by its name in any case: its days and targets.
    let district = ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        Scope::All,
        &attempt(None, None, None),
    )
    .await
    .unwrap();
    let period: i32 = app
        .sql()
        .await
        .query_one(
            "WITH p AS (INSERT INTO survey_plans (unit_id, year, title, form_id, margin_of_error) \
                        VALUES ($1, $2, 'Kế hoạch', $3, 0.05) RETURNING id) \
             INSERT INTO plan_periods (plan_id, name, starts_on, ends_on) \
             SELECT id, 'Quý I', make_date($2::int, 1, 5), make_date($2::int, 3, 20) FROM p \
             RETURNING id",
            &[&district.query.root.unwrap(), &(year as i16), &FORM],
        )
        .await
        .unwrap()
        .get(0);
    let spec = ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        Scope::All,
        &attempt(Some("QUÝ I"), None, None),
    )
    .await
    .unwrap();
    assert_eq!(spec.query.period_id, Some(period));
    assert_eq!(
        (spec.query.from, spec.query.to),
        (
            NaiveDate::from_ymd_opt(year, 1, 5).unwrap(),
            NaiveDate::from_ymd_opt(year, 3, 20).unwrap()
        )
    );
    let error = ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        Scope::All,
        &attempt(Some("Quý II"), None, None),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("(“Quý I”)"), "{error}");

    // A half-year and a month resolve to their days.
    let spec = ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        Scope::All,
        &attempt(Some(&format!("{year}-h2")), None, None),
    )
    .await
    .unwrap();
    assert_eq!(
        (spec.query.from, spec.query.to),
        (
            NaiveDate::from_ymd_opt(year, 7, 1).unwrap(),
            NaiveDate::from_ymd_opt(year, 12, 31).unwrap()
        )
    );
}

/// Whether the external program `tool` (from Debian's `package`) runs. Without it the test
/// fails, unless `SIPAS_SKIP_TOOLS=1` (and neither `CI` nor `SIPAS_REQUIRE_TOOLS` is set): then
/// it prints a notice and the test passes without checking anything.
fn require_tool(test: &str, tool: &str, package: &str) -> bool {
    let runs = std::process::Command::new(tool)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if runs {
        return true;
    }
    let required =
        std::env::var_os("CI").is_some() || std::env::var_os("SIPAS_REQUIRE_TOOLS").is_some();
    if !required && std::env::var("SIPAS_SKIP_TOOLS").as_deref() == Ok("1") {
        eprintln!("NOTICE: skipping {test}: `{tool}` not found (SIPAS_SKIP_TOOLS=1)");
        return false;
    }
    panic!(
        "{test} cannot run: `{tool}` not found. Install it with \
         `apt-get install -y --no-install-recommends {package}`, or set SIPAS_SKIP_TOOLS=1 to \
         skip such tests explicitly (ignored when CI or SIPAS_REQUIRE_TOOLS is set)."
    );
}

/// Open answers a citizen may write; the first character of each is kept by storage (which
/// trims), except the tab, which the test writes in SQL.
fn awkward_comments() -> Vec<String> {
    let long: String = "Ý kiến dài 😀, \"trích\"; hết.\n"
        .chars()
        .cycle()
        .take(1999)
        .collect();
    let mut long = long.trim().to_string();
    while long.chars().count() < 2000 {
        long.push('x');
    }
    assert_eq!(long.chars().count(), 2000);
    vec![
        "Dòng một\nDòng hai".into(),
        "Xuống dòng kiểu Windows\r\nhai".into(),
        "Cán bộ nói \"chờ đã\", rồi 'đi'; xong.".into(),
        "a,b;c,,;;\"\"".into(),
        "Rất tốt 😀👍🏽 🇻🇳".into(),
        long,
        "=HYPERLINK(\"http://x\",\"y\")".into(),
        "+cmd|' /C calc'!A0".into(),
        "@SUM(1+1)".into(),
        "-1+2".into(),
        "'=1+1".into(),
        "TAB PLACEHOLDER".into(),
        String::new(),
    ]
}

/// The XML text of a spreadsheet cell value, as LibreOffice writes it in a `.fods`.
fn fods_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[tokio::test]
async fn open_answers_round_trip_through_pspp_and_are_never_formulas() {
    const TEST: &str = "open_answers_round_trip_through_pspp_and_are_never_formulas";
    if !require_tool(TEST, "pspp", "pspp")
        || !require_tool(TEST, "soffice", "libreoffice-calc-nogui")
    {
        return;
    }
    let app = TestApp::spawn().await;
    let dir = TempDir::new("exports-pspp");
    let code = app.desk_code(XUAN_BAC).await;
    for (i, comment) in awkward_comments().iter().enumerate() {
        let (_, token, version) = app.open_survey(&code).await;
        let mut fields = full_answers(&(i % 5 + 1).to_string());
        if !comment.is_empty() {
            fields.push(("YK", comment.clone()));
        }
        let sent = app
            .post_form(
                &format!("/s/{code}"),
                &with_hidden(&token, &version, &fields),
            )
            .await;
        assert_eq!(sent.status(), 200);
    }
    app.settle_rollups().await;
    let sql = app.sql().await;
    // Storage trims a leading tab; an import or a later edit may still store one.
    let tabbed = sql
        .execute(
            "UPDATE response_texts SET body = E'\\t=1+1' WHERE body = 'TAB PLACEHOLDER'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(tabbed, 1);
    // A unit name that would end the comment at the top of the syntax and run a command.
    let pwned = dir.path().join("pwned");
    let unit_name = format!(
        "Xã Xuân Bắc\nHOST COMMAND=['touch {}'].\r\nHOST COMMAND=['touch {}'].",
        pwned.display(),
        pwned.display()
    );
    sql.execute(
        "UPDATE units SET name = $1 WHERE code = $2",
        &[&unit_name, &XUAN_BAC],
    )
    .await
    .unwrap();
    let stored: Vec<(i64, i32, String)> = sql
        .query(
            "SELECT r.id, r.answers[1]::int, coalesce(t.body, '') FROM responses r \
             LEFT JOIN response_texts t ON t.response_id = r.id ORDER BY r.id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(stored.len(), awkward_comments().len());
    assert!(
        stored
            .iter()
            .any(|(_, _, body)| body == "Dòng một\nDòng hai")
    );
    assert!(stored.iter().any(|(_, _, body)| body == "\t=1+1"));

    let spec = resolve(
        &app,
        Scope::All,
        SpecRequest {
            year: this_year(),
            unit: Some(UnitRef::Code(XUAN_BAC.into())),
            ..SpecRequest::default()
        },
    )
    .await;
    assert!(spec.title.contains("HOST COMMAND"), "{}", spec.title);
    let zip_path = write(&app, &spec, ExportFormat::Bundle, dir.path()).await;
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the SPSS twin's spool is removed: {leftovers:?}"
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let data = dir.path().join("data");
    zip.extract(&data).unwrap();
    let csv_name = export::data_file_name(&spec);
    let sps_name = export::file_name(&spec, ExportFormat::Sps);

    // LibreOffice opens the CSV: text everywhere, no formula.
    let profile = format!("file://{}", dir.path().join("lo-profile").display());
    let converted = dir.path().join("lo");
    let output = std::process::Command::new("soffice")
        .arg(format!("-env:UserInstallation={profile}"))
        .args([
            "--headless",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "fods",
        ])
        .arg("--outdir")
        .arg(&converted)
        .arg(data.join(&csv_name))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let fods = std::fs::read_to_string(converted.join(csv_name.replace(".csv", ".fods")))
        .unwrap_or_else(|e| panic!("{e}: {output:?}"));
    assert!(!fods.contains("table:formula"), "a cell holds a formula");
    for shown in [
        "'=HYPERLINK(\"http://x\",\"y\")",
        "'+cmd|' /C calc'!A0",
        "'@SUM(1+1)",
        "'-1+2",
        "''=1+1",
        "Rất tốt 😀👍🏽 🇻🇳",
        "Cán bộ nói \"chờ đã\", rồi 'đi'; xong.",
    ] {
        assert!(
            fods.contains(&fods_escape(shown)),
            "{shown} not shown as text"
        );
    }

    // The CSV: RFC 4180, real line breaks, formula-like cells after an apostrophe.
    let csv_bytes = std::fs::read(data.join(&csv_name)).unwrap();
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let yk = header.iter().position(|h| h == "YK").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), stored.len());
    for ((id, _, body), row) in stored.iter().zip(&rows) {
        assert_eq!(row[0], id.to_string());
        let expected = match body.chars().next() {
            Some('=' | '+' | '-' | '@' | '\t' | '\'') => format!("'{body}"),
            _ => body.clone(),
        };
        assert_eq!(row[yk], expected, "response {id}");
    }

    // PSPP runs the syntax as shipped, then writes what it read.
    let mut syntax = std::fs::read_to_string(data.join(&sps_name)).unwrap();
    syntax.push_str(
        "SAVE TRANSLATE /OUTFILE='read-back.csv' /TYPE=CSV /REPLACE /FIELDNAMES /CELLS=VALUES.\n\
         DISPLAY DICTIONARY.\n",
    );
    std::fs::write(data.join("check.sps"), syntax).unwrap();
    // The listing as CSV (one table cell per field, labels unwrapped); errors and warnings go
    // to standard error as well.
    let output = std::process::Command::new("pspp")
        .args(["check.sps", "-o", "listing.csv"])
        .current_dir(&data)
        .output()
        .unwrap();
    let listing = format!(
        "{}{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(data.join("listing.csv")).unwrap_or_default()
    );
    assert!(output.status.success(), "{listing}");
    let lower = listing.to_lowercase();
    assert!(
        !lower.contains("error") && !lower.contains("warning"),
        "PSPP complained:\n{listing}"
    );
    assert!(!pwned.exists(), "a unit name ran a command in PSPP");
    for expected in [
        "Ý kiến khác (xin ghi cụ thể)",
        "Ordinal",
        "Nominal",
        "Rất hài lòng",
        "Nam",
    ] {
        assert!(listing.contains(expected), "{expected} not in\n{listing}");
    }
    let read_back = std::fs::read(data.join("read-back.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(read_back.as_slice());
    let names: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(names, header, "PSPP reads every column");
    let cases: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(cases.len(), stored.len(), "one case per response");
    let tc1 = names.iter().position(|h| h == "TC1").unwrap();
    for ((id, score, body), case) in stored.iter().zip(&cases) {
        assert_eq!(case[0].trim(), id.to_string());
        assert_eq!(case[tc1].trim(), score.to_string(), "TC1 of response {id}");
        assert_eq!(case[yk].trim_end(), body, "YK of response {id}");
        assert_eq!(case[2].trim_end(), XUAN_BAC);
    }
}
