//! Nothing lost: citizens' responses survive a database outage (issue 6).
//!
//! `postgres_stops_and_starts_in_the_middle_of_a_stream` runs the real server on a private
//! PostgreSQL cluster (`sipas::db::embedded`, as the `postgres` account when root), lets several
//! concurrent clients submit, stops the cluster (`pg_ctl stop -m immediate`), keeps submitting,
//! starts it again, and checks that every submission thanked is stored exactly once with its
//! open answer. The other tests cut one test database off (`ALLOW_CONNECTIONS false`), which is
//! cheaper, to check the spool's files, torn lines and health report.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{TempDir, TestApp, cut_off, full_answers, hidden_field, submit, test_config};
use sipas::config::Config;
use sipas::db::embedded::EmbeddedPostgres;
use sipas::startup::{Application, Services};
use tokio::sync::Mutex;

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_HIEP: &str = "xuan-loc.xuan-hiep";

/// The configuration of a server on `url` with its spool in `spool`.
fn config_with_spool(url: &str, spool: &Path) -> Config {
    let mut config = test_config(url);
    config.spool_dir = Some(spool.to_path_buf());
    // Short waits: the outage is noticed within a fraction of a second.
    config.db_pool_timeout = Duration::from_millis(500);
    config.db_pool_size = 8;
    config
}

async fn health(client: &reqwest::Client, address: &str) -> (u16, serde_json::Value) {
    let response = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    (status, body)
}

/// Polls `/healthz` until the database answers and the spool is empty.
async fn wait_until_drained(client: &reqwest::Client, address: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        let (status, body) = health(client, address).await;
        if status == 200 && body["spool"]["entries"] == 0 {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "the spool was not replayed within {limit:?}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the clients saw.
#[derive(Default)]
struct Outcomes {
    /// Submission keys thanked, with the time of the thanks.
    thanked: Vec<(String, Instant)>,
    /// Every key submitted.
    submitted: HashSet<String>,
    /// Count of answers by status.
    statuses: HashMap<u16, u64>,
    /// How long each submission took to answer.
    latencies: Vec<Duration>,
}

/// One citizen after another on `code` until `stop`: open the form, answer it with an open
/// answer naming the key, submit; every fifth submission is sent twice (a double tap).
async fn citizen_stream(
    address: String,
    code: String,
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Outcomes>>,
    seed: usize,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut n = seed;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let form = match client.get(format!("{address}/s/{code}")).send().await {
            Ok(r) => r,
            Err(_) => continue,
        };
        let status = form.status().as_u16();
        let html = form.text().await.unwrap_or_default();
        if status != 200 {
            *outcomes.lock().await.statuses.entry(status).or_default() += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let token = hidden_field(&html, "_token");
        let version = hidden_field(&html, "_v");
        let score = (1 + n % 5).to_string();
        let comment = format!("Ý kiến số {n}: {token}");
        let mut fields: Vec<(&str, &str)> = vec![("_token", &token), ("_v", &version)];
        let answers = full_answers(&score);
        fields.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
        fields.push(("YK", &comment));
        let body = serde_urlencoded::to_string(&fields).unwrap();
        let times = if n.is_multiple_of(5) { 2 } else { 1 };
        outcomes.lock().await.submitted.insert(token.clone());
        for _ in 0..times {
            let sent = Instant::now();
            let response = client
                .post(format!("{address}/s/{code}"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await;
            let Ok(response) = response else { continue };
            let status = response.status().as_u16();
            let page = response.text().await.unwrap_or_default();
            let mut outcomes = outcomes.lock().await;
            outcomes.latencies.push(sent.elapsed());
            *outcomes.statuses.entry(status).or_default() += 1;
            if status == 200 && page.contains("Cảm ơn Anh/Chị đã tham gia khảo sát") {
                outcomes.thanked.push((token.clone(), Instant::now()));
            }
        }
    }
}

/// Stops the private cluster: `immediate` abruptly, as a crash would; `fast` as an
/// administrator's stop does (every session gets the FATAL error `57P01` first, in the server's
/// language).
fn pg_ctl_stop(pg: &EmbeddedPostgres, mode: &str) {
    let pg_ctl = pg.bin_dir().join("pg_ctl");
    let mut command = if pg.runs_as_postgres() {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(pg_ctl);
        c
    } else {
        std::process::Command::new(pg_ctl)
    };
    let output = command
        .args(["stop", "-m", mode, "-w", "-D"])
        .arg(pg.data_dir())
        .current_dir("/")
        .output()
        .expect("pg_ctl runs");
    assert!(
        output.status.success(),
        "pg_ctl stop -m {mode}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The language of the server's messages for the test of a server that does not speak
/// English (Debian: `locales`, with the locale generated; `.ci/run` does it).
const GERMAN: &str = "de_DE.UTF-8";

/// A private cluster in `dir` (started anew from it when it exists) whose messages are in
/// `locale` (`lc_messages`), checked by the message of a division by zero.
async fn cluster_speaking(dir: &Path, locale: Option<&str>) -> EmbeddedPostgres {
    let pg = EmbeddedPostgres::start(dir)
        .await
        .expect("a private PostgreSQL starts (initdb and pg_ctl must be installed)");
    pg.ensure_database("sipas").await.unwrap();
    if let Some(locale) = locale {
        let (sql, connection) =
            tokio_postgres::connect(&pg.database_url("postgres"), tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        sql.batch_execute(&format!("ALTER SYSTEM SET lc_messages = '{locale}'"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "lc_messages = {locale}: {e} (generate the locale: locale-gen, as .ci/run does)"
                )
            });
        sql.batch_execute("SELECT pg_reload_conf()").await.unwrap();
        // The reload reaches the sessions that start afterwards.
        let (check, connection) =
            tokio_postgres::connect(&pg.database_url("sipas"), tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        let error = check.batch_execute("SELECT 1/0").await.unwrap_err();
        let message = error.as_db_error().unwrap().message().to_string();
        assert_ne!(
            message, "division by zero",
            "the server still speaks English"
        );
    }
    pg
}

/// Every thanked key stored exactly once, every stored response with its one open answer, and
/// nothing stored that was not submitted.
async fn check_database(url: &str, outcomes: &Outcomes) -> usize {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT r.submission_key::text, \
                    (SELECT count(*) FROM response_texts t WHERE t.response_id = r.id), \
                    (SELECT min(t.body) FROM response_texts t WHERE t.response_id = r.id) \
             FROM responses r",
            &[],
        )
        .await
        .unwrap();
    let mut stored: HashMap<String, u32> = HashMap::new();
    for row in &rows {
        let key: String = row.get(0);
        let texts: i64 = row.get(1);
        let body: Option<String> = row.get(2);
        assert_eq!(texts, 1, "response {key} is stored without its open answer");
        assert!(
            body.as_deref().is_some_and(|b| b.ends_with(&key)),
            "response {key} has another response's open answer: {body:?}"
        );
        assert!(
            outcomes.submitted.contains(&key),
            "{key} was stored but never submitted"
        );
        *stored.entry(key).or_default() += 1;
    }
    for (key, count) in &stored {
        assert_eq!(*count, 1, "{key} is stored {count} times");
    }
    let thanked: HashSet<&String> = outcomes.thanked.iter().map(|(k, _)| k).collect();
    let lost: Vec<&&String> = thanked
        .iter()
        .filter(|k| !stored.contains_key(k.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} thanked submissions are not in the database: {:?}",
        lost.len(),
        thanked.len(),
        &lost[..lost.len().min(5)]
    );
    stored.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stops_and_starts_in_the_middle_of_a_stream() {
    stream_through_an_outage(None, "immediate").await;
}

/// A server that speaks German (issue 13): its FATAL errors (`57P01` to the sessions of a fast
/// stop, `57P03` while it stops and starts) come in German, and are recognised all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_german_postgres_stops_in_the_middle_of_a_stream_and_nothing_is_lost() {
    stream_through_an_outage(Some(GERMAN), "fast").await;
}

/// Citizens submit through a server on a private cluster (speaking `locale`) that stops
/// (`pg_ctl stop -m {mode}`) and starts again in the middle of the stream: every response
/// thanked is stored exactly once, nobody got an error page.
async fn stream_through_an_outage(locale: Option<&str>, mode: &str) {
    // The server's errors in the test's output: a 500 below says what it was.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("sipas=error")
        .with_test_writer()
        .try_init();
    let tmp = TempDir::new("reliability");
    let pg_dir = tmp.path().join("pg");
    let pg = cluster_speaking(&pg_dir, locale).await;
    let url = pg.database_url("sipas");
    let spool_dir = tmp.path().join("spool");

    let services = Services::open(config_with_spool(&url, &spool_dir))
        .await
        .expect("the service starts");
    {
        let mut conn = services.database.pool.get().await.unwrap();
        sipas::demo::seed(&mut conn).await.expect("demo data");
    }
    let app = Application::build(services).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let codes: Vec<String> = {
        let (sql, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        sql.query(
            "SELECT c.code FROM desk_codes c JOIN desks d ON d.id = c.desk_id \
             JOIN units u ON u.id = d.unit_id \
             WHERE c.retired_at IS NULL AND d.form_id IS NULL ORDER BY d.id LIMIT 4",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    assert_eq!(codes.len(), 4);

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(citizen_stream(
                address.clone(),
                codes[i % codes.len()].clone(),
                stop.clone(),
                outcomes.clone(),
                i * 1000,
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_outage = outcomes.lock().await.thanked.len();
    assert!(before_outage > 0, "nothing was thanked before the outage");

    // PostgreSQL goes away in the middle of the stream.
    pg_ctl_stop(&pg, mode);
    let down_at = Instant::now();
    pg.stop().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, body) = health(&client, &address).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "unreachable", "{body}");
    assert_eq!(body["spool"]["accepting"], true, "{body}");
    let spooled_during_outage = body["spool"]["entries"].as_u64().unwrap();
    assert!(spooled_during_outage > 0, "nothing was spooled: {body}");
    let spool_files: Vec<PathBuf> = std::fs::read_dir(&spool_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!spool_files.is_empty());

    // ... and comes back (crash recovery after an immediate stop).
    let pg = cluster_speaking(&pg_dir, locale).await;
    let up_at = Instant::now();
    assert_eq!(pg.database_url("sipas"), url);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    wait_until_drained(&client, &address, Duration::from_secs(60)).await;

    let outcomes = outcomes.lock().await;
    let thanked_while_down = outcomes
        .thanked
        .iter()
        .filter(|(_, at)| *at > down_at && *at < up_at)
        .count();
    assert!(
        thanked_while_down > 0,
        "no citizen was thanked while PostgreSQL was down ({:?})",
        outcomes.statuses
    );
    let server_errors: u64 = outcomes
        .statuses
        .iter()
        .filter(|(status, _)| **status >= 500)
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(
        server_errors, 0,
        "citizens got error pages: {:?}",
        outcomes.statuses
    );
    // Nobody waited long, outage or not.
    let mut latencies = outcomes.latencies.clone();
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    let slowest = *latencies.last().unwrap();
    assert!(
        slowest < Duration::from_secs(6),
        "a citizen waited {slowest:?}"
    );
    let stored = check_database(&url, &outcomes).await;
    let thanked: HashSet<&String> = outcomes.thanked.iter().map(|(k, _)| k).collect();
    assert_eq!(
        stored,
        thanked.len(),
        "stored responses that were never thanked"
    );
    let (_, body) = health(&client, &address).await;
    assert!(body["spool"]["replayed"].as_u64().unwrap() >= spooled_during_outage);
    eprintln!(
        "lc_messages {locale:?}, stop -m {mode}: thanked {} ({} while PostgreSQL was down, {} spooled at the check), statuses {:?}, \
         submission p99 {:?}, slowest {:?}",
        thanked.len(),
        thanked_while_down,
        spooled_during_outage,
        outcomes.statuses,
        p99,
        slowest
    );

    handle.stop(true).await;
    let _ = server.await;
    pg.stop().await.unwrap();
}

#[tokio::test]
async fn spooled_responses_survive_a_restart_and_a_torn_line() {
    let tmp = TempDir::new("spool-restart");
    let spool_dir = tmp.path().join("spool");
    let database = common::TestDatabase::create().await;
    let name = database.name.clone();
    let spool = spool_dir.clone();
    let app = TestApp::spawn_on(database, move |url| config_with_spool(url, &spool)).await;
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    // The form is shown while the database answers (the desk is remembered) ...
    let (_, token, version) = app.open_survey(&code).await;

    cut_off(&name, false).await;
    // ... and is still shown, and thanked, while it does not.
    let mut fields = common::with_hidden(&token, &version, &[]);
    let answers = full_answers("5");
    fields.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    let first_comment = format!("Rất hài lòng {token}");
    fields.push(("YK", &first_comment));
    let response = app.post_form(&format!("/s/{code}"), &fields).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("Cảm ơn Anh/Chị"), "{page}");
    // The same form sent twice while down: one response in the end.
    let again = app.post_form(&format!("/s/{code}"), &fields).await;
    assert_eq!(again.status(), 200);
    let (second, response) = submit(&app, &code, "Hướng dẫn rõ ràng").await;
    assert_eq!(response.status(), 200);
    // An invalid submission is refused as always (nothing spooled).
    let (_, token3, version3) = app.open_survey(&code).await;
    let invalid = app
        .post_form(
            &format!("/s/{code}"),
            &[("_token", token3.as_str()), ("_v", version3.as_str())],
        )
        .await;
    assert_eq!(invalid.status(), 422);
    // An unknown desk code is not in the snapshot: the outage page.
    assert_eq!(app.get("/s/zzzzzzzz").await.status(), 503);

    let (status, body) = health(&app.client, &app.address).await;
    assert_eq!(status, 503);
    assert_eq!(body["database"], "unreachable");
    assert_eq!(body["spool"]["entries"], 3, "{body}");
    assert_eq!(body["spool"]["accepting"], true);
    assert!(body["spool"]["oldest"].is_string(), "{body}");
    assert!(body["spool"]["bytes"].as_u64().unwrap() > 300);

    // The instance stops (its spool stays), and a crash had torn the last line of another.
    app.stop().await;
    let torn = {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(spool_dir.join(sipas::spool::CURRENT_FILE))
            .unwrap();
        let half = b"0123456789abcdef\t{\"submission_key\":\"8c1a";
        std::io::Write::write_all(&mut f, half).unwrap();
        half.to_vec()
    };
    let database = app.database;
    cut_off(&name, true).await;
    common::wait_for_spool_release(&spool_dir).await;

    // A new instance on the same spool replays it.
    let restarted_at = std::time::SystemTime::now();
    let spool = spool_dir.clone();
    let app = TestApp::spawn_on(database, move |url| config_with_spool(url, &spool)).await;
    wait_until_drained(&app.client, &app.address, Duration::from_secs(30)).await;
    let (_, body) = health(&app.client, &app.address).await;
    assert_eq!(body["spool"]["damaged"], 1, "{body}");
    assert_eq!(body["spool"]["replayed"], 3, "{body}");
    let sql = app.sql().await;
    for (key, comment) in [(&token, &first_comment), (&second, &String::new())] {
        let rows = sql
            .query(
                "SELECT t.body FROM responses r JOIN response_texts t ON t.response_id = r.id \
                 WHERE r.submission_key = $1::text::uuid",
                &[key],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{key}");
        let body: String = rows[0].get(0);
        assert!(body.ends_with(key.as_str()));
        if !comment.is_empty() {
            assert_eq!(&body, comment);
        }
    }
    assert_eq!(app.response_count().await, 2);
    // The torn line is kept aside, the replayed files are gone.
    let mut damaged = Vec::new();
    for entry in std::fs::read_dir(&spool_dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file == sipas::spool::LOCK_FILE {
            continue;
        }
        assert!(
            file.starts_with("damaged-"),
            "{file} is left in the spool directory"
        );
        damaged.extend(std::fs::read(&path).unwrap());
    }
    assert_eq!(damaged, [torn, b"\n".to_vec()].concat());
    // The submission time is the citizen's, not the replay's.
    let latest: std::time::SystemTime = sql
        .query_one("SELECT max(submitted_at) FROM responses", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        latest < restarted_at,
        "submitted_at is the replay time: {latest:?} >= {restarted_at:?}"
    );
}

#[tokio::test]
async fn healthz_shows_the_spool_and_the_dashboard_too() {
    let app = TestApp::spawn().await;
    let (status, body) = health(&app.client, &app.address).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["spool"]["entries"], 0);
    assert_eq!(body["spool"]["accepting"], true);
    let admin = app.staff_with_role("quantri", "admin", &[]).await;
    let page = admin.get("/staff").await.text().await.unwrap();
    // Issue 17: the home page speaks of the spool only when something waits in it.
    assert!(page.contains("Tổng quan"), "{page}");
    assert!(!page.contains("Phiếu chờ ghi vào cơ sở dữ liệu"), "{page}");
}

#[tokio::test]
async fn replay_is_exactly_once_and_keeps_what_the_database_refuses() {
    use sipas::spool::{Spool, SpooledResponse};
    let app = TestApp::spawn().await;
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    let (stored_key, response) = submit(&app, &code, "Đã lưu").await;
    assert_eq!(response.status(), 200);
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT r.unit_id, r.desk_id, r.form_version_id, r.answers, t.item_id, t.body \
             FROM responses r JOIN response_texts t ON t.response_id = r.id",
            &[],
        )
        .await
        .unwrap();
    let entry = |key: uuid::Uuid, unit_id: i32| SpooledResponse {
        submission_key: key,
        unit_id,
        desk_id: row.get(1),
        desk_code: Some(code.clone()),
        form_version_id: row.get(2),
        channel: "qr".into(),
        answers: row.get(3),
        submitted_at: chrono::Utc::now() - chrono::Duration::minutes(5),
        texts: vec![(row.get(4), format!("Ý kiến {key}"))],
        client_key: None,
        started_at: None,
        visit_code_id: None,
        via: None,
        residence_unit_id: None,
        residence_code: None,
        database: None,
    };
    let tmp = TempDir::new("replay-once");
    let identity = {
        let mut conn = app.pool.get().await.unwrap();
        sipas::db::identity(&mut conn).await.unwrap()
    };
    let spool = Spool::open(tmp.path(), sipas::spool::DEFAULT_MAX_BYTES, identity).unwrap();
    let new_key = uuid::Uuid::new_v4();
    let unit: i32 = row.get(0);
    // A new response (spooled twice: a double tap), the response already stored, and one the
    // database refuses (no such unit).
    spool.append_blocking(&entry(new_key, unit)).unwrap();
    spool.append_blocking(&entry(new_key, unit)).unwrap();
    spool
        .append_blocking(&entry(stored_key.parse().unwrap(), unit))
        .unwrap();
    let refused = uuid::Uuid::new_v4();
    spool.append_blocking(&entry(refused, 987_654)).unwrap();
    assert_eq!(spool.status().entries, 4);

    let report = spool.replay(&app.pool).await;
    assert_eq!(report.interrupted, None);
    assert_eq!((report.stored, report.already_stored), (1, 2));
    assert_eq!(report.rejected, 1);
    let status = spool.status();
    assert_eq!((status.entries, status.rejected), (0, 1));
    assert!(spool.is_empty());
    assert_eq!(app.response_count().await, 2);
    let texts = app
        .count(&format!(
            "SELECT count(*) FROM response_texts t JOIN responses r ON r.id = t.response_id \
             WHERE r.submission_key = '{new_key}' AND t.body = 'Ý kiến {new_key}'"
        ))
        .await;
    assert_eq!(texts, 1);
    // The refused entry is kept, with the reason.
    let kept: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != sipas::spool::LOCK_FILE)
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].starts_with("rejected-"), "{kept:?}");
    let text = std::fs::read_to_string(tmp.path().join(&kept[0])).unwrap();
    assert!(text.contains(&refused.to_string()), "{text}");
    assert!(text.contains("foreign key"), "{text}");
    // Replaying again does nothing.
    let again = spool.replay(&app.pool).await;
    assert_eq!((again.stored, again.already_stored), (0, 0));
    assert_eq!(app.response_count().await, 2);
}

#[tokio::test]
async fn the_desk_snapshot_agrees_with_the_lookup() {
    use sipas::db::desks::Desk;
    let app = TestApp::spawn().await;
    let directory = sipas::desk_directory::DeskDirectory::new();
    let count = directory.reload(&app.pool).await.unwrap();
    let codes: Vec<String> = app
        .sql()
        .await
        .query("SELECT code FROM desk_codes", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(count >= 29, "{count}");
    let mut conn = app.pool.get().await.unwrap();
    let mut found = 0;
    for code in &codes {
        let looked_up = Desk::find_by_code(&mut conn, code).await.unwrap();
        assert_eq!(directory.last_known(code), looked_up, "{code}");
        found += usize::from(looked_up.is_some());
    }
    assert_eq!(found, count);
    // A desk whose form comes from its unit differs from one with its own.
    let forms: HashSet<Option<String>> = codes
        .iter()
        .filter_map(|c| directory.last_known(c))
        .map(|d| d.form_id)
        .collect();
    assert!(forms.len() >= 2, "{forms:?}");
}

/// The server trusts the desks it remembers (no lookup per page) only while it hears of every
/// change: a change committed by anyone else (here a plain SQL session, as another instance or
/// `psql` would) reaches the next page through PostgreSQL's notification.
#[tokio::test]
async fn a_desk_changed_elsewhere_stops_accepting_on_the_next_page() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 200);
    assert!(
        app.desks.trusted(&code).is_some(),
        "the page's desk is remembered and trusted"
    );
    let generation = app.desks.generation();
    app.sql()
        .await
        .execute(
            "UPDATE desks SET active = false WHERE id = (SELECT desk_id FROM desk_codes WHERE code = $1)",
            &[&code],
        )
        .await
        .unwrap();
    app.await_desk_change(generation).await;
    assert_eq!(app.desks.trusted(&code), None);
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 404);
}

/// When the listening connection is lost, nothing remembered is trusted, and a change made
/// while it was away is seen once it listens again.
#[tokio::test]
async fn a_change_made_while_the_listener_was_away_is_not_missed() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 200);
    assert!(app.desks.trusted(&code).is_some());
    let sql = app.sql().await;
    let generation = app.desks.generation();
    let cut = sql
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
            &[&sipas::desk_directory::APPLICATION_NAME],
        )
        .await
        .unwrap();
    assert_eq!(cut, 1, "one listening connection per instance");
    // Changed before the server may have noticed the cut: no notification reaches it.
    sql.execute(
        "UPDATE units SET active = false WHERE code = $1",
        &[&XUAN_BAC],
    )
    .await
    .unwrap();
    app.await_desk_change(generation).await;
    assert_eq!(app.desks.trusted(&code), None);
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 404);
    // It listens again, and trusts again what it looks up from then on.
    common::wait_until(Duration::from_secs(10), || app.desks.is_listening())
        .await
        .expect("the listener reconnects");
    let other = app.desk_code(XUAN_HIEP).await;
    assert_eq!(app.get(&format!("/s/{other}")).await.status(), 200);
    common::wait_until(Duration::from_secs(5), || {
        app.desks.trusted(&other).is_some()
    })
    .await
    .expect("trusted once listening again");
    assert_eq!(app.get(&format!("/s/{code}")).await.status(), 404);
}

/// Whatever language the server speaks, its FATAL error (the session terminated by an
/// administrator: `57P01`, here in German) is an outage, and its refusal of a statement
/// (division by zero, in German too) is not: told by whether the session survived, not by the
/// message (issue 13).
#[tokio::test]
async fn a_fatal_error_in_german_is_an_outage_and_a_refusal_is_not() {
    use diesel_async::RunQueryDsl;
    use sipas::db::{failed_for_outage, is_unreachable};

    let tmp = TempDir::new("fatal-de");
    let pg = cluster_speaking(&tmp.path().join("pg"), Some(GERMAN)).await;
    let url = pg.database_url("sipas");
    let pool = sipas::db::build_pool(&url, 2).unwrap();
    let mut conn = pool.get().await.unwrap();

    let refusal = diesel::sql_query("SELECT 1/0")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert!(!refusal.to_string().contains("division"), "{refusal}");
    assert!(!failed_for_outage(&mut conn, &refusal).await, "{refusal}");

    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let Pid { pid } = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result(&mut conn)
        .await
        .unwrap();
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let terminate = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        admin
            .batch_execute(&format!("SELECT pg_terminate_backend({pid})"))
            .await
            .unwrap();
    });
    let fatal = diesel::sql_query("SELECT pg_sleep(30)")
        .execute(&mut conn)
        .await
        .unwrap_err();
    terminate.await.unwrap();
    assert!(!fatal.to_string().contains("terminating"), "{fatal}");
    // Its kind says nothing (diesel hides the SQLSTATE) ...
    assert!(!is_unreachable(&fatal), "{fatal:?}");
    // ... the session's fate does.
    assert!(failed_for_outage(&mut conn, &fatal).await, "{fatal}");
    drop(conn);
    pool.close();
    pg.stop().await.unwrap();
}
