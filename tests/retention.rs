//! Retention (issue 15): the purge against the real server's database. Rows older than their
//! period are removed or cleared, newer ones kept; a dry run changes nothing; one audit entry
//! with counts; the daily task purges once between instances; `sipas purge` through the real
//! binary; a bad setting stops start-up.

use crate::common;

use std::time::Duration;

use common::{TempDir, TestApp, TestDatabase, sipas_binary, submit};
use sipas::db::retention::{self, DEFAULTS, Due, PurgedBy};

/// The server's configuration with its exports in `data_dir`.
fn config_in(data_dir: &std::path::Path) -> impl Fn(&str) -> sipas::config::Config + '_ {
    move |url| {
        let mut config = common::test_config(url);
        config.data_dir = data_dir.to_path_buf();
        config
    }
}

/// The id of the response stored with submission key `token`.
async fn response_id(app: &TestApp, token: &str) -> i64 {
    app.sql()
        .await
        .query_one(
            "SELECT id FROM responses WHERE submission_key = $1::text::uuid",
            &[&token],
        )
        .await
        .unwrap()
        .get(0)
}

/// Moves a response `days` into the past, with a start time two minutes before.
async fn age(app: &TestApp, id: i64, days: i32) {
    app.sql()
        .await
        .execute(
            "UPDATE responses SET submitted_at = now() - make_interval(days => $2), \
                 started_at = now() - make_interval(days => $2, mins => 2) WHERE id = $1",
            &[&id, &days],
        )
        .await
        .unwrap();
}

/// (has a comment, has a client key, has a start time, flag detail) of a response.
async fn state(app: &TestApp, id: i64) -> (bool, bool, bool, Option<String>) {
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM response_texts WHERE response_id = r.id), \
                    r.client_key IS NOT NULL, r.started_at IS NOT NULL, \
                    (SELECT detail::text FROM response_flags \
                      WHERE response_id = r.id AND reason = 'outside_hours') \
             FROM responses r WHERE r.id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

/// Everything the purge may touch, to compare before and after a dry run.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT count(*) FROM response_texts",
        "SELECT count(*) FROM responses WHERE client_key IS NOT NULL",
        "SELECT count(*) FROM responses WHERE started_at IS NOT NULL",
        "SELECT count(*) FROM sign_in_failures",
        "SELECT count(*) FROM visit_limits",
        "SELECT count(*) FROM response_flags WHERE detail <> '{}'",
        "SELECT count(*) FROM visit_codes WHERE dossier_no IS NOT NULL",
        "SELECT count(*) FROM export_jobs WHERE status = 'done'",
        "SELECT count(*) FROM audit_log",
    ] {
        out.push(app.count(sql).await);
    }
    out
}

#[tokio::test]
async fn the_purge_removes_what_is_past_its_period_and_keeps_the_rest() {
    let data = TempDir::new("retention");
    let app = TestApp::spawn_on(TestDatabase::create().await, config_in(data.path())).await;
    let rules = app.config.retention;
    assert_eq!(rules, DEFAULTS);
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    let sql = app.sql().await;

    // Three responses with a comment, folded: two years and more ago, 100 days ago, today.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (token, response) = submit(&app, &code, "Góp ý 0912 345 678").await;
        assert_eq!(response.status(), 200);
        ids.push(response_id(&app, &token).await);
    }
    let (old, middle, new) = (ids[0], ids[1], ids[2]);
    app.settle_rollups().await;
    age(&app, old, 800).await;
    age(&app, middle, 100).await;
    age(&app, new, 0).await;

    // A fourth, old too, that the fraud detection has not examined yet: the rollups are held.
    sql.execute(
        "SELECT pg_advisory_lock($1)",
        &[&sipas::db::rollup::ROLLUP_LOCK],
    )
    .await
    .unwrap();
    let (token, response) = submit(&app, &code, "Góp ý chưa xét").await;
    assert_eq!(response.status(), 200);
    let unexamined = response_id(&app, &token).await;
    age(&app, unexamined, 800).await;

    // Flags with their evidence on the old and the middle response.
    sql.batch_execute("DELETE FROM response_flags")
        .await
        .unwrap();
    for id in [old, middle] {
        sql.execute(
            "INSERT INTO response_flags (response_id, reason, severity, detail) \
             VALUES ($1, 'outside_hours', 'weak', '{\"weekday\": 7, \"time\": \"22:14\"}')",
            &[&id],
        )
        .await
        .unwrap();
    }
    // The sign-in throttle, limit buckets, dossier numbers: one old and one new of each.
    sql.batch_execute(
        "INSERT INTO sign_in_failures (username, client_key, at) VALUES \
             ('an.nguyen', '\\x01', now() - interval '31 days'), \
             ('an.nguyen', '\\x02', now() - interval '29 days'); \
         INSERT INTO visit_limits (kind, key, tokens, updated_at) VALUES \
             ('person', '\\x01', 1, now() - interval '3 days'), \
             ('person', '\\x02', 1, now() - interval '1 day');",
    )
    .await
    .unwrap();
    let desk_id = app.desk_id(&code).await;
    for (dossier, days) in [
        ("000.00.12.H23-260105-0001", 8),
        ("000.00.12.H23-260105-0002", 6),
    ] {
        sql.execute(
            "INSERT INTO visit_codes (code, desk_id, batch, dossier_no, created_at) \
             VALUES ($1, $2, gen_random_uuid(), $3, now() - make_interval(days => $4))",
            &[&sipas::db::visits::new_code(), &desk_id, &dossier, &days],
        )
        .await
        .unwrap();
    }
    // Exports: past its expiry; finished 8 days ago though made to be kept longer; fresh.
    app.create_account("thong.ke", "admin", &[]).await;
    let exports_dir = app.config.export_dir();
    std::fs::create_dir_all(&exports_dir).unwrap();
    let mut files = Vec::new();
    for (finished, expires) in [(8, -1), (8, 30), (1, 6)] {
        let row = sql
            .query_one(
                "INSERT INTO export_jobs (account_id, unit_id, year, period, form_id, format, \
                     label, status, file_name, byte_size, rows_done, finished_at, expires_at) \
                 SELECT a.id, u.id, 2026, '2026', 'sipas-1001-dich-vu', 'csv', 'Năm 2026', 'done', \
                        'SIPAS_2026.csv', 3, 1, now() - make_interval(days => $1), \
                        now() + make_interval(days => $2) \
                 FROM accounts a, units u WHERE a.username = 'thong.ke' AND u.code = 'xuan-loc' \
                 RETURNING file_key::text",
                &[&finished, &expires],
            )
            .await
            .unwrap();
        let key: String = row.get(0);
        let file = exports_dir.join(format!("{key}.csv"));
        std::fs::write(&file, "a,b\n").unwrap();
        files.push(file);
    }

    // The dry run counts and changes nothing, not even the audit log.
    let before = fingerprint(&app).await;
    let mut conn = app.pool.get().await.unwrap();
    let dry = sipas::app::retention::purge(&mut conn, &rules, true, PurgedBy::CommandLine)
        .await
        .unwrap();
    drop(conn);
    assert!(dry.dry_run);
    let expected = retention::Counts {
        comments: 2,
        client_keys: 2,
        sign_in_failures: 1,
        limit_buckets: 1,
        flag_details: 1,
        start_times: 1,
        dossier_numbers: 1,
        exports: 2,
    };
    assert_eq!(dry.counts, expected);
    assert_eq!(fingerprint(&app).await, before);
    assert!(files.iter().all(|f| f.exists()));

    // The daily task's step purges, deletes the two files, and is not due again at once.
    let due = sipas::background::purge_when_due(
        &app.pool,
        &rules,
        &exports_dir,
        sipas::background::RETENTION_MIN_INTERVAL,
    )
    .await
    .unwrap();
    let Due::Purged(purge) = due else {
        panic!("the purge was due: {due:?}");
    };
    assert!(!purge.dry_run);
    assert_eq!(purge.counts, expected);
    assert!(!files[0].exists() && !files[1].exists());
    assert!(files[2].exists(), "the fresh export is kept");

    assert_eq!(
        state(&app, old).await,
        (false, false, false, Some("{}".into()))
    );
    let evidence = Some(r#"{"time": "22:14", "weekday": 7}"#.to_string());
    assert_eq!(state(&app, middle).await, (true, false, true, evidence));
    assert_eq!(state(&app, new).await, (true, true, true, None));
    // Not examined yet: its comment goes with its age, its key and start time wait.
    assert_eq!(state(&app, unexamined).await, (false, true, true, None));
    assert_eq!(app.count("SELECT count(*) FROM sign_in_failures").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM visit_limits").await, 1);
    let dossiers: Vec<String> = sql
        .query(
            "SELECT dossier_no FROM visit_codes WHERE dossier_no IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(dossiers, ["000.00.12.H23-260105-0002"]);
    assert_eq!(
        app.count("SELECT count(*) FROM export_jobs WHERE status = 'expired'")
            .await,
        2
    );
    // Flags stay: only their evidence went.
    assert_eq!(app.count("SELECT count(*) FROM response_flags").await, 2);

    // One audit entry: who, the rules, the counts; never the content.
    let entries = sql
        .query(
            "SELECT account_id, entity, after::text FROM audit_log WHERE action = 'privacy.purge'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let (account, entity, after): (Option<i32>, String, String) =
        (entries[0].get(0), entries[0].get(1), entries[0].get(2));
    assert_eq!((account, entity.as_str()), (None, "privacy"));
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(after["by"], "daily task");
    assert_eq!(after["counts"]["comments"], 2);
    assert_eq!(after["counts"]["exports"], 2);
    assert_eq!(after["rules"]["comments_days"], 730);
    for secret in ["Góp ý", "H23-260105", "an.nguyen", "22:14"] {
        assert!(!after.to_string().contains(secret), "{secret} in {after}");
    }

    // Not due again within a day; busy while another instance holds the lock.
    let again = sipas::background::purge_when_due(
        &app.pool,
        &rules,
        &exports_dir,
        sipas::background::RETENTION_MIN_INTERVAL,
    )
    .await
    .unwrap();
    assert_eq!(again, Due::NotDue);
    let other = app.sql().await;
    other
        .execute("SELECT pg_advisory_lock($1)", &[&retention::RETENTION_LOCK])
        .await
        .unwrap();
    let mut conn = app.pool.get().await.unwrap();
    let busy = sipas::app::retention::purge_if_due(&mut conn, &rules, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(busy, Due::Busy);
    other
        .execute(
            "SELECT pg_advisory_unlock($1)",
            &[&retention::RETENTION_LOCK],
        )
        .await
        .unwrap();

    // Once examined, the fourth response's key and start time go too; nothing else is left.
    sql.execute(
        "SELECT pg_advisory_unlock($1)",
        &[&sipas::db::rollup::ROLLUP_LOCK],
    )
    .await
    .unwrap();
    drop(conn);
    app.settle_rollups().await;
    // The fold flags it (and may flag its neighbours): that evidence is old too.
    let evidence = app
        .count(
            "SELECT count(*) FROM response_flags f JOIN responses r ON r.id = f.response_id \
             WHERE f.detail <> '{}' AND r.submitted_at < now() - interval '400 days'",
        )
        .await;
    let mut conn = app.pool.get().await.unwrap();
    let last = sipas::app::retention::purge(&mut conn, &rules, false, PurgedBy::CommandLine)
        .await
        .unwrap();
    assert_eq!(
        last.counts,
        retention::Counts {
            client_keys: 1,
            start_times: 1,
            flag_details: evidence,
            ..Default::default()
        }
    );
    let (comment, key, started, _) = state(&app, unexamined).await;
    assert_eq!((comment, key, started), (false, false, false));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'privacy.purge'")
            .await,
        2
    );
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// The `sipas purge` lines, spaces squeezed.
fn line(out: &str, what: &str) -> String {
    out.lines()
        .find(|l| l.starts_with(what))
        .unwrap_or_else(|| panic!("no line {what} in {out}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

const SETTINGS: &[(&str, &str)] = &[
    ("SIPAS_CLIENT_KEYS_KEEP_DAYS", "7"),
    ("SIPAS_LIMITS_KEEP_DAYS", "1"),
];

async fn run_sipas(url: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = sipas_binary(url, "purge");
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("sipas ends")
        .unwrap()
}

#[tokio::test]
async fn sipas_purge_prints_what_it_does_and_a_dry_run_changes_nothing() {
    let database = TestDatabase::create().await;
    let sql = common::connect(&database.url).await;
    sql.batch_execute(
        "INSERT INTO sign_in_failures (username, client_key, at) VALUES \
             ('x', '\\x01', now() - interval '10 days'), ('y', '\\x02', now()); \
         INSERT INTO visit_limits (kind, key, tokens, updated_at) VALUES \
             ('address', '\\x01', 1, now() - interval '2 days');",
    )
    .await
    .unwrap();
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'privacy.purge'";

    let dry = run_sipas(&database.url, &["purge", "--dry-run"], SETTINGS).await;
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{dry:?}");
    assert!(out.starts_with("dry run: nothing changed\n"), "{out}");
    assert_eq!(
        line(&out, "sign-in failures"),
        "sign-in failures 1 would be deleted (kept 7 days)"
    );
    assert_eq!(
        line(&out, "limit buckets"),
        "limit buckets 1 would be deleted (kept 1 days)"
    );
    assert_eq!(
        line(&out, "comments"),
        "comments 0 would be deleted (kept 730 days)"
    );
    assert_eq!(
        count(&sql, "SELECT count(*) FROM sign_in_failures").await,
        2
    );
    assert_eq!(count(&sql, "SELECT count(*) FROM visit_limits").await, 1);
    assert_eq!(count(&sql, audited).await, 0);

    let real = run_sipas(&database.url, &["purge"], SETTINGS).await;
    let out = String::from_utf8_lossy(&real.stdout);
    assert!(real.status.success(), "{real:?}");
    assert!(!out.contains("dry run"), "{out}");
    assert_eq!(
        line(&out, "sign-in failures"),
        "sign-in failures 1 deleted (kept 7 days)"
    );
    assert_eq!(
        line(&out, "exported files"),
        "exported files 0 expired (kept 7 days)"
    );
    assert_eq!(
        count(&sql, "SELECT count(*) FROM sign_in_failures").await,
        1
    );
    assert_eq!(count(&sql, "SELECT count(*) FROM visit_limits").await, 0);
    let by: String = sql
        .query_one(
            "SELECT after->>'by' FROM audit_log WHERE action = 'privacy.purge'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(by, "command line");

    // A setting out of its range stops start-up, naming it, before anything is done.
    let bad = run_sipas(
        &database.url,
        &["purge"],
        &[("SIPAS_DOSSIER_KEEP_DAYS", "0")],
    )
    .await;
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        err.contains("SIPAS_DOSSIER_KEEP_DAYS: \"0\" is not a number of days between 1 and 90"),
        "{err}"
    );
    let bad = run_sipas(
        &database.url,
        &["serve", "--bind", "127.0.0.1:0"],
        &[("SIPAS_COMMENTS_KEEP_DAYS", "2 năm")],
    )
    .await;
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        err.contains(
            "SIPAS_COMMENTS_KEEP_DAYS: \"2 năm\" is not a number of days between 30 and 3650"
        ),
        "{err}"
    );
    assert_eq!(count(&sql, audited).await, 1);
}
