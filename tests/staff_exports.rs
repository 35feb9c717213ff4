//! Exports from the staff pages ("Xuất dữ liệu"): the job table, the background runner and the
//! pages, through HTTP against a real server and database:
//! - a small export answers with the file at once: a valid workbook (read back with calamine,
//!   one data row per response) under the export's file name; the job is kept and the same
//!   file downloads again later;
//! - above the inline threshold the POST redirects to the job's page, which shows progress and
//!   refreshes itself until the job is done, then offers the download;
//! - jobs belong to their account: another account (admins too) gets 404 for the page and the
//!   file; a unit account exports only its units (another unit: 422 and nothing stored);
//! - a failing job shows its Vietnamese message; jobs left running by a dead instance run
//!   again (or fail once they have used their attempts); two instances never claim the same
//!   job; expired files are deleted.

use crate::common;

use common::location;

use std::path::Path;
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use chrono::{Datelike, NaiveDate};
use common::{StaffClient, TempDir, TestApp, TestDatabase, test_config};
use sipas::export::jobs::{ExportRunner, MSG_FAILED, MSG_GAVE_UP, RunnerSettings};

const FORM: &str = "sipas-1001-dich-vu";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn last_year() -> i32 {
    (chrono::Utc::now() + chrono::Duration::hours(7)).year() - 1
}

/// The server with its exports in `dir` and the given inline threshold.
async fn spawn(dir: &TempDir, inline_rows: u64) -> TestApp {
    let data_dir = dir.path().to_path_buf();
    TestApp::spawn_on(TestDatabase::create().await, move |url| {
        let mut config = test_config(url);
        config.data_dir = data_dir.clone();
        config.export_inline_rows = inline_rows;
        config
    })
    .await
}

/// `count` synthetic responses over the first quarter of last year.
async fn generate(app: &TestApp, count: u64) {
    let year = last_year();
    let mut conn = app.pool.get().await.unwrap();
    let generated = sipas::demo::generate_responses(
        &mut conn,
        &app.forms,
        &sipas::demo::ResponseSpec {
            seed: 11,
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

/// The form's fields for the first quarter of last year.
fn q1(unit: &str, format: &str) -> Vec<(&'static str, String)> {
    vec![
        ("year", last_year().to_string()),
        ("period", "q1".to_string()),
        ("unit", unit.to_string()),
        ("form", FORM.to_string()),
        ("channel", String::new()),
        ("format", format.to_string()),
    ]
}

async fn post(client: &StaffClient, fields: &[(&'static str, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post("/staff/exports", &pairs).await
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn id_of(db: &tokio_postgres::Client, sql: &str, key: &str) -> i32 {
    db.query_one(sql, &[&key]).await.unwrap().get(0)
}

async fn unit_id(db: &tokio_postgres::Client, code: &str) -> i32 {
    id_of(db, "SELECT id FROM units WHERE code = $1", code).await
}

/// The newest job of `username`.
async fn newest_job(db: &tokio_postgres::Client, username: &str) -> Option<i32> {
    db.query_opt(
        "SELECT j.id FROM export_jobs j JOIN accounts a ON a.id = j.account_id \
         WHERE a.username = $1 ORDER BY j.id DESC LIMIT 1",
        &[&username],
    )
    .await
    .unwrap()
    .map(|r| r.get(0))
}

/// The records of a CSV export (which starts with the UTF-8 BOM), header included.
fn csv_records(bytes: &[u8]) -> Vec<csv::StringRecord> {
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).expect("a BOM");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap())
        .collect()
}

/// Rows below the header row of a sheet with a value in the first column.
fn data_rows(sheet: &calamine::Range<Data>) -> usize {
    let header = sipas::export::xlsx::HEADER_ROW as usize;
    (header + 1..sheet.height())
        .filter(|r| !matches!(sheet.get((*r, 0)), None | Some(Data::Empty)))
        .count()
}

fn workbook(bytes: &[u8]) -> Xlsx<std::io::Cursor<Vec<u8>>> {
    Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a readable workbook")
}

/// Follows a job's page (as its meta refresh does) until it is finished; returns the pages.
async fn follow(client: &StaffClient, page: &str) -> Vec<String> {
    let started = Instant::now();
    let mut pages = Vec::new();
    loop {
        let response = client.get(page).await;
        assert_eq!(response.status(), 200, "{page}");
        let html = response.text().await.unwrap();
        let refreshing = html.contains("http-equiv=\"refresh\"");
        pages.push(html);
        if !refreshing {
            return pages;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the job did not finish: {}",
            pages.last().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_small_export_downloads_at_once_and_stays_downloadable() {
    let dir = TempDir::new("exports");
    let app = spawn(&dir, 20_000).await;
    let db = app.sql().await;
    generate(&app, 150).await;
    let admin = app.staff_with_role("qt.xuat", "admin", &[]).await;

    // The form, with the menu entry.
    let form = admin.get("/staff/exports").await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("href=\"/staff/exports\""), "menu entry");
    assert!(html.contains("Xuất dữ liệu"));
    assert!(html.contains("Anh/Chị chưa xuất tệp nào."));

    let started = Instant::now();
    let response = post(&admin, &q1("", "xlsx")).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200, "the file at once");
    assert_eq!(header(&response, "content-type"), XLSX_TYPE);
    let year = last_year();
    let name = format!("sipas-xuan-loc-{year}-q1.xlsx");
    assert_eq!(
        header(&response, "content-disposition"),
        format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}")
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip container");
    let mut book = workbook(&bytes);
    assert!(book.sheet_names().contains(&"Dữ liệu".to_string()));
    let data = book.worksheet_range("Dữ liệu").unwrap();
    let in_quarter: i64 = db
        .query_one(
            "SELECT count(*) FROM responses r JOIN form_versions v ON v.id = r.form_version_id \
             WHERE v.form_id = $1",
            &[&FORM],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(data_rows(&data) as i64, in_quarter, "one row per response");
    eprintln!(
        "inline xlsx of {in_quarter} responses: {} bytes in {:.2} s",
        bytes.len(),
        elapsed.as_secs_f64()
    );

    // The job is stored, done, with its figures, and the export is in the audit log.
    let job = newest_job(&db, "qt.xuat").await.expect("a job");
    let row = db
        .query_one(
            "SELECT status, rows_done, byte_size, file_name, expires_at > now() + interval '6 days' \
             FROM export_jobs WHERE id = $1",
            &[&job],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "done");
    assert_eq!(row.get::<_, i64>(1), in_quarter);
    assert_eq!(row.get::<_, Option<i64>>(2), Some(bytes.len() as i64));
    assert_eq!(
        row.get::<_, Option<String>>(3).as_deref(),
        Some(name.as_str())
    );
    assert!(row.get::<_, bool>(4), "kept for a week");
    let audited: i64 = db
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'export.create' AND entity_id = $1",
            &[&job.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 1);
    // One file in the export directory, none half-written.
    let files: Vec<String> = std::fs::read_dir(dir.path().join("exports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(".xlsx"), "{files:?}");

    // Later: listed with its download link, and the same bytes again.
    let list = admin.get("/staff/exports").await.text().await.unwrap();
    let link = format!("/staff/exports/{job}/download");
    assert!(list.contains(&link), "listed with its link");
    let again = admin.get(&link).await;
    assert_eq!(again.status(), 200);
    assert_eq!(header(&again, "content-length"), bytes.len().to_string());
    assert_eq!(again.bytes().await.unwrap(), bytes);
    let page = admin.get(&format!("/staff/exports/{job}")).await;
    let page = page.text().await.unwrap();
    assert!(page.contains("Hoàn thành") && page.contains(&link));
    assert!(
        !page.contains("http-equiv=\"refresh\""),
        "a finished job stays still"
    );

    // The codebook and the SPSS syntax need no responses: at once as well.
    let codebook = post(&admin, &q1("", "codebook")).await;
    assert_eq!(codebook.status(), 200);
    assert_eq!(header(&codebook, "content-type"), "text/csv; charset=utf-8");
    let text = codebook.bytes().await.unwrap();
    assert!(text.starts_with("\u{feff}".as_bytes()), "UTF-8 with BOM");
}

#[tokio::test]
async fn a_large_export_runs_in_the_background_with_progress() {
    let dir = TempDir::new("exports");
    // Every export with responses goes to the background.
    let app = spawn(&dir, 0).await;
    let db = app.sql().await;
    generate(&app, 400).await;
    let admin = app.staff_with_role("qt.xuat", "admin", &[]).await;

    let response = post(&admin, &q1("", "csv")).await;
    assert_eq!(response.status(), 303, "the job's page, not the file");
    let page = location(&response);
    let job = newest_job(&db, "qt.xuat").await.unwrap();
    assert_eq!(page, format!("/staff/exports/{job}"));
    let pages = follow(&admin, &page).await;
    for html in &pages[..pages.len() - 1] {
        assert!(
            html.contains("Đang chờ xử lý") || html.contains("Đang xuất"),
            "an unfinished page says so"
        );
    }
    // Of the responses generated, those of the QĐ 1001 form (the others answered a desk's
    // quick rating).
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM responses r JOIN form_versions v ON v.id = r.form_version_id \
             WHERE v.form_id = $1",
            &[&FORM],
        )
        .await
        .unwrap()
        .get(0);
    assert!(n > 300, "{n}");
    let done = pages.last().unwrap();
    assert!(done.contains("Hoàn thành"), "{done}");
    assert!(done.contains(&format!("Đã xuất {n} phiếu")), "{done}");
    let name = format!("sipas-xuan-loc-{}-q1.csv", last_year());
    assert!(done.contains(&format!("Tải về {name}")));
    let file = admin.get(&format!("{page}/download")).await;
    assert_eq!(file.status(), 200);
    assert!(header(&file, "content-disposition").contains(&name));
    let body = file.bytes().await.unwrap();
    assert_eq!(
        csv_records(&body).len() as i64,
        n + 1,
        "a header and one record per response"
    );
    let (rows_done, rows_total): (i64, Option<i64>) = {
        let r = db
            .query_one(
                "SELECT rows_done, rows_total FROM export_jobs WHERE id = $1",
                &[&job],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((rows_done, rows_total), (n, Some(n)));

    // A job another instance is running: its page shows the progress and refreshes itself.
    let running: i32 = db
        .query_one(
            "INSERT INTO export_jobs (account_id, unit_id, year, period, form_id, format, label, \
                 status, attempts, rows_done, rows_total, started_at, heartbeat_at) \
             SELECT a.id, j.unit_id, j.year, j.period, j.form_id, 'xlsx', j.label, 'running', 1, \
                 12345, 50000, now(), now() + interval '1 hour' \
             FROM export_jobs j JOIN accounts a ON a.id = j.account_id WHERE j.id = $1 \
             RETURNING id",
            &[&job],
        )
        .await
        .unwrap()
        .get(0);
    let html = admin
        .get(&format!("/staff/exports/{running}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Đang xuất"), "{html}");
    assert!(html.contains("12.345 / 50.000 phiếu (24%)"), "{html}");
    assert!(
        html.contains("<progress max=\"100\" value=\"24\">"),
        "{html}"
    );
    let refresh = html
        .find("<meta http-equiv=\"refresh\" content=\"2\">")
        .unwrap();
    assert!(refresh < html.find("</head>").unwrap(), "in the head");
    assert!(!html.contains("Tải về"), "nothing to download yet");
    assert_eq!(
        admin
            .get(&format!("/staff/exports/{running}/download"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn jobs_belong_to_their_account_and_unit_accounts_export_their_units() {
    let dir = TempDir::new("exports");
    let app = spawn(&dir, 20_000).await;
    let db = app.sql().await;
    generate(&app, 600).await;
    let admin = app.staff_with_role("qt.xuat", "admin", &[]).await;
    let other_admin = app.staff_with_role("qt.khac", "admin", &[]).await;
    let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let unit = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let xuan_bac = unit_id(&db, XUAN_BAC).await;
    let xuan_dinh = unit_id(&db, XUAN_DINH).await;

    assert_eq!(post(&admin, &q1("", "csv")).await.status(), 200);
    let job = newest_job(&db, "qt.xuat").await.unwrap();
    for client in [&other_admin, &viewer, &unit] {
        for path in [
            format!("/staff/exports/{job}"),
            format!("/staff/exports/{job}/download"),
        ] {
            assert_eq!(client.get(&path).await.status(), 404, "{path}");
        }
        let list = client.get("/staff/exports").await.text().await.unwrap();
        assert!(!list.contains(&format!("/staff/exports/{job}")));
    }

    // Viewers may export (reading only).
    let viewed = post(&viewer, &q1("", "csv")).await;
    assert_eq!(viewed.status(), 200);

    // A unit account: another unit is refused with a message, nothing stored.
    let jobs_before = app.count("SELECT count(*) FROM export_jobs").await;
    let audit_before = app.count("SELECT count(*) FROM audit_log").await;
    let refused = post(&unit, &q1(&xuan_dinh.to_string(), "csv")).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Đơn vị không hợp lệ. Vui lòng chọn trong danh sách."));
    assert!(!html.contains("Xuân Định"), "not even its name");
    assert_eq!(
        app.count("SELECT count(*) FROM export_jobs").await,
        jobs_before
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log").await,
        audit_before
    );
    let prefilled = unit
        .get(&format!("/staff/exports?unit={xuan_dinh}&format=xlsx"))
        .await;
    assert_eq!(prefilled.status(), 422);

    // Its own unit: only its rows.
    let own = post(&unit, &q1(&xuan_bac.to_string(), "csv")).await;
    assert_eq!(own.status(), 200);
    let records = csv_records(&own.bytes().await.unwrap());
    let unit_column = records[0].iter().position(|c| c == "unit_code").unwrap();
    let codes: Vec<String> = records[1..]
        .iter()
        .map(|r| r[unit_column].to_string())
        .collect();
    let expected: i64 = db
        .query_one(
            "SELECT count(*) FROM responses r JOIN form_versions v ON v.id = r.form_version_id \
             WHERE v.form_id = $1 AND r.unit_id = $2",
            &[&FORM, &xuan_bac],
        )
        .await
        .unwrap()
        .get(0);
    assert!(expected > 0);
    assert_eq!(codes.len() as i64, expected);
    assert!(codes.iter().all(|c| c == XUAN_BAC), "{codes:?}");
    // With no unit chosen: the top of its scope, still only its rows.
    let top = post(&unit, &q1("", "csv")).await;
    assert_eq!(top.status(), 200);
    assert!(!top.text().await.unwrap().contains(XUAN_DINH));

    // When the unit leaves the account, its old exports go with it.
    let unit_job = newest_job(&db, "can.bo.xuan.bac").await.unwrap();
    assert_eq!(
        unit.get(&format!("/staff/exports/{unit_job}"))
            .await
            .status(),
        200
    );
    db.execute(
        "UPDATE account_units SET unit_id = $1 WHERE account_id = \
         (SELECT id FROM accounts WHERE username = 'can.bo.xuan.bac')",
        &[&xuan_dinh],
    )
    .await
    .unwrap();
    for path in [
        format!("/staff/exports/{unit_job}"),
        format!("/staff/exports/{unit_job}/download"),
    ] {
        assert_eq!(unit.get(&path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn a_failing_job_shows_its_message() {
    let dir = TempDir::new("exports");
    // The data directory is a file: no export can be written.
    let blocked = dir.path().join("not-a-directory");
    std::fs::write(&blocked, b"x").unwrap();
    let data_dir = blocked.clone();
    let app = TestApp::spawn_on(TestDatabase::create().await, move |url| {
        let mut config = test_config(url);
        config.data_dir = data_dir.clone();
        config
    })
    .await;
    let db = app.sql().await;
    let admin = app.staff_with_role("qt.xuat", "admin", &[]).await;

    let response = post(&admin, &q1("", "sps")).await;
    assert_eq!(response.status(), 303, "no file: the job's page");
    let page = location(&response);
    let html = follow(&admin, &page).await.pop().unwrap();
    assert!(html.contains("Không xuất được dữ liệu."), "{html}");
    assert!(html.contains(MSG_FAILED), "{html}");
    assert!(html.contains("Xuất lại với cùng lựa chọn"));
    assert!(!html.contains("Tải về"));
    assert_eq!(admin.get(&format!("{page}/download")).await.status(), 404);
    let list = admin.get("/staff/exports").await.text().await.unwrap();
    assert!(list.contains("Lỗi"));

    // A request that no longer resolves (its plan period is gone): the reason is shown.
    let job: i32 = db
        .query_one(
            "INSERT INTO export_jobs (account_id, unit_id, year, period, form_id, format, label) \
             SELECT account_id, unit_id, year, 'p999999', form_id, 'csv', label \
             FROM export_jobs ORDER BY id LIMIT 1 RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let html = follow(&admin, &format!("/staff/exports/{job}"))
        .await
        .pop()
        .unwrap();
    assert!(html.contains("Kỳ “p999999” không hợp lệ"), "{html}");
}

/// Seeds a database as a previous instance left it: the demo district, an account and its
/// jobs as given by `jobs_sql` (run with the account id as $1 and Xuân Lộc's id as $2).
async fn database_left_by_a_dead_instance(jobs_sql: &str) -> TestDatabase {
    let database = TestDatabase::create().await;
    let services = sipas::startup::Services::open(test_config(&database.url))
        .await
        .unwrap();
    {
        let mut conn = services.database.pool.get().await.unwrap();
        sipas::demo::seed(&mut conn).await.unwrap();
        sipas::staff::create_account(
            &mut conn,
            &sipas::staff::AccountRequest {
                username: "qt.xuat",
                display_name: "Quản trị",
                role: "admin",
                password: common::TEST_PASSWORD,
                unit_codes: &[],
            },
        )
        .await
        .unwrap();
    }
    services.close().await;
    let db = common::connect(&database.url).await;
    let account = id_of(
        &db,
        "SELECT id FROM accounts WHERE username = $1",
        "qt.xuat",
    )
    .await;
    let district = unit_id(&db, "xuan-loc").await;
    db.execute(jobs_sql, &[&account, &district]).await.unwrap();
    database
}

#[tokio::test]
async fn jobs_left_running_by_a_dead_instance_run_again() {
    let year = last_year().to_string();
    let database = database_left_by_a_dead_instance(&format!(
        "INSERT INTO export_jobs (account_id, unit_id, year, period, form_id, format, label, \
             status, attempts, rows_done, started_at, heartbeat_at) VALUES \
         ($1, $2, {year}, '{year}', '{FORM}', 'csv', 'bị bỏ dở', 'running', 1, 70, \
          now() - interval '1 hour', now() - interval '50 minutes'), \
         ($1, $2, {year}, '{year}', '{FORM}', 'csv', 'bỏ dở lần thứ ba', 'running', 3, 0, \
          now() - interval '1 hour', now() - interval '50 minutes'), \
         ($1, $2, {year}, '{year}', '{FORM}', 'csv', 'đang chạy ở nơi khác', 'running', 1, 5, \
          now(), now() + interval '1 hour')"
    ))
    .await;
    let dir = TempDir::new("exports");
    let data_dir = dir.path().to_path_buf();
    let app = TestApp::spawn_on(database, move |url| {
        let mut config = test_config(url);
        config.data_dir = data_dir.clone();
        config
    })
    .await;
    let db = app.sql().await;
    let started = Instant::now();
    let state = async |label: &str| -> (String, i16, Option<String>) {
        let r = db
            .query_one(
                "SELECT status, attempts, error FROM export_jobs WHERE label = $1",
                &[&label],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    loop {
        let (status, attempts, _) = state("bị bỏ dở").await;
        if status == "done" {
            assert_eq!(attempts, 2, "run a second time");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, error) = state("bỏ dở lần thứ ba").await;
    assert_eq!(status, "failed");
    assert_eq!(error.as_deref(), Some(MSG_GAVE_UP));
    // A job whose instance is alive is left to it.
    let (status, attempts, _) = state("đang chạy ở nơi khác").await;
    assert_eq!((status.as_str(), attempts), ("running", 1));
    // The user sees the outcome.
    let admin = app.staff("qt.xuat").await;
    let list = admin.get("/staff/exports").await.text().await.unwrap();
    assert!(list.contains("bị bỏ dở") && list.contains("Hoàn thành"));
}

#[tokio::test]
async fn instances_never_claim_the_same_job() {
    let year = last_year();
    let database = database_left_by_a_dead_instance(&format!(
        "INSERT INTO export_jobs (account_id, unit_id, year, period, form_id, format, label) \
         SELECT $1, $2, {year}, '{year}', '{FORM}', 'sps', 'việc ' || n \
         FROM generate_series(1, 40) n"
    ))
    .await;
    let pool = sipas::db::build_pool(&database.url, 8).unwrap();
    let mut claimers = Vec::new();
    for _ in 0..6 {
        let pool = pool.clone();
        claimers.push(tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            let mut mine = Vec::new();
            while let Some(job) = sipas::db::exports::claim_next(&mut conn).await.unwrap() {
                assert_eq!((job.status.as_str(), job.attempts), ("running", 1));
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    claimed.sort();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!(before, claimed.len(), "a job claimed twice");
    assert_eq!(claimed.len(), 40);
    pool.close();
}

#[tokio::test]
async fn expired_files_are_deleted() {
    let dir = TempDir::new("exports");
    let app = spawn(&dir, 20_000).await;
    let db = app.sql().await;
    let admin = app.staff_with_role("qt.xuat", "admin", &[]).await;
    assert_eq!(post(&admin, &q1("", "sps")).await.status(), 200);
    let job = newest_job(&db, "qt.xuat").await.unwrap();
    let exports = dir.path().join("exports");
    let file = |dir: &Path| std::fs::read_dir(dir).unwrap().count();
    assert_eq!(file(&exports), 1);
    db.execute(
        "UPDATE export_jobs SET expires_at = now() - interval '1 second' WHERE id = $1",
        &[&job],
    )
    .await
    .unwrap();
    // Another instance starting on the same database and directory cleans up at once.
    let mut settings = RunnerSettings::from_config(&app.config);
    settings.dir = exports.clone();
    let runner = ExportRunner::start(&app.database.url, app.forms.clone(), settings).unwrap();
    let started = Instant::now();
    while file(&exports) > 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "not deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    runner.stop().await;
    let status: String = db
        .query_one("SELECT status FROM export_jobs WHERE id = $1", &[&job])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "expired");
    assert_eq!(
        admin
            .get(&format!("/staff/exports/{job}/download"))
            .await
            .status(),
        404
    );
    let page = admin
        .get(&format!("/staff/exports/{job}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Tệp đã hết thời hạn lưu trữ"));
}

#[tokio::test]
async fn the_stats_overview_links_to_the_export_form() {
    let dir = TempDir::new("exports");
    let app = spawn(&dir, 20_000).await;
    let db = app.sql().await;
    let admin = app.staff_with_role("qt.xuat", "admin", &[]).await;
    let unit = unit_id(&db, XUAN_BAC).await;
    let year = last_year();
    let html = admin
        .get(&format!("/staff/stats?year={year}&period=q2&unit={unit}"))
        .await
        .text()
        .await
        .unwrap();
    let link = format!(
        "/staff/exports?year={year}&amp;period=q2&amp;unit={unit}&amp;form={FORM}&amp;format=xlsx"
    );
    assert!(html.contains(&link), "{html}");
    let form = admin
        .get(&link.replace("&amp;", "&"))
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("value=\"q2\" checked"), "the period kept");
    assert!(
        form.contains(&format!("<option value=\"{unit}\" selected>")),
        "the unit kept"
    );
    assert!(form.contains("value=\"xlsx\" checked"), "Excel chosen");
}
