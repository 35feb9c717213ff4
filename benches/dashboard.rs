//! The district dashboard at scale: loads synthetic responses into a fresh database and
//! measures, in one run, the statistics query the overview uses (`sipas::db::stats::
//! unit_figures`, over the rollups) next to a bare SQL aggregate of the same figures straight
//! from the responses.
//!
//! ```text
//! cargo bench --bench dashboard                                  # 1,000,000 responses
//! SIPAS_BENCH_RESPONSES=100000 cargo bench --bench dashboard     # a quick run
//! ```
//!
//! `SIPAS_TEST_DATABASE_URL` names the administrative connection the database is created from
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), as for the tests. The database is
//! dropped at the end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use diesel::QueryableByName;
use diesel::sql_types::{Int4, Int8, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use sipas::config::Config;
use sipas::db::{rollup, stats};
use sipas::startup::Services;

const FORM: &str = "sipas-1001-dich-vu";
const RUNS_QUERY: usize = 30;
const RUNS_BARE: usize = 5;
const MORE: u64 = 10_000;
const SEED: i64 = 1;

#[path = "support/mod.rs"]
mod support;
use support::{DropDatabase, admin_execute, admin_url};

fn config(database_url: &str) -> Config {
    let vars: HashMap<&str, String> = [
        ("DATABASE_URL", database_url.to_string()),
        ("SIPAS_BIND", "127.0.0.1:0".to_string()),
        (
            "SIPAS_DATA_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/bench-data").to_string(),
        ),
        ("SIPAS_DB_POOL_SIZE", "2".to_string()),
    ]
    .into();
    Config::from_lookup(|k| vars.get(k).cloned()).expect("a valid configuration")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and 95th percentile (nearest rank).
fn median_p95(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    };
    let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
    (median, samples[rank - 1])
}

#[derive(QueryableByName)]
struct BareRow {
    #[diesel(sql_type = Int4)]
    _unit_id: i32,
    #[diesel(sql_type = Text)]
    _item_code: String,
    #[diesel(sql_type = diesel::sql_types::Int2)]
    _value: i16,
    #[diesel(sql_type = Int8)]
    n: i64,
}

/// The same counts as `unit_figures` (per unit, item code and value), straight from the
/// responses: the natural single query, with the answers expanded by unnest.
const BARE_SQL: &str = "\
SELECT a.unit_id AS _unit_id, fi.code AS _item_code, a.value AS _value, sum(a.n)::int8 AS n
FROM (
    SELECT r.unit_id, r.form_version_id, u.answer_index, u.value, count(*) AS n
    FROM responses r
    CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY AS u (value, answer_index)
    WHERE r.form_version_id IN (SELECT id FROM form_versions WHERE form_id = $1)
      AND r.submitted_at >= $2 AND r.submitted_at < $3
      AND u.value IS NOT NULL
    GROUP BY 1, 2, 3, 4
) a
JOIN form_items fi ON fi.form_version_id = a.form_version_id AND fi.answer_index = a.answer_index
GROUP BY 1, 2, 3";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let responses: u64 = std::env::var("SIPAS_BENCH_RESPONSES")
        .ok()
        .map(|v| v.replace('_', "").parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let year = sipas::plans::today_in_vietnam().year() - 1;
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap();

    let name = format!("sipas_bench_{}", uuid::Uuid::new_v4().simple());
    admin_execute(&format!("CREATE DATABASE {name}")).await;
    let _guard = DropDatabase(name.clone());
    let mut url = url::Url::parse(&admin_url())?;
    url.set_path(&format!("/{name}"));

    println!("sipas dashboard benchmark: {responses} synthetic responses in {year} (seed {SEED})");
    let services = Services::open(config(url.as_str())).await?;
    let mut conn = services.database.pool.get().await?;
    sipas::demo::seed(&mut conn).await?;

    let started = Instant::now();
    support::generate(&mut conn, &services.forms, SEED, responses, from, to).await?;
    let load = started.elapsed();
    diesel::sql_query("VACUUM ANALYZE responses")
        .execute(&mut conn)
        .await?;

    let rebuild = rollup::rebuild(&mut conn).await?;
    assert!(rebuild.is_done(), "{rebuild:?}");
    diesel::sql_query("VACUUM ANALYZE rollup_answers, rollup_responses, rollup_answers_month, rollup_answers_month_total, rollup_responses_month")
        .execute(&mut conn)
        .await?;

    // (a) The district overview: the whole year, every unit, the SIPAS form.
    let filter = stats::StatsFilter {
        form_id: FORM.to_string(),
        from,
        to,
        units: None,
        channel: None,
    };
    let overview = stats::unit_figures(&mut conn, &filter).await?; // warm-up
    let counted: u64 = overview.iter().flat_map(|u| &u.answers).map(|a| a.n).sum();
    let mut samples = Vec::with_capacity(RUNS_QUERY);
    for _ in 0..RUNS_QUERY {
        let started = Instant::now();
        let figures = stats::unit_figures(&mut conn, &filter).await?;
        samples.push(started.elapsed());
        assert_eq!(figures.len(), overview.len());
    }
    let (a_median, a_p95) = median_p95(samples);

    // (b) The same counts straight from the responses.
    let start_ts = from
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(sipas::views::vietnam_offset())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let end_ts = start_ts + chrono::Duration::days((to - from).num_days() + 1);
    let mut bare_samples = Vec::with_capacity(RUNS_BARE);
    let mut bare_counted = 0;
    for _ in 0..RUNS_BARE {
        let started = Instant::now();
        let rows: Vec<BareRow> = diesel::sql_query(BARE_SQL)
            .bind::<Text, _>(FORM)
            .bind::<Timestamptz, _>(start_ts)
            .bind::<Timestamptz, _>(end_ts)
            .load(&mut conn)
            .await?;
        bare_samples.push(started.elapsed());
        bare_counted = rows.iter().map(|r| r.n as u64).sum();
    }
    assert_eq!(
        bare_counted, counted,
        "the rollups and the bare aggregate count the same answers"
    );
    let (b_median, _) = median_p95(bare_samples);

    // (c) 10,000 more responses arrive (the last days of the year), then the overview again:
    // the first query folds them in (incremental refresh + query), the next ones are as (a).
    let more_from = to - chrono::Duration::days(2);
    let started = Instant::now();
    support::generate(&mut conn, &services.forms, SEED + 1, MORE, more_from, to).await?;
    let more_load = started.elapsed();
    let started = Instant::now();
    let after = stats::unit_figures(&mut conn, &filter).await?;
    let c_first = started.elapsed();
    let after_counted: u64 = after.iter().map(|u| u.responses).sum();
    let before_counted: u64 = overview.iter().map(|u| u.responses).sum();
    assert!(
        after_counted > before_counted,
        "the new responses are counted"
    );
    let mut samples = Vec::with_capacity(RUNS_QUERY);
    for _ in 0..RUNS_QUERY {
        let started = Instant::now();
        stats::unit_figures(&mut conn, &filter).await?;
        samples.push(started.elapsed());
    }
    let (c_median, c_p95) = median_p95(samples);

    #[derive(QueryableByName)]
    struct Sizes {
        #[diesel(sql_type = Int8)]
        day_rows: i64,
        #[diesel(sql_type = Int8)]
        month_rows: i64,
    }
    let sizes: Sizes = diesel::sql_query(
        "SELECT (SELECT count(*) FROM rollup_answers) AS day_rows, \
                (SELECT count(*) FROM rollup_answers_month) AS month_rows",
    )
    .get_result(&mut conn)
    .await?;

    println!();
    println!(
        "  load: {} responses generated and stored    {:>9.1} s",
        responses,
        load.as_secs_f64()
    );
    println!(
        "  rollup rebuild ({} day rows, {} month rows)   {:>9.1} s",
        sizes.day_rows,
        sizes.month_rows,
        rebuild.elapsed.as_secs_f64()
    );
    println!();
    println!(
        "  district overview ({year}, all units, {FORM}; {} units, {counted} answers)",
        overview.len()
    );
    println!(
        "  (a) unit_figures over the rollups       median {:>9.1} ms   p95 {:>9.1} ms   ({RUNS_QUERY} runs)",
        ms(a_median),
        ms(a_p95)
    );
    println!(
        "  (b) bare SQL aggregate on responses     median {:>9.1} ms                     ({RUNS_BARE} runs)",
        ms(b_median)
    );
    println!(
        "  ratio (a)/(b)                                  {:>9.4}     ((b) is {:.0} times slower)",
        a_median.as_secs_f64() / b_median.as_secs_f64(),
        b_median.as_secs_f64() / a_median.as_secs_f64()
    );
    println!(
        "  (c) +{MORE} responses (stored in {:.1} s):",
        more_load.as_secs_f64()
    );
    println!(
        "      first unit_figures (incremental refresh + query)   {:>9.1} ms",
        ms(c_first)
    );
    println!(
        "      then unit_figures                   median {:>9.1} ms   p95 {:>9.1} ms   ({RUNS_QUERY} runs)",
        ms(c_median),
        ms(c_p95)
    );
    drop(conn);
    services.close().await;
    Ok(())
}
