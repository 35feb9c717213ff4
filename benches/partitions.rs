//! Responses partitioned by year at scale (issue 18): loads N synthetic responses spread over
//! ten years, a tenth in each, into a fresh database, the newest year first, and measures side
//! by side, with 1, 5 and 10 years loaded, the district overview (`sipas::db::stats::
//! unit_figures`, the query of the overview page, for the newest year) and that year's export
//! (the real binary, `sipas export --year Y --format csv`, as a child process).
//!
//! ```text
//! cargo bench --bench partitions                                   # 10,000,000 responses
//! SIPAS_BENCH_RESPONSES=1000000 cargo bench --bench partitions     # a shorter run
//! ```
//!
//! Targets (issue 18): the overview under 300 ms at 10,000,000 responses over ten years, and
//! one year's export no slower with ten years loaded than with one. `SIPAS_TEST_DATABASE_URL`
//! names the administrative connection the database is created from (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), as for the tests. The database is dropped
//! at the end.
//!
//! `SIPAS_BENCH_BASELINE_BIN` names another build of `sipas` (e.g. the previous commit's
//! `target/release/sipas`, copied aside): each stage then also times its export, the runs of
//! both binaries alternating, and prints the ratio, side by side on the same database.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use diesel::QueryableByName;
use diesel::sql_types::{Int8, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use sipas::config::Config;
use sipas::db::{partitions, rollup, stats};
use sipas::startup::Services;

const FORM: &str = "sipas-1001-dich-vu";
const FORMS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/survey-forms");
const RUNS_OVERVIEW: usize = 20;
const RUNS_EXPORT: usize = 3;
const YEARS: i32 = 10;

#[path = "support/mod.rs"]
mod support;
use support::{DropDatabase, admin_execute, admin_url};

fn config(database_url: &str) -> Config {
    let vars: HashMap<&str, String> = [
        ("DATABASE_URL", database_url.to_string()),
        ("SIPAS_BIND", "127.0.0.1:0".to_string()),
        ("SIPAS_FORMS_DIR", FORMS_DIR.to_string()),
        ("SIPAS_DB_POOL_SIZE", "2".to_string()),
    ]
    .into();
    Config::from_lookup(|k| vars.get(k).cloned()).expect("a valid configuration")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `sipas export --year` of `year` to a CSV file: its wall time and the file's size.
fn export_year(
    binary: &std::path::Path,
    database_url: &str,
    year: i32,
    out: &std::path::Path,
) -> (Duration, u64) {
    let started = Instant::now();
    let status = std::process::Command::new(binary)
        .env("DATABASE_URL", database_url)
        .env("SIPAS_FORMS_DIR", FORMS_DIR)
        .env("SIPAS_DB_POOL_SIZE", "2")
        .env("RUST_LOG", "warn")
        .env_remove("SIPAS_DEFAULT_FORM")
        .args(["export", "--year", &year.to_string(), "--format", "csv"])
        .arg("--out")
        .arg(out)
        .stdin(std::process::Stdio::null())
        .status()
        .expect("the sipas binary runs");
    let wall = started.elapsed();
    assert!(status.success(), "sipas export failed: {status}");
    (
        wall,
        std::fs::metadata(out).expect("the export exists").len(),
    )
}

/// Midnight of 1 January of `year` in Vietnam.
fn start_of(year: i32) -> chrono::DateTime<chrono::Utc> {
    sipas::domain::time::start_of_day(NaiveDate::from_ymd_opt(year, 1, 1).unwrap())
        .expect("a valid day")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Int8)]
    n: i64,
}

/// One row of the table printed at the end.
struct Stage {
    years: i32,
    responses: i64,
    load: Duration,
    fold: Duration,
    overview: Duration,
    overview_first: Duration,
    export: Duration,
    baseline_export: Option<Duration>,
    exported: i64,
    export_bytes: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total: u64 = std::env::var("SIPAS_BENCH_RESPONSES")
        .ok()
        .map(|v| v.replace('_', "").parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let per_year = total / YEARS as u64;
    // Ten full years, the newest the last one ended; it is loaded first and measured throughout.
    let newest = sipas::plans::today_in_vietnam().year() - 1;
    let years: Vec<i32> = (0..YEARS).map(|k| newest - k).collect();

    let name = format!("sipas_bench_{}", uuid::Uuid::new_v4().simple());
    admin_execute(&format!("CREATE DATABASE {name}")).await;
    let _guard = DropDatabase(name.clone());
    let mut url = url::Url::parse(&admin_url())?;
    url.set_path(&format!("/{name}"));

    println!(
        "sipas partitions benchmark: {total} synthetic responses over {YEARS} years \
         ({}..={newest}, {per_year} a year)",
        newest - YEARS + 1
    );
    let services = Services::open(config(url.as_str())).await?;
    let mut conn = services.database.pool.get().await?;
    sipas::demo::seed(&mut conn).await?;
    // The past years' partitions, as an operator importing old data would create them first
    // (otherwise the rows wait in responses_default: see docs/deployment.md).
    for &year in &years {
        partitions::ensure_year(&mut conn, year).await?;
    }

    let from = NaiveDate::from_ymd_opt(newest, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(newest, 12, 31).unwrap();
    let filter = stats::StatsFilter {
        form_id: FORM.to_string(),
        from,
        to,
        units: None,
        channel: None,
    };
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_sipas"));
    let baseline = std::env::var_os("SIPAS_BENCH_BASELINE_BIN")
        .filter(|b| !b.is_empty())
        .map(std::path::PathBuf::from);
    if let Some(baseline) = &baseline {
        println!("export also timed with the baseline {}", baseline.display());
    }
    let dir = std::env::temp_dir().join(format!("sipas-partitions-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = dir.join("export.csv");

    let mut stages = Vec::new();
    let mut loaded = 0;
    for stage in [1, 5, 10] {
        let started = Instant::now();
        while loaded < stage {
            let year = years[loaded as usize];
            // A seed per year: the same seed would give the same submission keys, which
            // are stored once.
            support::generate(
                &mut conn,
                &services.forms,
                i64::from(year),
                per_year,
                NaiveDate::from_ymd_opt(year, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(year, 12, 31).unwrap(),
            )
            .await?;
            loaded += 1;
        }
        let load = started.elapsed();
        diesel::sql_query("VACUUM ANALYZE responses, response_keys, response_texts")
            .execute(&mut conn)
            .await?;
        // The new responses folded into the rollups, as the service's background fold does.
        let started = Instant::now();
        loop {
            let report = rollup::refresh(&mut conn).await?;
            if report.is_done() {
                break;
            }
        }
        let fold = started.elapsed();
        diesel::sql_query("ANALYZE rollup_answers, rollup_responses, rollup_answers_month, rollup_answers_month_total, rollup_responses_month")
            .execute(&mut conn)
            .await?;

        let started = Instant::now();
        stats::unit_figures(&mut conn, &filter).await?;
        let overview_first = started.elapsed();
        let mut samples = Vec::with_capacity(RUNS_OVERVIEW);
        for _ in 0..RUNS_OVERVIEW {
            let started = Instant::now();
            stats::unit_figures(&mut conn, &filter).await?;
            samples.push(started.elapsed());
        }
        let overview = median(samples);

        let exported = diesel::sql_query(
            "SELECT count(*) AS n FROM responses r JOIN form_versions fv \
             ON fv.id = r.form_version_id WHERE fv.form_id = $1 \
             AND r.submitted_at >= $2 AND r.submitted_at < $3",
        )
        .bind::<Text, _>(&services.config.default_form)
        .bind::<Timestamptz, _>(start_of(newest))
        .bind::<Timestamptz, _>(start_of(newest + 1))
        .get_result::<Count>(&mut conn)
        .await?
        .n;
        let mut samples = Vec::with_capacity(RUNS_EXPORT);
        let mut baseline_samples = Vec::with_capacity(RUNS_EXPORT);
        let mut bytes = 0;
        for _ in 0..RUNS_EXPORT {
            let (wall, size) = export_year(&binary, url.as_str(), newest, &out);
            samples.push(wall);
            bytes = size;
            if let Some(baseline) = &baseline {
                let (wall, size) = export_year(baseline, url.as_str(), newest, &out);
                assert_eq!(size, bytes, "the baseline's export has another size");
                baseline_samples.push(wall);
            }
        }
        let export = median(samples);
        let baseline_export = baseline.is_some().then(|| median(baseline_samples));
        let responses = diesel::sql_query("SELECT count(*) AS n FROM responses")
            .get_result::<Count>(&mut conn)
            .await?
            .n;
        println!(
            "  {stage:>2} year(s), {responses:>10} responses: overview {:>7.1} ms, \
             export of {newest} {:>6.1} s{}",
            ms(overview),
            export.as_secs_f64(),
            baseline_export.map_or_else(String::new, |b| format!(
                " (baseline {:.1} s, ratio {:.2})",
                b.as_secs_f64(),
                export.as_secs_f64() / b.as_secs_f64()
            ))
        );
        stages.push(Stage {
            years: stage,
            responses,
            load,
            fold,
            overview,
            overview_first,
            export,
            baseline_export,
            exported,
            export_bytes: bytes,
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    let in_default = diesel::sql_query("SELECT count(*) AS n FROM responses_default")
        .get_result::<Count>(&mut conn)
        .await?
        .n;
    assert_eq!(in_default, 0, "every response is in its year's partition");
    drop(conn);
    services.close().await;

    println!();
    println!(
        "{:>5} {:>11} {:>9} {:>9} {:>14} {:>14} {:>12} {:>10} {:>9}",
        "years",
        "responses",
        "load (s)",
        "fold (s)",
        "overview (ms)",
        "1st view (ms)",
        "export (s)",
        "exported",
        "CSV (MB)"
    );
    for s in &stages {
        println!(
            "{:>5} {:>11} {:>9.1} {:>9.1} {:>14.1} {:>14.1} {:>12.2} {:>10} {:>9.1}",
            s.years,
            s.responses,
            s.load.as_secs_f64(),
            s.fold.as_secs_f64(),
            ms(s.overview),
            ms(s.overview_first),
            s.export.as_secs_f64(),
            s.exported,
            s.export_bytes as f64 / 1_000_000.0
        );
    }
    let first = &stages[0];
    let last = stages.last().unwrap();
    println!();
    println!(
        "overview with {} years: median {:.1} ms (target < 300 ms at 10,000,000 responses): {}",
        last.years,
        ms(last.overview),
        if last.overview < Duration::from_millis(300) {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "export of {newest}: {:.2} s with 1 year loaded, {:.2} s with {} ({:+.0} %)",
        first.export.as_secs_f64(),
        last.export.as_secs_f64(),
        last.years,
        (last.export.as_secs_f64() / first.export.as_secs_f64() - 1.0) * 100.0
    );
    if let (Some(b1), Some(bn)) = (first.baseline_export, last.baseline_export) {
        println!(
            "baseline's export of {newest}: {:.2} s with 1 year loaded, {:.2} s with {} ({:+.0} %)",
            b1.as_secs_f64(),
            bn.as_secs_f64(),
            last.years,
            (bn.as_secs_f64() / b1.as_secs_f64() - 1.0) * 100.0
        );
    }
    Ok(())
}
