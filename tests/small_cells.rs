//! Small cells (issue 15, "Privacy that holds"): breakdowns by the respondents' own attributes
//! (gender, age band, ethnicity, occupation...) of fewer than 5 respondents are shown as "< 5"
//! to unit accounts, on the dashboard, in the JSON API and in the exports, and a unit account's
//! raw data has no respondent columns; admins (Phòng Nội vụ) and viewers keep exact figures.
//!
//! Ten citizens answer at the desk of Xuân Bắc through the real QR path, with:
//! - gender: 3 men, 7 women (one small cell: the other is hidden with it, or 10 − 7 gives 3);
//! - age band: 2, 3, 5, 0, 0 (two small cells adding up to 5: nothing else hidden);
//! - occupation: all 10 "Làm công việc tự do";
//! - ethnicity: 4 answered "Kinh", 6 left it blank (a total of 4: everything hidden).

use crate::common;

use calamine::{Data, Reader, Xlsx};
use chrono::Datelike;
use common::{StaffClient, TempDir, TestApp, TestDatabase, full_answers, test_config, with_hidden};
use serde_json::Value;

const FORM: &str = "sipas-1001-dich-vu";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";

fn this_year() -> i32 {
    (chrono::Utc::now() + chrono::Duration::hours(7)).year()
}

/// The respondent answers of citizen `i` (0..10).
fn respondent(i: usize) -> Vec<(&'static str, &'static str)> {
    let mut fields = vec![
        ("GIOI_TINH", if i < 3 { "1" } else { "2" }),
        (
            "DO_TUOI",
            match i {
                0..2 => "1",
                2..5 => "2",
                _ => "3",
            },
        ),
        ("NGHE_NGHIEP", "3"),
    ];
    if i < 4 {
        fields.push(("DAN_TOC", "1"));
    }
    fields
}

/// Ten citizens answering at one desk within a minute, all from this test's address, are what
/// the fraud signals look for (`sipas::db::flags`): here they are honest, so the signals are
/// set out of reach, and `answer` does not straight-line.
async fn trust_every_response(app: &TestApp) {
    app.sql()
        .await
        .batch_execute(
            "UPDATE fraud_rules SET desk_burst_min = 1000, client_burst_min = 1000, \
             identical_run_desk = 1000, identical_run_client = 1000, straight_min_criteria = 1000, \
             min_seconds_base = 0, min_seconds_per_item = 0",
        )
        .await
        .unwrap();
}

async fn answer(app: &TestApp, code: &str, i: usize) {
    let (_, token, version) = app.open_survey(code).await;
    let answers = full_answers("4");
    let mut fields = with_hidden(&token, &version, &answers);
    fields.extend(respondent(i));
    let sent = app.post_form(&format!("/s/{code}"), &fields).await;
    assert_eq!(sent.status(), 200, "citizen {i}");
}

use crate::common::html_text as text;

/// The breakdown table of item `code` on a unit's page: its caption and its body rows (label,
/// count, share).
fn breakdown(html: &str, code: &str) -> (String, Vec<[String; 3]>) {
    let start = html
        .find(&format!("data-item=\"{code}\""))
        .unwrap_or_else(|| panic!("no breakdown {code} in:\n{}", text(html)));
    let table = &html[start..];
    let table = &table[..table.find("</table>").unwrap()];
    let caption = {
        let s = table.find("<caption>").unwrap() + "<caption>".len();
        text(&table[s..s + table[s..].find("</caption>").unwrap()])
    };
    let body = &table[table.find("<tbody>").unwrap()..];
    let rows = body
        .split("<tr")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|cell| {
                    let s = cell.find('>').unwrap() + 1;
                    text(&cell[s..cell.find("</td>").unwrap()])
                })
                .collect();
            [cells[0].clone(), cells[1].clone(), cells[2].clone()]
        })
        .collect();
    (caption, rows)
}

fn rows(expected: &[(&str, &str, &str)]) -> Vec<[String; 3]> {
    expected
        .iter()
        .map(|(a, b, c)| [a.to_string(), b.to_string(), c.to_string()])
        .collect()
}

async fn page(client: &StaffClient, path: &str) -> String {
    let response = client.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn api(client: &StaffClient, path: &str) -> Value {
    let response = client.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// The breakdown of `code` in a report's JSON unit (`total` or a row).
fn json_breakdown<'a>(unit: &'a Value, code: &str) -> &'a Value {
    unit["respondents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == code)
        .unwrap_or_else(|| panic!("no breakdown {code} in {unit}"))
}

fn json_counts(b: &Value) -> Vec<Value> {
    b["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[2].clone())
        .collect()
}

/// Every count of every breakdown of a report's JSON (total and rows).
fn every_count(report: &Value) -> Vec<Value> {
    let mut units = vec![&report["total"]];
    units.extend(report["rows"].as_array().unwrap());
    units
        .into_iter()
        .flat_map(|u| u["respondents"].as_array().unwrap())
        .flat_map(|b| json_counts(b).into_iter().chain([b["answered"].clone()]))
        .collect()
}

fn cell_text(sheet: &calamine::Range<Data>, row: usize, col: usize) -> String {
    match sheet.get((row, col)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Int(i)) => i.to_string(),
        Some(Data::Empty) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Exports this year's figures as `client`, for its top unit (answered at once).
async fn export(client: &StaffClient, format: &str) -> Vec<u8> {
    let year = this_year().to_string();
    let response = client
        .post(
            "/staff/exports",
            &[
                ("year", year.as_str()),
                ("period", ""),
                ("unit", ""),
                ("form", FORM),
                ("channel", ""),
                ("format", format),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "the {format} file at once");
    response.bytes().await.unwrap().to_vec()
}

async fn workbook(client: &StaffClient) -> Xlsx<std::io::Cursor<Vec<u8>>> {
    Xlsx::new(std::io::Cursor::new(export(client, "xlsx").await)).expect("a readable workbook")
}

async fn export_text(client: &StaffClient, format: &str) -> String {
    String::from_utf8(export(client, format).await).unwrap()
}

/// The rows (code, label, count, share) of the respondents' sheet for the unit named `unit`.
fn sheet_rows(
    book: &mut Xlsx<std::io::Cursor<Vec<u8>>>,
    unit: &str,
    question: &str,
) -> Vec<[String; 3]> {
    let sheet = book.worksheet_range("Thông tin người trả lời").unwrap();
    let header = sipas::export::xlsx::HEADER_ROW as usize;
    (header + 1..sheet.height())
        .filter(|r| cell_text(&sheet, *r, 0) == unit && cell_text(&sheet, *r, 2) == question)
        .map(|r| {
            [
                cell_text(&sheet, r, 5),
                cell_text(&sheet, r, 6),
                cell_text(&sheet, r, 7),
            ]
        })
        .collect()
}

fn data_header(book: &mut Xlsx<std::io::Cursor<Vec<u8>>>) -> Vec<String> {
    let sheet = book.worksheet_range("Dữ liệu").unwrap();
    let header = sipas::export::xlsx::HEADER_ROW as usize;
    (0..sheet.width())
        .map(|c| cell_text(&sheet, header, c))
        .collect()
}

const RESPONDENT_COLUMNS: [&str; 7] = [
    "GIOI_TINH",
    "DO_TUOI",
    "DAN_TOC",
    "HOC_VAN",
    "NGHE_NGHIEP",
    "HINH_THUC",
    "LINH_VUC",
];

#[tokio::test]
async fn unit_accounts_see_small_cells_as_fewer_than_five_admins_and_viewers_exact_figures() {
    let dir = TempDir::new("small-cells");
    let data_dir = dir.path().to_path_buf();
    let app = TestApp::spawn_on(TestDatabase::create().await, move |url| {
        let mut config = test_config(url);
        config.data_dir = data_dir.clone();
        config
    })
    .await;
    trust_every_response(&app).await;
    let code = app.desk_code(XUAN_BAC).await;
    for i in 0..10 {
        answer(&app, &code, i).await;
    }
    app.settle_rollups().await;
    let bac: i32 = app
        .sql()
        .await
        .query_one("SELECT id FROM units WHERE code = $1", &[&XUAN_BAC])
        .await
        .unwrap()
        .get(0);
    let year = this_year();
    let unit = app.staff_with_role("can.bo.bac", "unit", &[XUAN_BAC]).await;
    let admin = app.staff_with_role("qt.noi.vu", "admin", &[]).await;
    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let path = format!("/staff/stats/units/{bac}?year={year}&form={FORM}");

    // The dashboard, as the unit's staff see it.
    let html = page(&unit, &path).await;
    let (caption, gender) = breakdown(&html, "GIOI_TINH");
    assert_eq!(caption, "Giới tính (10 người trả lời)");
    assert_eq!(
        gender,
        rows(&[("Nam", "< 5", "ẩn"), ("Nữ", "< 5", "ẩn")]),
        "3 men: hidden, and the 7 women with them (10 − 7 would give 3)"
    );
    assert_eq!(
        breakdown(&html, "DO_TUOI").1,
        rows(&[
            ("Từ 18 đến 24 tuổi", "< 5", "ẩn"),
            ("Từ 25 đến 34 tuổi", "< 5", "ẩn"),
            ("Từ 35 đến 49 tuổi", "5", "50,00%"),
            ("Từ 50 đến 60 tuổi", "0", "0,00%"),
            ("Trên 60 tuổi", "0", "0,00%"),
        ]),
        "5 and more exact"
    );
    let (_, occupation) = breakdown(&html, "NGHE_NGHIEP");
    assert_eq!(
        occupation[2],
        ["Làm công việc tự do", "10", "100,00%"].map(String::from)
    );
    let (caption, ethnicity) = breakdown(&html, "DAN_TOC");
    assert_eq!(caption, "Dân tộc (< 5 người trả lời)");
    assert_eq!(
        ethnicity,
        rows(&[("Kinh", "< 5", "ẩn"), ("Khác", "< 5", "ẩn")]),
        "4 answers in all: nothing shown, not even the empty group"
    );
    assert!(
        text(&html).contains("“< 5”: nhóm có dưới 5 người trả lời"),
        "the note says why"
    );
    // The criteria are not respondent attributes: their counts stay exact.
    assert!(html.contains("data-item=\"TC1\""));

    // Admins (Phòng Nội vụ) and viewers: exact figures, no note.
    for client in [&admin, &viewer] {
        let html = page(client, &path).await;
        let (caption, gender) = breakdown(&html, "GIOI_TINH");
        assert_eq!(caption, "Giới tính (10 người trả lời)");
        assert_eq!(
            gender,
            rows(&[("Nam", "3", "30,00%"), ("Nữ", "7", "70,00%")])
        );
        assert_eq!(breakdown(&html, "DO_TUOI").1[0][1], "2");
        assert_eq!(
            breakdown(&html, "DAN_TOC").1,
            rows(&[("Kinh", "4", "100,00%"), ("Khác", "0", "0,00%")])
        );
        assert!(!text(&html).contains("nhóm có dưới 5 người trả lời"));
    }

    // The JSON API, with the same rule.
    let query = format!("/api/v1/stats?year={year}&form={FORM}&unit={bac}");
    let report = api(&unit, &query).await;
    let gender = json_breakdown(&report["total"], "GIOI_TINH");
    assert_eq!(json_counts(gender), ["< 5", "< 5"]);
    assert_eq!(gender["answered"], 10);
    let age = json_breakdown(&report["total"], "DO_TUOI");
    assert_eq!(
        json_counts(age),
        [
            Value::from("< 5"),
            Value::from("< 5"),
            Value::from(5),
            Value::from(0),
            Value::from(0)
        ]
    );
    assert_eq!(
        json_breakdown(&report["total"], "DAN_TOC")["answered"],
        "< 5"
    );
    // Nowhere in the answer (the total and every row) a count of 1 to 4.
    let counts = every_count(&report);
    assert!(counts.len() > 30);
    for count in &counts {
        match count {
            Value::String(s) => assert_eq!(s, "< 5"),
            Value::Number(n) => {
                let n = n.as_u64().unwrap();
                assert!(n == 0 || n >= 5, "{n} shown in {report}");
            }
            other => panic!("{other}"),
        }
    }
    for client in [&admin, &viewer] {
        let report = api(client, &query).await;
        let gender = json_breakdown(&report["total"], "GIOI_TINH");
        assert_eq!(json_counts(gender), [3, 7]);
        assert_eq!(json_breakdown(&report["total"], "DAN_TOC")["answered"], 4);
    }

    // The workbook: the respondents' sheet with the same rule, and the raw data without the
    // respondent questions for the unit account.
    let unit_name = "xuan-loc.xuan-bac";
    let mut book = workbook(&unit).await;
    assert_eq!(
        sheet_rows(&mut book, unit_name, "GIOI_TINH"),
        rows(&[("Nam", "< 5", "ẩn"), ("Nữ", "< 5", "ẩn")])
    );
    assert_eq!(
        sheet_rows(&mut book, unit_name, "DO_TUOI")[2],
        ["Từ 35 đến 49 tuổi", "5", "0.5"].map(String::from)
    );
    let header = data_header(&mut book);
    assert!(header.contains(&"TC1".to_string()), "{header:?}");
    for column in RESPONDENT_COLUMNS {
        assert!(
            !header.contains(&column.to_string()),
            "{column} in a unit account's raw data"
        );
    }
    let mut book = workbook(&admin).await;
    assert_eq!(
        sheet_rows(&mut book, unit_name, "GIOI_TINH"),
        rows(&[("Nam", "3", "0.3"), ("Nữ", "7", "0.7")])
    );
    let header = data_header(&mut book);
    for column in RESPONDENT_COLUMNS {
        assert!(header.contains(&column.to_string()), "{column} for admins");
    }
}

#[tokio::test]
async fn a_unit_accounts_raw_data_and_codebook_have_no_respondent_columns() {
    let dir = TempDir::new("small-cells-csv");
    let data_dir = dir.path().to_path_buf();
    let app = TestApp::spawn_on(TestDatabase::create().await, move |url| {
        let mut config = test_config(url);
        config.data_dir = data_dir.clone();
        config
    })
    .await;
    trust_every_response(&app).await;
    let code = app.desk_code(XUAN_BAC).await;
    for i in 0..3 {
        answer(&app, &code, i).await;
    }
    app.settle_rollups().await;
    let unit = app.staff_with_role("can.bo.bac", "unit", &[XUAN_BAC]).await;
    let admin = app.staff_with_role("qt.noi.vu", "admin", &[]).await;
    for format in ["csv", "codebook", "sps"] {
        let own = export_text(&unit, format).await;
        let all = export_text(&admin, format).await;
        for column in RESPONDENT_COLUMNS {
            assert!(!own.contains(column), "{column} in the unit's {format}");
            assert!(all.contains(column), "{column} in the admin's {format}");
        }
        assert!(own.contains("TC1") && own.contains("YK"), "{format}: {own}");
    }
    // The unit's CSV still has its 3 responses, each with its criteria.
    let csv = export_text(&unit, "csv").await;
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().unwrap().clone();
    let tc1 = header.iter().position(|h| h == "TC1").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| &r[tc1] == "4"));
    assert!(rows.iter().all(|r| r.len() == header.len()));
    // Times by day for a unit account ("2026-12-05"), to the second for the office
    // ("2026-12-05T14:32:09+07:00").
    let at = header.iter().position(|h| h == "submitted_at").unwrap();
    let is_day =
        |v: &str| v.len() == 10 && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok();
    assert!(rows.iter().all(|r| is_day(&r[at])), "{csv}");
    let all = export_text(&admin, "csv").await;
    let mut reader = csv::Reader::from_reader(all.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| chrono::DateTime::parse_from_rfc3339(&r[at]).is_ok()),
        "{all}"
    );
}
