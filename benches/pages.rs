//! The staff pages at scale: loads synthetic responses into a fresh database, starts the real
//! server (`Application::build` on port 0) and times, side by side in one run, the pages an
//! officer opens every day, over HTTP with a signed-in admin's session: the overview of the
//! last year, a commune's page, the district's own page, the printable report and the comments
//! list; and across a reorganisation (issue 19): three communes merged on 1 July into a new
//! unit (recorded as plain SQL, as the reorganisation pages would), whose page, comparison of
//! the second quarter with the third and `GET /api/v1/stats?compared_to=` regroup the
//! predecessors' figures by lineage. Each page is fetched once to warm up, then `SIPAS_BENCH_RUNS` times (default 15); the
//! median and the 95th percentile are printed, with the budget of issue 17 (300 ms).
//!
//! With `SIPAS_BENCH_SHAPE=province` (issue 19) the tree is a whole province's before the
//! responses are drawn: besides the demo district, a made-up provincial service centre with
//! its branches and made-up communes, 120 units and 300 desks in all (the responses spread
//! over every desk); the province's own page is timed too.
//!
//! ```text
//! cargo bench --bench pages                                  # 1,000,000 responses
//! SIPAS_BENCH_RESPONSES=100000 cargo bench --bench pages     # a quick run
//! SIPAS_BENCH_SHAPE=province cargo bench --bench pages       # 120 units, 300 desks
//! SIPAS_BENCH_KEEP=1 cargo bench --bench pages               # keep the loaded database
//! SIPAS_BENCH_DATABASE=sipas_bench_… cargo bench --bench pages   # time it again
//! ```
//!
//! Loading and folding a million responses takes far longer than the timing (the rollups by
//! attribute most of all); a kept database is timed again as loaded (the run's merge undone
//! at its end), after a change to the code, without loading it again.
//!
//! `SIPAS_TEST_DATABASE_URL` names the administrative connection the database is created from
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), as for the tests. The database is
//! dropped at the end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use diesel_async::RunQueryDsl;
use sipas::config::Config;
use sipas::db::rollup;
use sipas::startup::{Application, Services};

const SEED: i64 = 3;
const BUDGET_MS: f64 = 300.0;
const PASSWORD: &str = "mật khẩu đo hiệu năng 1";

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

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the hidden field") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env_number = |name: &str, default: u64| -> anyhow::Result<u64> {
        Ok(std::env::var(name)
            .ok()
            .map(|v| v.replace('_', "").parse())
            .transpose()?
            .unwrap_or(default))
    };
    let responses = env_number("SIPAS_BENCH_RESPONSES", 1_000_000)?;
    let runs = env_number("SIPAS_BENCH_RUNS", 15)? as usize;
    let province_shape = match std::env::var("SIPAS_BENCH_SHAPE").as_deref() {
        Ok("province") => true,
        Ok("district") | Err(_) => false,
        Ok(other) => {
            anyhow::bail!("SIPAS_BENCH_SHAPE: \"{other}\" is neither district nor province")
        }
    };
    let year = sipas::plans::today_in_vietnam().year() - 1;
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap();

    // SIPAS_BENCH_DATABASE: an existing database, loaded by an earlier run kept with
    // SIPAS_BENCH_KEEP=1 (a loaded database is timed as it is: loading and folding a million
    // responses takes far longer than the timing); it is never dropped.
    let reused = std::env::var("SIPAS_BENCH_DATABASE").ok();
    let keep = reused.is_some() || std::env::var_os("SIPAS_BENCH_KEEP").is_some();
    let name = match &reused {
        Some(name) => name.clone(),
        None => {
            let name = format!("sipas_bench_{}", uuid::Uuid::new_v4().simple());
            admin_execute(&format!("CREATE DATABASE {name}")).await;
            name
        }
    };
    let _guard = (!keep).then(|| DropDatabase(name.clone()));
    if keep {
        println!("  database {name} (kept: SIPAS_BENCH_DATABASE={name} times it again)");
    }
    let mut url = url::Url::parse(&admin_url())?;
    url.set_path(&format!("/{name}"));

    let services = Services::open(config(url.as_str())).await?;
    {
        let mut conn = services.database.pool.get().await?;
        let already = count(&mut conn, "SELECT count(*) AS n FROM responses").await?;
        if already > 0 {
            println!("sipas staff pages benchmark: the {already} responses already in {name}");
            // Whatever an interrupted run left unfolded.
            while !rollup::refresh(&mut conn).await?.is_done() {}
        } else {
            println!(
                "sipas staff pages benchmark: {responses} synthetic responses in {year} \
                 (seed {SEED})"
            );
            load(
                &mut conn,
                &services.forms,
                province_shape,
                responses,
                from,
                to,
            )
            .await?;
        }
        // A kept database is timed as loaded: the merge of an interrupted run undone.
        undo_merge(&mut conn).await?;
        let units = count(&mut conn, "SELECT count(*) AS n FROM units").await?;
        let desks = count(&mut conn, "SELECT count(*) AS n FROM desks WHERE active").await?;
        println!("  {units} units, {desks} desks");
        if count(
            &mut conn,
            "SELECT count(*) AS n FROM accounts WHERE username = 'bench.admin'",
        )
        .await?
            == 0
        {
            sipas::staff::create_account(
                &mut conn,
                &sipas::staff::AccountRequest {
                    username: "bench.admin",
                    display_name: "Bench",
                    role: "admin",
                    password: PASSWORD,
                    unit_codes: &[],
                },
            )
            .await?;
        }
    }
    let (province, district, commune) = {
        let mut conn = services.database.pool.get().await?;
        let units = sipas::db::units::Unit::all_by_name(&mut conn).await?;
        let id = |code: &str| units.iter().find(|u| u.code == code).map(|u| u.id).unwrap();
        (id("dong-nai"), id("xuan-loc"), id("xuan-loc.xuan-bac"))
    };
    let pool = services.database.pool.clone();
    let app = Application::build(services).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let sign_in = client
        .get(format!("{base}/sign-in"))
        .send()
        .await?
        .text()
        .await?;
    let signed = client
        .post(format!("{base}/sign-in"))
        .form(&[
            ("_csrf", hidden(&sign_in, "_csrf").as_str()),
            ("username", "bench.admin"),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    assert!(signed.status().is_success() || signed.status().is_redirection());

    let query = format!("year={year}&form=sipas-1001-dich-vu");
    let mut pages = vec![
        ("overview (/staff/stats)", format!("/staff/stats?{query}")),
        (
            "a commune's page",
            format!("/staff/stats/units/{commune}?{query}"),
        ),
        (
            "the district's page",
            format!("/staff/stats/units/{district}?{query}"),
        ),
        (
            "overview, filtered: Nữ",
            format!("/staff/stats?{query}&attr=GIOI_TINH%3A2"),
        ),
        (
            "overview, filtered: Đất đai, Q1",
            format!("/staff/stats?{query}&period=q1&attr=LINH_VUC%3A1"),
        ),
        (
            "overview, filtered: Nữ, 25–34",
            format!("/staff/stats?{query}&attr=GIOI_TINH%3A2&attr=DO_TUOI%3A2"),
        ),
        (
            "a commune's page, filtered: Nữ",
            format!("/staff/stats/units/{commune}?{query}&attr=GIOI_TINH%3A2"),
        ),
        ("printable report", format!("/staff/report?{query}")),
        ("comments", format!("/staff/comments?{query}")),
    ];
    pages.push((
        "the province's page",
        format!("/staff/stats/units/{province}?{query}"),
    ));
    time_pages(&client, &base, &pages, runs).await?;

    // A made-up merge on 1 July of the year: Xuân Bắc, Xuân Định and Bảo Hòa into a new unit.
    let merged: i32 = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Int4)]
            id: i32,
        }
        let mut conn = pool.get().await?;
        let act_day = NaiveDate::from_ymd_opt(year, 7, 1).unwrap();
        let merged = diesel::sql_query(
            "INSERT INTO units (parent_id, code, name, kind, valid_from) \
             VALUES ($1, 'xuan-loc.thu-nghiem-hop-nhat', 'Xã Thử Nghiệm Hợp Nhất', 'commune', $2) \
             RETURNING id",
        )
        .bind::<diesel::sql_types::Int4, _>(district)
        .bind::<diesel::sql_types::Date, _>(act_day)
        .get_result::<Id>(&mut conn)
        .await?
        .id;
        diesel::sql_query(
            "WITH act AS ( \
                 INSERT INTO reorganisations (kind, title, legal_basis, effective_date) \
                 VALUES ('merge', 'Sáp nhập thử nghiệm', 'Nghị quyết thử nghiệm', $2) RETURNING id), \
             old AS ( \
                 UPDATE units SET valid_until = $2 \
                 WHERE code IN ('xuan-loc.xuan-bac', 'xuan-loc.xuan-dinh', 'xuan-loc.bao-hoa') \
                 RETURNING id) \
             INSERT INTO unit_lineage (reorganisation_id, predecessor_id, successor_id) \
             SELECT act.id, old.id, $1 FROM act, old",
        )
        .bind::<diesel::sql_types::Int4, _>(merged)
        .bind::<diesel::sql_types::Date, _>(act_day)
        .execute(&mut conn)
        .await?;
        merged
    };

    let lineage_pages = [
        ("after the merge: overview", format!("/staff/stats?{query}")),
        (
            "after the merge: the district's page",
            format!("/staff/stats/units/{district}?{query}"),
        ),
        (
            "lineage: merged unit's page, Q3",
            format!("/staff/stats/units/{merged}?{query}&period=q3"),
        ),
        (
            "lineage: compare Q2 with Q3",
            format!(
                "/staff/stats/compare?unit={merged}&periods={year}-q2&periods={year}-q3&{query}"
            ),
        ),
        (
            "lineage: API Q2 compared_to Q3",
            format!(
                "/api/v1/stats?unit={merged}&from={year}-04-01&to={year}-06-30\
                 &compared_to={year}-09-30"
            ),
        ),
    ];
    println!();
    println!("  three communes merged on 1 July {year}: their figures regrouped by lineage");
    time_pages(&client, &base, &lineage_pages, runs).await?;
    if keep {
        undo_merge(&mut *pool.get().await?).await?;
    }
    handle.stop(true).await;
    let _ = server.await;
    Ok(())
}

/// The three demo communes merged by the run made current again and the
/// made-up merge removed, so that a kept database is as loaded.
async fn undo_merge(conn: &mut diesel_async::AsyncPgConnection) -> anyhow::Result<()> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::sql_query(
            "DELETE FROM unit_lineage WHERE reorganisation_id IN \
             (SELECT id FROM reorganisations WHERE title = 'Sáp nhập thử nghiệm')",
        )
        .execute(conn)
        .await?;
        diesel::sql_query("DELETE FROM reorganisations WHERE title = 'Sáp nhập thử nghiệm'")
            .execute(conn)
            .await?;
        diesel::sql_query("DELETE FROM units WHERE code = 'xuan-loc.thu-nghiem-hop-nhat'")
            .execute(conn)
            .await?;
        diesel::sql_query(
            "UPDATE units SET valid_until = NULL \
             WHERE code IN ('xuan-loc.xuan-bac', 'xuan-loc.xuan-dinh', 'xuan-loc.bao-hoa')",
        )
        .execute(conn)
        .await?;
        Ok(())
    })
    .await?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    n: i64,
}

async fn count(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(diesel::sql_query(sql).get_result::<Count>(conn).await?.n)
}

/// The demo district (and with `province_shape` a province's tree around it), `responses`
/// synthetic responses from `from` to `to`, and the rollups built from them.
async fn load(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &sipas::forms::FormRegistry,
    province_shape: bool,
    responses: u64,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<()> {
    sipas::demo::seed(conn).await?;
    if province_shape {
        seed_province(conn).await?;
    }
    let started = Instant::now();
    support::generate(conn, forms, SEED, responses, from, to).await?;
    println!(
        "  load: {responses} responses in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    diesel::sql_query("VACUUM ANALYZE").execute(conn).await?;
    let started = Instant::now();
    let rebuild = rollup::rebuild(conn).await?;
    assert!(rebuild.is_done(), "{rebuild:?}");
    diesel::sql_query("VACUUM ANALYZE").execute(conn).await?;
    println!(
        "  rollups built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Made-up units and desks under the demo province until it holds 120 units and 300 desks
/// (issue 19's province): a provincial public administrative service centre with nine
/// branches, then communes ("Xã Thử Nghiệm NN", clearly not real places), the desks dealt out
/// one by one over the new units.
async fn seed_province(conn: &mut diesel_async::AsyncPgConnection) -> anyhow::Result<()> {
    use sipas::db::desks::{Desk, NewDesk};
    use sipas::db::units::Unit;
    const UNITS: usize = 120;
    const DESKS: usize = 300;
    let existing = Unit::all_by_name(conn).await?;
    let province = existing.iter().find(|u| u.code == "dong-nai").unwrap().id;
    let centre = made_up_unit(
        conn,
        province,
        "tt-phvhc",
        "Trung tâm Phục vụ hành chính công tỉnh (thử nghiệm)",
        "service_centre",
    )
    .await?;
    let mut created = vec![centre];
    for k in 1..=9 {
        let code = format!("tt-phvhc.chi-nhanh-{k}");
        let name = format!("Chi nhánh số {k} (thử nghiệm)");
        created.push(made_up_unit(conn, centre, &code, &name, "centre_branch").await?);
    }
    for k in 1.. {
        if existing.len() + created.len() >= UNITS {
            break;
        }
        let code = format!("thu-nghiem-{k:02}");
        let name = format!("UBND xã Thử Nghiệm {k:02}");
        created.push(made_up_unit(conn, province, &code, &name, "commune").await?);
    }
    let desks_before = Desk::list_active(conn).await?.len();
    for i in 0..DESKS.saturating_sub(desks_before) {
        let name = format!("Quầy thử nghiệm số {}", i / created.len() + 1);
        Desk::create(
            conn,
            &NewDesk {
                unit_id: created[i % created.len()],
                name: &name,
                form_id: None,
            },
        )
        .await?;
    }
    Ok(())
}

async fn made_up_unit(
    conn: &mut diesel_async::AsyncPgConnection,
    parent_id: i32,
    code: &str,
    name: &str,
    kind: &str,
) -> anyhow::Result<i32> {
    let unit = sipas::db::units::Unit::upsert(
        conn,
        &sipas::db::units::NewUnit {
            parent_id: Some(parent_id),
            code,
            name,
            kind,
            default_form_id: None,
            admin_code: None,
            valid_from: None,
            valid_until: None,
        },
    )
    .await?;
    Ok(unit.id)
}

/// Fetches each page once to warm up, then `runs` times; prints the median and p95. A page
/// whose label starts with "lineage" must carry the note of figures regrouped by lineage.
async fn time_pages(
    client: &reqwest::Client,
    base: &str,
    pages: &[(&str, String)],
    runs: usize,
) -> anyhow::Result<()> {
    println!();
    println!("  page ({runs} runs each, after one warm-up)      median        p95   budget");
    let mut medians: Vec<(&str, f64)> = Vec::new();
    for (label, path) in pages {
        let url = format!("{base}{path}");
        let warm = client.get(&url).send().await?;
        anyhow::ensure!(warm.status() == 200, "{path}: {}", warm.status());
        let body = warm.text().await?;
        anyhow::ensure!(
            !label.starts_with("lineage") || body.contains("so sánh theo đơn vị trước sắp xếp"),
            "{path}: the figures are not regrouped by lineage"
        );
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let response = client.get(&url).send().await?;
            anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
            response.bytes().await?;
            samples.push(started.elapsed());
        }
        let (median, p95) = median_p95(samples);
        medians.push((label, ms(median)));
        println!(
            "  {label:<40} {:>9.1} ms {:>8.1} ms   {}",
            ms(median),
            ms(p95),
            if ms(median) <= BUDGET_MS {
                "under 300 ms"
            } else {
                "OVER 300 ms"
            }
        );
    }
    // The filtered pages side by side with the first page of the list, the unfiltered
    // overview (issue 17).
    if let [(_, overview), ..] = medians.as_slice() {
        println!();
        for (label, median) in medians.iter().filter(|(l, _)| l.contains("filtered")) {
            println!(
                "  {label:<40} {:>6.2} × the unfiltered overview",
                median / overview
            );
        }
    }
    Ok(())
}
