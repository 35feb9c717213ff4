//! Two instances of the service on one database, as behind a reverse proxy
//! (docs/deployment.md): they start together on a database that does not exist yet, a staff
//! session opened on one is valid on the other (and ended on both), a form rendered by one is
//! accepted by the other, the statistics rollups are folded by one instance at a time and end
//! up equal to the stored responses.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{
    Instance, TEST_PASSWORD, TempDir, TestDatabase, database_url, full_answers, manifest_dir,
    test_config,
};
use reqwest::cookie::CookieStore;
use sipas::config::Config;
use sipas::db::rollup::{self, Outcome, ROLLUP_LOCK};
use sipas::startup::Services;

/// What every instance behind the proxy shares.
const SHARED_KEY: [u8; 64] = [0x42; 64];

/// The configuration of one instance: the test configuration (no minimum completion time, no
/// limits: tests/survey_limits.rs checks that limits hold across two instances) with the
/// shared key and a spool directory of its own.
fn instance_config(url: &str, spool: &TempDir, key: &[u8]) -> Config {
    let mut config = test_config(url);
    config.session_key = Some(key.to_vec());
    config.spool_dir = Some(spool.path().to_path_buf());
    config
}

/// The attributes of the `<input>` tags of a page, in order.
fn inputs(html: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<input ") {
        rest = &rest[at + 7..];
        let end = rest.find('>').expect("a closed tag");
        let mut attrs = Vec::new();
        let mut tag = &rest[..end];
        while let Some(eq) = tag.find("=\"") {
            let name = tag[..eq]
                .trim()
                .rsplit(' ')
                .next()
                .unwrap_or("")
                .to_string();
            let value_end = tag[eq + 2..].find('"').expect("a closed value") + eq + 2;
            let value = tag[eq + 2..value_end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            attrs.push((name, value));
            tag = &tag[value_end + 1..];
        }
        out.push(attrs);
        rest = &rest[end..];
    }
    out
}

/// The fields a browser sends back unchanged: hidden inputs, and text inputs as the page has
/// them (a honeypot stays empty).
fn page_fields(html: &str) -> Vec<(String, String)> {
    inputs(html)
        .into_iter()
        .filter_map(|attrs| {
            let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let kind = get("type").unwrap_or_else(|| "text".to_string());
            match kind.as_str() {
                "hidden" | "text" => Some((get("name")?, get("value").unwrap_or_default())),
                _ => None,
            }
        })
        .collect()
}

/// A citizen opens the survey on `shown_by` and submits it to `posted_to`. Returns the
/// submission key when the thank-you page came back.
async fn citizen(
    client: &reqwest::Client,
    shown_by: &str,
    posted_to: &str,
    desk: &str,
    score: u8,
    visitor: usize,
) -> Result<String, String> {
    // A visitor of its own, as the proxy reports it.
    let address = format!("100.64.{}.{}", visitor / 250, 1 + visitor % 250);
    let page = client
        .get(format!("{shown_by}/s/{desk}"))
        .header("X-Forwarded-For", &address)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the survey page");
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect();
    let html = page.text().await.unwrap();
    let mut fields = page_fields(&html);
    let key = fields
        .iter()
        .find(|(n, _)| n == "_token")
        .map(|(_, v)| v.clone())
        .expect("the page carries a submission key");
    fields.extend(
        full_answers(&score.to_string())
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
    );
    let mut post = client
        .post(format!("{posted_to}/s/{desk}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Forwarded-For", &address)
        .body(serde_urlencoded::to_string(&fields).unwrap());
    if !cookies.is_empty() {
        post = post.header("Cookie", cookies.join("; "));
    }
    let response = post.send().await.unwrap();
    let status = response.status();
    if status == 200 {
        Ok(key)
    } else {
        Err(format!(
            "{status}: {}",
            response.text().await.unwrap_or_default()
        ))
    }
}

async fn sql(url: &str) -> tokio_postgres::Client {
    common::connect(url).await
}

async fn count(client: &tokio_postgres::Client, query: &str) -> i64 {
    client.query_one(query, &[]).await.unwrap().get(0)
}

/// The rollups against an independent count of the stored responses that count (not excluded
/// by an admin or a fraud signal): per unit, form version, answer position and value, and
/// the number of responses; day and month tables alike. Returns the responses that count.
async fn assert_rollups_equal_responses(db: &tokio_postgres::Client) -> i64 {
    let counted = "FROM responses r WHERE NOT EXISTS \
         (SELECT 1 FROM response_reviews rv WHERE rv.response_id = r.id AND rv.excluded)";
    let responses = count(db, &format!("SELECT count(*) {counted}")).await;
    for table in ["rollup_responses", "rollup_responses_month"] {
        let folded = count(
            db,
            &format!("SELECT coalesce(sum(responses), 0)::int8 FROM {table}"),
        )
        .await;
        assert_eq!(folded, responses, "{table} counts every response once");
    }
    for table in [
        "rollup_answers",
        "rollup_answers_month",
        "rollup_answers_month_total",
    ] {
        let differences = count(
            db,
            &format!(
                "WITH stored AS ( \
                    SELECT r.unit_id, r.form_version_id, u.i::int2 AS answer_index, \
                           u.value, count(*)::int8 AS n \
                    {counted_with_answers} \
                    GROUP BY 1, 2, 3, 4), \
                 folded AS ( \
                    SELECT unit_id, form_version_id, answer_index, value, sum(n)::int8 AS n \
                    FROM {table} GROUP BY 1, 2, 3, 4) \
                 SELECT count(*) FROM ((SELECT * FROM stored EXCEPT SELECT * FROM folded) \
                    UNION ALL (SELECT * FROM folded EXCEPT SELECT * FROM stored)) d",
                counted_with_answers = counted.replace(
                    "FROM responses r",
                    "FROM responses r CROSS JOIN LATERAL unnest(r.answers) \
                     WITH ORDINALITY AS u (value, i)"
                ) + " AND u.value IS NOT NULL",
            ),
        )
        .await;
        assert_eq!(
            differences, 0,
            "{table} holds exactly the answers of the stored responses"
        );
    }
    responses
}

#[tokio::test]
async fn two_instances_share_one_database() {
    // A database that does not exist yet: both instances find it missing, create it (one of
    // them wins), migrate it under the advisory lock and store the forms, at the same moment.
    let name = format!("sipas_test_{}", uuid::Uuid::new_v4().simple());
    let database = TestDatabase {
        url: database_url(&name),
        name,
    };
    let (spool_a, spool_b, spool_c) = (
        TempDir::new("spool-a"),
        TempDir::new("spool-b"),
        TempDir::new("spool-c"),
    );
    let (a, b) = tokio::join!(
        Services::open(instance_config(&database.url, &spool_a, &SHARED_KEY)),
        Services::open(instance_config(&database.url, &spool_b, &SHARED_KEY)),
    );
    let (a, b) = (a.expect("instance A starts"), b.expect("instance B starts"));
    let db = sql(&database.url).await;
    let migrations = std::fs::read_dir(manifest_dir().join("migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("up.sql").exists())
        .count() as i64;
    assert_eq!(
        count(&db, "SELECT count(*) FROM __diesel_schema_migrations").await,
        migrations,
        "every migration applied, each once"
    );
    let versions = db
        .query(
            "SELECT form_id, count(*) FROM form_versions GROUP BY form_id",
            &[],
        )
        .await
        .unwrap();
    assert!(!versions.is_empty());
    for row in &versions {
        assert_eq!(
            row.get::<_, i64>(1),
            1,
            "form {} stored once by two instances",
            row.get::<_, String>(0)
        );
    }
    // The fraud signals would leave these machine-speed test submissions out of the figures
    // (too fast, bursts): relaxed here, so that the rollups have something to count. The
    // comparison below counts what is not excluded, whatever the rules.
    db.batch_execute(
        "UPDATE fraud_rules SET min_seconds_base = 0, min_seconds_per_item = 0, \
         desk_burst_min = 1000, client_burst_min = 1000, identical_run_desk = 1000, \
         identical_run_client = 1000",
    )
    .await
    .unwrap();
    {
        let mut conn = a.database.pool.get().await.unwrap();
        sipas::demo::seed(&mut conn).await.expect("demo data");
        sipas::staff::create_account(
            &mut conn,
            &sipas::staff::AccountRequest {
                username: "phongnoivu",
                display_name: "Phòng Nội vụ",
                role: "admin",
                password: TEST_PASSWORD,
                unit_codes: &[],
            },
        )
        .await
        .unwrap();
    }
    let a = Instance::start(a).await;
    let b = Instance::start(b).await;

    // --- A staff session opened on A is valid on B: the cookie is the session. ---
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let on_a = common::StaffClient {
        client: browser.clone(),
        address: a.address.clone(),
    };
    let on_b = common::StaffClient {
        client: browser.clone(),
        address: b.address.clone(),
    };
    assert_eq!(
        on_a.sign_in("phongnoivu", TEST_PASSWORD).await.status(),
        303
    );
    let signed_in_page = on_b.get("/staff").await;
    assert_eq!(signed_in_page.status(), 200, "B knows A's session");
    assert!(
        signed_in_page
            .text()
            .await
            .unwrap()
            .contains("Phòng Nội vụ")
    );
    // The cookie as the browser holds it (the jar is per host, not per port).
    let cookie = jar
        .cookies(&a.address.parse().unwrap())
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    let with_cookie = |address: &str| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("{address}/staff"))
            .header("Cookie", cookie.clone())
    };
    // An instance with another key does not know it (so the check above can fail).
    let stranger = Instance::start(
        Services::open(instance_config(&database.url, &spool_c, &[0x17; 64]))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        with_cookie(&stranger.address)
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "another key: sent to sign in"
    );
    stranger.stop().await;

    // --- Citizens: a form rendered by one instance is accepted by the other. ---
    let desks: Vec<String> = db
        .query(
            "SELECT c.code FROM desk_codes c JOIN desks d ON d.id = c.desk_id \
             JOIN units u ON u.id = d.unit_id \
             WHERE c.retired_at IS NULL AND u.code IN ('xuan-loc.xuan-bac', 'xuan-loc.xuan-hiep') \
             ORDER BY c.code",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!desks.is_empty());
    let citizens = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let instances = [a.address.as_str(), b.address.as_str()];
    let mut accepted = HashSet::new();
    for i in 0..24 {
        let shown_by = instances[i % 2];
        let posted_to = instances[(i / 2) % 2];
        let key = citizen(
            &citizens,
            shown_by,
            posted_to,
            &desks[i % desks.len()],
            (1 + i % 5) as u8,
            i,
        )
        .await
        .unwrap_or_else(|e| panic!("citizen {i} ({shown_by} → {posted_to}): {e}"));
        accepted.insert(key);
    }
    assert_eq!(accepted.len(), 24);
    let stored: HashSet<String> = db
        .query("SELECT submission_key::text FROM responses", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        stored, accepted,
        "every thank-you page is one stored response"
    );

    // --- Rollups: folded by one session at a time. ---
    // A fold in progress elsewhere (the lock held as a fold holds it): B's refresh stands back.
    let mut holder = sql(&database.url).await;
    let fold_elsewhere = holder.transaction().await.unwrap();
    fold_elsewhere
        .execute("SELECT pg_advisory_xact_lock($1)", &[&ROLLUP_LOCK])
        .await
        .unwrap();
    // One more response, so that there is something to fold while the lock is held (the
    // background refresh of both instances is held back by the lock too).
    accepted.insert(
        citizen(&citizens, instances[0], instances[1], &desks[0], 5, 100)
            .await
            .unwrap(),
    );
    {
        let mut conn = b.pool.get().await.unwrap();
        let report = rollup::refresh(&mut conn).await.unwrap();
        assert_eq!(report.outcome, Outcome::Busy, "{report:?}");
    }
    fold_elsewhere.rollback().await.unwrap();

    // Both instances refresh over and over while citizens keep submitting through both: every
    // response ends up folded exactly once.
    let refreshers: Vec<_> = (0..6)
        .map(|i| {
            let pool = if i % 2 == 0 {
                a.pool.clone()
            } else {
                b.pool.clone()
            };
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for _ in 0..15 {
                    let mut conn = pool.get().await.unwrap();
                    outcomes.push(rollup::refresh(&mut conn).await.unwrap().outcome);
                    drop(conn);
                    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
                }
                outcomes
            })
        })
        .collect();
    for i in 0..16 {
        let key = citizen(
            &citizens,
            instances[i % 2],
            instances[(i + 1) % 2],
            &desks[(i + 1) % desks.len()],
            (1 + (i * 3) % 5) as u8,
            200 + i,
        )
        .await
        .unwrap();
        accepted.insert(key);
    }
    let mut busy = 0;
    for refresher in refreshers {
        for outcome in refresher.await.unwrap() {
            assert!(
                matches!(outcome, Outcome::Done | Outcome::Busy),
                "{outcome:?}"
            );
            busy += usize::from(outcome == Outcome::Busy);
        }
    }
    // Settle: fold whatever came last.
    loop {
        let mut conn = a.pool.get().await.unwrap();
        let report = rollup::refresh(&mut conn).await.unwrap();
        let newest = count(&db, "SELECT coalesce(max(id), 0) FROM responses").await;
        if report.is_done() && report.to_id >= newest {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM responses").await as usize,
        accepted.len()
    );
    let counted = assert_rollups_equal_responses(&db).await;
    assert!(counted > 0, "some responses count in the figures");
    eprintln!(
        "{} responses, {counted} counted in the rollups; {busy} refreshes stood back",
        accepted.len()
    );

    // --- Signing out on B ends the session on A too (the revocation is in the database). ---
    assert_eq!(with_cookie(&a.address).send().await.unwrap().status(), 200);
    assert_eq!(on_b.post("/sign-out", &[]).await.status(), 303);
    assert_eq!(
        with_cookie(&a.address).send().await.unwrap().status(),
        303,
        "the copied cookie is worthless on A after signing out on B"
    );

    // --- The desk lookup of every citizen's page (prepared statements, one unit at a time up
    // the tree) gives what the recursive query gives, also when the form is named two levels
    // up (the district's default moved to the province). ---
    let compare = async || {
        let mut conn = a.pool.get().await.unwrap();
        let codes = db
            .query(
                "SELECT c.code, c.desk_id FROM desk_codes c WHERE c.retired_at IS NULL",
                &[],
            )
            .await
            .unwrap();
        assert!(codes.len() > 10);
        for row in codes {
            let (code, desk_id): (String, i32) = (row.get(0), row.get(1));
            let found = sipas::db::desks::Desk::find_by_code(&mut conn, &code)
                .await
                .unwrap();
            let recursive = sipas::db::desks::Desk::find_context(&mut conn, desk_id)
                .await
                .unwrap();
            assert_eq!(found, recursive, "desk code {code}");
        }
    };
    compare().await;
    db.batch_execute(
        "UPDATE units p SET default_form_id = d.default_form_id FROM units d \
         WHERE d.parent_id = p.id AND d.default_form_id IS NOT NULL; \
         UPDATE units SET default_form_id = NULL WHERE parent_id IS NOT NULL",
    )
    .await
    .unwrap();
    assert!(
        count(
            &db,
            "SELECT count(*) FROM units WHERE default_form_id IS NOT NULL"
        )
        .await
            > 0
    );
    compare().await;

    a.stop().await;
    b.stop().await;
}
