//! A self-contained release (issue 18), run as the real binary: the survey forms embedded in it
//! (it works from any folder; `SIPAS_FORMS_DIR` adds and overrides).

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{TempDir, TestApp};

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
