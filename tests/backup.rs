//! The backup and restore drill of docs/operations.md, run for real (issue 18, "Data safety over
//! years"): a database filled by `sipas demo` (a year of synthetic responses with open comments,
//! paper ballots and a flagged burst, the rollups folded) is dumped with `pg_dump -Fc`, restored
//! with `pg_restore` into a new empty database, and then
//! - every table of ours holds the same rows in both (a checksum of each table's rows);
//! - `sipas export --format csv`, `--format xlsx`, `--format zip` and `sipas report` write the
//!   same files byte for byte from both (the workbook's creation time is the newest response's,
//!   never the clock's: checked too);
//! - the restored database takes a new citizen's response through the real server, numbered
//!   after every restored one (the identity sequences came back with the data).
//!
//! The databases the test creates are dropped at its end, the dump and the files removed.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{TempDir, TestApp, TestDatabase, full_answers};

/// A year that has passed: `sipas demo --year` fills all of it.
const YEAR: &str = "2025";
const RESPONSES: &str = "3000";
const SEED: &str = "18";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
/// Longest a command may run before the test gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

async fn run(mut cmd: tokio::process::Command, what: &str) -> Output {
    let output = tokio::time::timeout(COMMAND_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish in {COMMAND_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{what} cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `sipas ARGS` on `database_url`.
async fn sipas(database_url: &str, args: &[&str]) -> Output {
    let mut cmd = common::sipas_binary(database_url, "backup");
    cmd.args(args);
    run(cmd, &format!("sipas {}", args.join(" "))).await
}

/// `tool` (`pg_dump`, `pg_restore`) of the test server's major version: Debian's
/// `/usr/lib/postgresql/MAJOR/bin` (what docs/operations.md tells operators to use), else the one
/// on `PATH` if its major version is the server's (an older pg_dump refuses a newer server).
async fn pg_tool(tool: &str) -> PathBuf {
    let num: String = common::admin_client()
        .await
        .query_one("SHOW server_version_num", &[])
        .await
        .unwrap()
        .get(0);
    let major = num.parse::<u32>().unwrap() / 10000;
    let debian = Path::new(sipas::db::embedded::LIB_ROOT)
        .join(major.to_string())
        .join("bin")
        .join(tool);
    if debian.is_file() {
        return debian;
    }
    let version = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    let found = version
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse::<u32>().ok());
    assert_eq!(
        found,
        Some(major),
        "the backup drill needs {tool} of PostgreSQL {major} (the server's): not at {} and \
         `{tool} --version` says {version:?}. Install it with \
         `apt-get install -y --no-install-recommends postgresql-client-{major}`.",
        debian.display()
    );
    PathBuf::from(tool)
}

/// Our tables (not diesel's migration table) and a checksum of each one's rows: the rows as
/// text, sorted, hashed.
async fn table_checksums(url: &str) -> Vec<(String, i64, String)> {
    let sql = common::connect(url).await;
    let tables: Vec<String> = sql
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
               AND table_name <> '__diesel_schema_migrations' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut sums = Vec::new();
    for table in tables {
        let row = sql
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') \
                     FROM {table} t"
                ),
                &[],
            )
            .await
            .unwrap();
        sums.push((table, row.get(0), row.get(1)));
    }
    sums
}

/// The exports compared, as (file name, `sipas` arguments before `--out`).
const EXPORTS: [(&str, &[&str]); 4] = [
    ("data.csv", &["export", "--year", YEAR, "--format", "csv"]),
    (
        "ket-qua.xlsx",
        &["export", "--year", YEAR, "--format", "xlsx"],
    ),
    (
        "du-lieu.zip",
        &["export", "--year", YEAR, "--format", "zip"],
    ),
    ("bao-cao.html", &["report", "--year", YEAR]),
];

/// Writes every export of [`EXPORTS`] from `url` into `dir`.
async fn export_all(url: &str, dir: &Path) {
    for (file, args) in EXPORTS {
        let out = dir.join(file);
        let mut all = args.to_vec();
        all.extend(["--out", out.to_str().unwrap()]);
        sipas(url, &all).await;
    }
}

/// One part of a zip file (an xlsx is one) as text.
fn zip_part(path: &Path, name: &str) -> String {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap_or_else(|e| panic!("{name} in {}: {e}", path.display()))
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[tokio::test]
async fn a_restored_dump_exports_the_same_bytes_and_takes_new_responses() {
    let started = Instant::now();
    let mut step = Instant::now();
    let mut lap = |what: &str| {
        println!("{what}: {:.1} s", step.elapsed().as_secs_f64());
        step = Instant::now();
    };
    let pg_dump = pg_tool("pg_dump").await;
    let pg_restore = pg_tool("pg_restore").await;

    let original = TestDatabase::create().await;
    sipas(
        &original.url,
        &[
            "demo",
            "--responses",
            RESPONSES,
            "--seed",
            SEED,
            "--year",
            YEAR,
        ],
    )
    .await;
    lap("sipas demo");
    // The data a backup has to carry: responses on paper and online, open comments, fraud
    // flags with the responses they leave out, the folded rollups.
    let sql = common::connect(&original.url).await;
    let count = async |query: &str| -> i64 { sql.query_one(query, &[]).await.unwrap().get(0) };
    assert!(count("SELECT count(*) FROM responses").await > 3000);
    assert!(count("SELECT count(*) FROM responses WHERE channel = 'paper'").await > 100);
    assert!(count("SELECT count(*) FROM response_texts").await > 100);
    assert!(count("SELECT count(*) FROM response_flags").await > 0);
    assert!(count("SELECT count(*) FROM response_reviews WHERE excluded").await > 0);
    assert!(count("SELECT count(*) FROM rollup_responses").await > 0);
    let newest_id = count("SELECT max(id) FROM responses").await;

    // The drill of docs/operations.md: pg_dump -Fc, then pg_restore into a new empty database.
    let dir = TempDir::new("backup");
    let dump = dir.path().join("sipas.dump");
    let mut cmd = tokio::process::Command::new(&pg_dump);
    cmd.args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(format!("--dbname={}", original.url));
    run(cmd, "pg_dump").await;
    lap("pg_dump -Fc");
    let restored = TestDatabase::create_empty().await;
    let mut cmd = tokio::process::Command::new(&pg_restore);
    cmd.args(["--exit-on-error", "--single-transaction", "--no-owner"])
        .arg(format!("--dbname={}", restored.url))
        .arg(&dump);
    let output = run(cmd, "pg_restore").await;
    assert!(
        output.stderr.is_empty(),
        "pg_restore warned: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    lap("pg_restore");
    println!(
        "dump of {newest_id} responses: {} KiB",
        std::fs::metadata(&dump).unwrap().len() / 1024
    );

    let before = table_checksums(&original.url).await;
    assert!(before.len() > 20, "{before:?}");
    assert_eq!(
        table_checksums(&restored.url).await,
        before,
        "every table holds the same rows after the restore"
    );
    lap("table checksums");

    let from_original = dir.path().join("original");
    let from_restored = dir.path().join("restored");
    std::fs::create_dir(&from_original).unwrap();
    std::fs::create_dir(&from_restored).unwrap();
    export_all(&original.url, &from_original).await;
    export_all(&restored.url, &from_restored).await;
    lap("exports of both");
    for (file, _) in EXPORTS {
        let a = std::fs::read(from_original.join(file)).unwrap();
        let b = std::fs::read(from_restored.join(file)).unwrap();
        assert!(a.len() > 1000, "{file}: {} bytes", a.len());
        assert!(
            a == b,
            "{file} differs between the original and the restored database ({} and {} bytes)",
            a.len(),
            b.len()
        );
        println!("{file}: {} bytes, identical", a.len());
    }
    // Byte-identical because the workbook's creation time is the data's, not the clock's: the
    // newest response of the year in the data sheet (the demo's, of 2025).
    let core = zip_part(&from_original.join("ket-qua.xlsx"), "docProps/core.xml");
    let newest: String = sql
        .query_one(
            "SELECT to_char(max(r.submitted_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM responses r JOIN form_versions v ON v.id = r.form_version_id \
             WHERE v.form_id = 'sipas-1001-dich-vu' \
               AND r.submitted_at >= '2025-01-01T00:00:00+07' \
               AND r.submitted_at < '2026-01-01T00:00:00+07'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        core.contains(&format!(
            "<dcterms:created xsi:type=\"dcterms:W3CDTF\">{newest}</dcterms:created>"
        )),
        "the workbook is dated by its newest response ({newest}): {core}"
    );
    drop(sql);

    // The restored database takes a new response through the real server, numbered after every
    // restored one.
    let app = TestApp::spawn_on(restored, common::test_config).await;
    let restored_count = app.response_count().await;
    let desk = app.desk_code(XUAN_BAC).await;
    let key = app.send_survey_stored(&desk, &full_answers("4")).await;
    let id: i64 = app
        .sql()
        .await
        .query_one(
            "SELECT id FROM responses WHERE submission_key = $1::text::uuid",
            &[&key],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        id > newest_id,
        "the new response's id {id} follows the restored ones (up to {newest_id})"
    );
    assert_eq!(app.response_count().await, restored_count + 1);
    app.settle_rollups().await;
    lap("a new response on the restored database");
    println!(
        "backup drill: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}
