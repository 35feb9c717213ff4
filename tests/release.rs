//! A self-contained release (issue 18), run as the real binary: the survey forms embedded in it
//! (it works from any folder; `SIPAS_FORMS_DIR` adds and overrides); the data directory, which
//! does not depend on the folder it starts in; the log without colour codes in a pipe, or as
//! JSON; commands on an empty database that say so; `sipas doctor` on a healthy and on a broken
//! installation.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{TempDir, TestApp, TestDatabase};

/// Longest a command may run before the test gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
const QUICK_TEXT: &str = "Anh/Chị đánh giá thế nào về sự phục vụ của Bộ phận Tiếp nhận và Trả kết quả trong lần giải quyết hồ sơ này?";

/// The real binary on `database_url`, logs at `info`, run from `cwd`.
fn sipas(database_url: &str, cwd: &Path) -> tokio::process::Command {
    let mut cmd = common::sipas_binary(database_url, "release");
    cmd.env("RUST_LOG", "info").current_dir(cwd);
    cmd
}

/// Runs `cmd` with `args` to completion (bounded by [`COMMAND_TIMEOUT`]).
async fn run(mut cmd: tokio::process::Command, args: &[&str]) -> Output {
    cmd.args(args);
    tokio::time::timeout(COMMAND_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("sipas {args:?} did not finish in {COMMAND_TIMEOUT:?}"))
        .expect("the sipas binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Panics with the command's output unless it exited 0.
fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// `sipas serve` on a free port of 127.0.0.1, run from `cwd` with the variables `env` (and
/// without `SIPAS_DATA_DIR` unless `env` sets it), until its `/healthz` answers; then stopped.
/// Its standard error (the log).
async fn serve_log(database_url: &str, cwd: &Path, env: &[(&str, &str)]) -> String {
    use tokio::io::AsyncReadExt;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut cmd = sipas(database_url, cwd);
    cmd.env_remove("SIPAS_DATA_DIR")
        .envs(env.iter().copied())
        .args(["serve", "--bind", &bind])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Read the log as it comes: a full pipe would stop the server.
    let reader = tokio::spawn(async move {
        let mut log = Vec::new();
        let _ = stderr.read_to_end(&mut log).await;
        log
    });
    let client = reqwest::Client::new();
    let answered = tokio::time::timeout(COMMAND_TIMEOUT, async {
        loop {
            if let Ok(response) = client.get(format!("http://{bind}/healthz")).send().await {
                return response.status();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("sipas serve ended: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    child.kill().await.unwrap();
    let log = String::from_utf8(reader.await.unwrap()).expect("a UTF-8 log");
    let status = answered.unwrap_or_else(|_| panic!("the server never answered:\n{log}"));
    assert_eq!(status, 200, "{log}");
    log
}

/// The line of `log` that contains `needle`.
fn line_with<'l>(log: &'l str, needle: &str) -> &'l str {
    log.lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{log}"))
}

fn this_year() -> String {
    use chrono::Datelike;
    sipas::plans::today_in_vietnam().year().to_string()
}

#[tokio::test]
async fn the_binary_runs_from_a_folder_without_survey_forms() {
    let app = TestApp::spawn().await;
    let elsewhere = TempDir::new("elsewhere");
    let year = this_year();
    let output = run(
        sipas(&app.database.url, elsewhere.path()),
        &[
            "export", "--year", &year, "--format", "codebook", "--out", "-",
        ],
    )
    .await;
    assert_success(&output, "sipas export from another folder");
    let codebook = stdout(&output);
    // The QĐ 1001 form's first criterion, from the embedded file.
    assert!(codebook.contains("TC1"), "{codebook}");
    assert!(
        stderr(&output).contains("survey forms: embedded danh-gia-mot-cua, sipas-1001-dich-vu"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("SIPAS_FORMS_DIR"));
    // Nothing was made in the folder it ran from.
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn the_forms_directory_overrides_an_embedded_form_and_adds_one() {
    let app = TestApp::spawn().await;
    let elsewhere = TempDir::new("forms-override");
    let forms = elsewhere.path().join("forms");
    std::fs::create_dir(&forms).unwrap();
    let quick =
        std::fs::read_to_string(common::manifest_dir().join("survey-forms/danh-gia-mot-cua.toml"))
            .unwrap();
    assert_eq!(quick.matches(QUICK_TEXT).count(), 1);
    let overridden_text = "Anh/Chị hài lòng với Bộ phận một cửa của xã không?";
    std::fs::write(
        forms.join("mot-cua.toml"),
        quick
            .replace(QUICK_TEXT, overridden_text)
            .replace("\nversion = 1\n", "\nversion = 2\n"),
    )
    .unwrap();
    let added_text = "Anh/Chị đánh giá thế nào về thái độ của công chức tiếp nhận?";
    std::fs::write(
        forms.join("thai-do.toml"),
        quick
            .replace("id = \"danh-gia-mot-cua\"", "id = \"danh-gia-thai-do\"")
            .replace(QUICK_TEXT, added_text),
    )
    .unwrap();
    let year = this_year();
    let codebook = async |form: &str| {
        let mut cmd = sipas(&app.database.url, elsewhere.path());
        cmd.env("SIPAS_FORMS_DIR", &forms);
        let output = run(
            cmd,
            &[
                "export", "--year", &year, "--form", form, "--format", "codebook", "--out", "-",
            ],
        )
        .await;
        assert_success(&output, &format!("sipas export --form {form}"));
        (stdout(&output), stderr(&output))
    };
    let (overridden, log) = codebook("danh-gia-mot-cua").await;
    assert!(
        overridden.contains(overridden_text) && !overridden.contains(QUICK_TEXT),
        "{overridden}"
    );
    let expected = format!(
        "survey forms: embedded sipas-1001-dich-vu; SIPAS_FORMS_DIR overrides danh-gia-mot-cua ({}); SIPAS_FORMS_DIR adds danh-gia-thai-do ({})",
        forms.join("mot-cua.toml").display(),
        forms.join("thai-do.toml").display()
    );
    assert!(log.contains(&expected), "{expected:?} not in:\n{log}");
    let (added, _) = codebook("danh-gia-thai-do").await;
    assert!(added.contains(added_text), "{added}");

    // The versions are stored with the file they came from; the embedded form's name is the
    // one its messages give.
    let sql = app.sql().await;
    let sources: Vec<(String, i32, String)> = sql
        .query(
            "SELECT form_id, version, source_file FROM form_versions ORDER BY form_id, version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mot_cua = forms.join("mot-cua.toml").display().to_string();
    let thai_do = forms.join("thai-do.toml").display().to_string();
    assert_eq!(
        sources,
        [
            (
                "danh-gia-mot-cua".to_string(),
                1,
                "survey-forms/danh-gia-mot-cua.toml".to_string()
            ),
            ("danh-gia-mot-cua".to_string(), 2, mot_cua),
            ("danh-gia-thai-do".to_string(), 1, thai_do),
            (
                "sipas-1001-dich-vu".to_string(),
                1,
                "survey-forms/sipas-1001-dich-vu.toml".to_string()
            ),
        ]
    );

    // A broken override stops the command with its file, line and column.
    std::fs::write(forms.join("thai-do.toml"), "id = \"x\"\nversion = \n").unwrap();
    let mut cmd = sipas(&app.database.url, elsewhere.path());
    cmd.env("SIPAS_FORMS_DIR", &forms);
    let output = run(cmd, &["migrate"]).await;
    assert!(!output.status.success());
    let expected = format!("{}:2:", forms.join("thai-do.toml").display());
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[tokio::test]
async fn the_data_directory_is_systemd_s_state_directory_not_the_working_folder() {
    let db = TestDatabase::create().await;
    let cwd = TempDir::new("serve-cwd");
    let state = TempDir::new("state");
    let state_dir = state.path().to_str().unwrap();
    let log = serve_log(&db.url, cwd.path(), &[("STATE_DIRECTORY", state_dir)]).await;
    let data = line_with(&log, "data directory");
    assert!(data.contains(&format!("{state_dir} ")), "{data}");
    assert!(data.contains("STATE_DIRECTORY"), "{data}");
    assert!(data.contains(&format!("{state_dir}/exports")), "{data}");
    // The spool follows it, and is made there.
    let spool = line_with(&log, "response spool");
    assert!(spool.contains(&format!("{state_dir}/spool/")), "{spool}");
    assert!(state.path().join("spool").is_dir());
    // Nothing in the folder the server started in.
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn the_log_has_no_colour_codes_in_a_pipe_and_its_json_lines_parse() {
    let db = TestDatabase::create_empty().await;
    let cwd = TempDir::new("log");
    let output = run(sipas(&db.url, cwd.path()), &["migrate"]).await;
    assert_success(&output, "sipas migrate");
    let log = stderr(&output);
    assert!(log.contains("applied migrations"), "{log}");
    assert!(!log.contains("\x1b["), "colour codes in a pipe: {log:?}");

    // JSON: every line an object with its level and message, the failure a last one.
    let json = async |default_form: Option<&str>| {
        let mut cmd = sipas(&db.url, cwd.path());
        cmd.env("SIPAS_LOG_FORMAT", "json");
        if let Some(form) = default_form {
            cmd.env("SIPAS_DEFAULT_FORM", form);
        }
        let output = run(cmd, &["migrate"]).await;
        let lines: Vec<serde_json::Value> = stderr(&output)
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not JSON: {line:?}"))
            })
            .collect();
        (output, lines)
    };
    let (output, lines) = json(None).await;
    assert_success(&output, "sipas migrate with SIPAS_LOG_FORMAT=json");
    let forms = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("survey forms"))
        })
        .unwrap_or_else(|| panic!("no line on the forms: {lines:?}"));
    assert_eq!(forms["level"], "INFO");
    assert_eq!(forms["target"], "sipas_web::startup");
    assert!(forms["timestamp"].is_string());
    let (output, lines) = json(Some("khong-co")).await;
    assert!(!output.status.success());
    let last = lines.last().expect("a line");
    assert_eq!(last["level"], "ERROR");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("SIPAS_DEFAULT_FORM: no form \"khong-co\"")),
        "{last}"
    );

    // An unknown format stops the command before anything is done, naming the variable.
    let mut cmd = sipas(&db.url, cwd.path());
    cmd.env("SIPAS_LOG_FORMAT", "xml");
    let output = run(cmd, &["migrate"]).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).starts_with("sipas: SIPAS_LOG_FORMAT: \"xml\" is not text"),
        "{}",
        stderr(&output)
    );
    assert!(!stdout(&output).contains("up to date"));
}

/// Issue 18: a new installation's empty database is named as the problem by every command that
/// needs units, with how to fill it; the command the message gives works.
#[tokio::test]
async fn commands_on_an_empty_database_say_it_has_no_units_and_how_to_fill_it() {
    use tokio::io::AsyncWriteExt;
    let db = TestDatabase::create().await;
    let cwd = TempDir::new("empty-db");
    let year = this_year();
    let says_empty = |output: &Output, what: &str| {
        assert!(!output.status.success(), "{what} succeeded");
        let message = stderr(output);
        assert!(
            message.contains("Cơ sở dữ liệu chưa có đơn vị nào")
                && message.contains("`sipas demo --responses 0`")
                && message.contains("/staff/units"),
            "{what}: {message}"
        );
        assert!(!message.contains("Tài khoản"), "{what}: {message}");
    };
    let xlsx = cwd.path().join("ket-qua.xlsx");
    let xlsx_path = xlsx.to_str().unwrap();
    let output = run(
        sipas(&db.url, cwd.path()),
        &[
            "export", "--year", &year, "--format", "xlsx", "--out", xlsx_path,
        ],
    )
    .await;
    says_empty(&output, "export");
    let output = run(
        sipas(&db.url, cwd.path()),
        &[
            "export", "--year", &year, "--unit", "xuan-loc", "--format", "csv", "--out", "-",
        ],
    )
    .await;
    says_empty(&output, "export --unit");
    let html = cwd.path().join("bao-cao.html");
    let output = run(
        sipas(&db.url, cwd.path()),
        &["report", "--year", &year, "--out", html.to_str().unwrap()],
    )
    .await;
    says_empty(&output, "report");
    let posters = cwd.path().join("posters");
    let posters_path = posters.to_str().unwrap();
    let output = run(sipas(&db.url, cwd.path()), &["qr", "--out", posters_path]).await;
    says_empty(&output, "qr");
    assert!(!xlsx.exists() && !html.exists() && !posters.exists());

    let mut cmd = sipas(&db.url, cwd.path());
    cmd.args([
        "user",
        "add",
        "--username",
        "nv.xuanbac",
        "--role",
        "unit",
        "--unit",
        "xuan-loc.xuan-bac",
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all("Mật khẩu đủ dài của cán bộ 2026\n".as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    says_empty(&output, "user add --unit");
    assert!(stderr(&output).contains("--unit: "), "{}", stderr(&output));
    let accounts: i64 = common::connect(&db.url)
        .await
        .query_one("SELECT count(*) FROM accounts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(accounts, 0);

    // The command the message gives fills it; then the commands work.
    let output = run(sipas(&db.url, cwd.path()), &["demo", "--responses", "0"]).await;
    assert_success(&output, "demo --responses 0");
    let output = run(
        sipas(&db.url, cwd.path()),
        &[
            "export", "--year", &year, "--format", "codebook", "--out", "-",
        ],
    )
    .await;
    assert_success(&output, "export after the demo");

    // Units without an active desk: qr says that.
    common::connect(&db.url)
        .await
        .batch_execute("UPDATE desks SET active = false")
        .await
        .unwrap();
    let output = run(sipas(&db.url, cwd.path()), &["qr", "--out", posters_path]).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("Chưa có quầy nào đang hoạt động"),
        "{}",
        stderr(&output)
    );
    assert!(!posters.exists());
}

/// A session key of 64 random bytes, in hex.
fn strong_key() -> String {
    (0..4)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect()
}

/// `sipas doctor` from `cwd` with `env`: its exit status and its lines.
async fn doctor(database_url: &str, cwd: &Path, env: &[(&str, &str)]) -> (bool, Vec<String>) {
    let mut cmd = sipas(database_url, cwd);
    cmd.env_remove("SIPAS_DATA_DIR").envs(env.iter().copied());
    let output = run(cmd, &["doctor"]).await;
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert!(!stderr(&output).contains("ERROR"), "{}", stderr(&output));
    (output.status.success(), lines)
}

/// The line of `lines` about `subject`.
fn about<'l>(lines: &'l [String], subject: &str) -> &'l str {
    lines
        .iter()
        .find(|l| l[l.char_indices().nth(2).map_or(0, |(i, _)| i)..].starts_with(subject))
        .unwrap_or_else(|| panic!("no line about {subject}: {lines:#?}"))
}

#[tokio::test]
async fn doctor_passes_a_healthy_installation_on_every_line() {
    let db = TestDatabase::create().await;
    let cwd = TempDir::new("doctor-ok");
    let data = cwd.path().join("du-lieu");
    let key = strong_key();
    let (ok, lines) = doctor(
        &db.url,
        cwd.path(),
        &[
            ("SIPAS_PUBLIC_URL", "https://hailong.example.gov.vn"),
            ("SIPAS_SESSION_KEY", &key),
            ("SIPAS_DATA_DIR", data.to_str().unwrap()),
            ("SIPAS_SPOOL_MAX_MB", "1"),
        ],
    )
    .await;
    assert!(ok, "{lines:#?}");
    assert_eq!(lines.len(), 9, "{lines:#?}");
    for line in &lines {
        assert!(line.starts_with("✓ "), "{lines:#?}");
    }
    assert!(
        about(&lines, "Cơ sở dữ liệu: PostgreSQL ").contains(" trả lời (postgres://"),
        "{lines:#?}"
    );
    let migrations = std::fs::read_dir(common::manifest_dir().join("migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(
        about(&lines, "Lược đồ"),
        format!("✓ Lược đồ: đủ {migrations} migration, không có migration chờ")
    );
    assert!(about(&lines, "Khóa phiên").contains("64 byte"));
    assert!(about(&lines, "Mẫu phiếu").contains("nhúng sẵn danh-gia-mot-cua, sipas-1001-dich-vu"));
    let spool = about(&lines, "Hàng đợi phiếu (spool)");
    assert!(
        spool.contains(&format!("{}/spool/", data.display()))
            && spool.contains("không tiến trình nào giữ"),
        "{spool}"
    );
    assert!(about(&lines, "Múi giờ").contains("UTC+07:00, Asia/Ho_Chi_Minh"));
    // It changed nothing: no data directory made, no migration table touched.
    assert!(!data.exists());
}

#[tokio::test]
async fn doctor_names_each_problem_and_fails_warnings_alone_pass() {
    let db = TestDatabase::create().await;
    let cwd = TempDir::new("doctor-broken");
    let file = cwd.path().join("tep");
    std::fs::write(&file, "not a directory").unwrap();
    let spool = file.join("spool");
    let weak = "ab".repeat(64);
    let (ok, lines) = doctor(
        &db.url,
        cwd.path(),
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/sipas"),
            ("SIPAS_SESSION_KEY", &weak),
            ("SIPAS_SPOOL_DIR", spool.to_str().unwrap()),
            ("SIPAS_PUBLIC_URL", "https://hailong.example.gov.vn"),
        ],
    )
    .await;
    assert!(!ok, "{lines:#?}");
    assert!(
        about(&lines, "Cơ sở dữ liệu").starts_with(
            "✗ Cơ sở dữ liệu: không kết nối được tới postgres://postgres@127.0.0.1:1/sipas: "
        ),
        "{lines:#?}"
    );
    assert!(about(&lines, "Lược đồ").starts_with("– "), "{lines:#?}");
    assert!(
        about(&lines, "Khóa phiên")
            .starts_with("✗ Khóa phiên: SIPAS_SESSION_KEY yếu: 64 byte nhưng chỉ 1 giá trị"),
        "{lines:#?}"
    );
    assert!(
        about(&lines, "Hàng đợi phiếu (spool)").starts_with(&format!(
            "✗ Hàng đợi phiếu (spool): {}: không tạo được",
            spool.display()
        )),
        "{lines:#?}"
    );

    // Unusable variables: each named, and what depends on them not checked.
    let (ok, lines) = doctor(
        &db.url,
        cwd.path(),
        &[
            ("DATABASE_URL", "không phải địa chỉ"),
            ("SIPAS_LOG_FORMAT", "xml"),
            ("SIPAS_PUBLC_URL", "https://hailong.example.gov.vn"),
        ],
    )
    .await;
    assert!(!ok, "{lines:#?}");
    let config: Vec<&String> = lines.iter().filter(|l| l.contains(" Cấu hình: ")).collect();
    assert!(
        config[0].starts_with("✗ Cấu hình: biến SIPAS_LOG_FORMAT không dùng được: \"xml\"")
            || config[1].starts_with("✗ Cấu hình: biến SIPAS_LOG_FORMAT không dùng được: \"xml\""),
        "{lines:#?}"
    );
    assert!(
        config
            .iter()
            .any(|l| l.starts_with("✗ Cấu hình: biến DATABASE_URL không dùng được: not a URL")),
        "{lines:#?}"
    );
    assert!(
        config.iter().any(|l| l.as_str()
            == "! Cấu hình: SIPAS_PUBLC_URL không phải biến của sipas (gõ nhầm?): bị bỏ qua"),
        "{lines:#?}"
    );
    assert!(
        about(&lines, "Cơ sở dữ liệu").starts_with("– Cơ sở dữ liệu: không kiểm tra"),
        "{lines:#?}"
    );

    // A running server's spool is a warning, not a failure: warnings alone exit 0.
    let app = TestApp::spawn().await;
    let held = app.config.spool_dir.clone().unwrap();
    let key = strong_key();
    let data = cwd.path().join("du-lieu");
    let (ok, lines) = doctor(
        &app.database.url,
        cwd.path(),
        &[
            ("SIPAS_SPOOL_DIR", held.to_str().unwrap()),
            ("SIPAS_SESSION_KEY", &key),
            ("SIPAS_DATA_DIR", data.to_str().unwrap()),
            ("SIPAS_PUBLIC_URL", "http://hailong.example.gov.vn"),
            ("SIPAS_SPOOL_MAX_MB", "1"),
        ],
    )
    .await;
    assert!(ok, "{lines:#?}");
    let spool = about(&lines, "Hàng đợi phiếu (spool)");
    assert!(
        spool.starts_with("! ")
            && spool.contains(&format!("đang được giữ bởi pid {} on ", std::process::id())),
        "{spool}"
    );
    assert!(
        about(&lines, "Địa chỉ công khai")
            .starts_with("! Địa chỉ công khai: http://hailong.example.gov.vn/: dùng http"),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.starts_with("✗")), "{lines:#?}");
}
