//! The open desk QR and the kiosk (issue 6, "one response per visit"): per-client and
//! per-address limits enforced in PostgreSQL (so across instances), a honeypot, a signed start
//! time and a minimum completion time, the kiosk's return to a fresh form and its own limit,
//! and no raw client address anywhere in the database.

use crate::common;

use std::time::Duration;

use chrono::Utc;
use common::{TestApp, TestDatabase, full_answers, hidden_field, test_config};
use sipas::config::{Config, parse_rate};
use sipas::forms::submission::sign_started;
use uuid::Uuid;

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
/// The installation secret of these tests (shared by both instances, as in production).
const SECRET_HEX: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\
                          7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a";

fn secret() -> Vec<u8> {
    hex::decode(SECRET_HEX).unwrap()
}

/// Test configuration with these limits and minimum time.
fn limited(person: &str, address: &str, kiosk: &str, min_fill: u32) -> impl Fn(&str) -> Config {
    let (person, address, kiosk) = (person.to_string(), address.to_string(), kiosk.to_string());
    move |url: &str| {
        let mut config = test_config(url);
        config.session_key = Some(secret());
        config.visits.person = parse_rate(&person).unwrap();
        config.visits.address = parse_rate(&address).unwrap();
        config.visits.kiosk = parse_rate(&kiosk).unwrap();
        config.visits.min_fill_seconds = min_fill;
        config
    }
}

async fn spawn(config: impl Fn(&str) -> Config) -> TestApp {
    TestApp::spawn_on(TestDatabase::create().await, config).await
}

/// A browser: its own cookie and its own address (as the proxy on loopback reports it).
struct Citizen {
    client: reqwest::Client,
    address: String,
}

impl Citizen {
    fn new(address: &str) -> Self {
        Citizen {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            address: address.to_string(),
        }
    }

    /// The same browser (its cookie) from another address.
    fn at(&self, address: &str) -> Self {
        Citizen {
            client: self.client.clone(),
            address: address.to_string(),
        }
    }

    /// A tablet enrolled by staff as the kiosk of the desk with `desk_code`.
    async fn kiosk(app: &TestApp, name: &str, desk_code: &str, address: &str) -> Self {
        Citizen {
            client: app.kiosk_client(name, desk_code).await,
            address: address.to_string(),
        }
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.client
            .get(url)
            .header("X-Forwarded-For", format!("10.9.9.9, {}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Opens the form at `base{path}` and returns its hidden fields.
    async fn open(&self, base: &str, path: &str) -> Form {
        let page = self.get(&format!("{base}{path}")).await;
        assert_eq!(page.status(), 200, "{path}");
        let html = page.text().await.unwrap();
        Form {
            token: hidden_field(&html, "_token"),
            version: hidden_field(&html, "_v"),
            started: hidden_field(&html, "_t"),
            honeypot: String::new(),
        }
    }

    async fn send(&self, base: &str, path: &str, form: &Form) -> reqwest::Response {
        let answers = full_answers("4");
        let mut fields: Vec<(&str, &str)> = vec![
            ("_token", &form.token),
            ("_v", &form.version),
            ("_t", &form.started),
            ("_hp", &form.honeypot),
        ];
        fields.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
        self.client
            .post(format!("{base}{path}"))
            .header("X-Forwarded-For", &self.address)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&fields).unwrap())
            .send()
            .await
            .unwrap()
    }

    /// Opens and sends a complete form in one go.
    async fn answer(&self, base: &str, path: &str) -> reqwest::Response {
        let form = self.open(base, path).await;
        self.send(base, path, &form).await
    }
}

struct Form {
    token: String,
    version: String,
    started: String,
    honeypot: String,
}

/// A form sent twice (a double tap, a reload of the POST) is one response and takes one
/// submission from the limits: the second sending's INSERT finds the key, and the limits its
/// statement took in the same round trip are rolled back with it.
#[tokio::test]
async fn a_double_tap_counts_once_against_the_limits() {
    let app = spawn(limited("2/60m", "off", "off", 0)).await;
    let code = app.desk_code(XUAN_BAC).await;
    let path = format!("/s/{code}");
    let base = app.address.as_str();
    let phone = Citizen::new("203.0.113.9");
    let form = phone.open(base, &path).await;
    for _ in 0..3 {
        assert_eq!(phone.send(base, &path, &form).await.status(), 200);
    }
    assert_eq!(app.response_count().await, 1);
    // The second of the two the limit allows.
    assert_eq!(phone.answer(base, &path).await.status(), 200);
    assert_eq!(phone.answer(base, &path).await.status(), 429);
    assert_eq!(app.response_count().await, 2);
}

#[tokio::test]
async fn the_open_qr_limits_hold_across_two_instances_and_keep_the_answers() {
    let app = spawn(limited("3/60m", "5/60m", "off", 0)).await;
    let second = app.spawn_instance().await;
    let code = app.desk_code(XUAN_BAC).await;
    let path = format!("/s/{code}");
    let (a, b) = (app.address.as_str(), second.address.as_str());

    let phone = Citizen::new("203.0.113.7");
    // The visitor cookie: HttpOnly, SameSite=Lax, long-lived.
    let first = phone.get(&format!("{a}{path}")).await;
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("sipas_visitor="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Max-Age="),
        "{cookie}"
    );

    // Three from one phone, alternating instances: accepted; the fourth (on either): 429.
    for base in [a, b, a] {
        assert_eq!(phone.answer(base, &path).await.status(), 200);
    }
    let form = phone.open(b, &path).await;
    let refused = phone.send(b, &path, &form).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let html = refused.text().await.unwrap();
    assert!(html.contains("nhiều phiếu trong thời gian ngắn"), "{html}");
    assert!(
        html.contains("name=\"TC1\" value=\"4\" required checked"),
        "the answers are kept"
    );
    assert!(
        html.contains(&form.token),
        "the same form, sent again later, is one response"
    );
    assert_eq!(phone.answer(a, &path).await.status(), 429);
    assert_eq!(app.response_count().await, 3);

    // Another phone behind the same address: its own limit, until the address's (5) is used.
    let neighbour = Citizen::new("203.0.113.7");
    assert_eq!(neighbour.answer(b, &path).await.status(), 200);
    assert_eq!(neighbour.answer(a, &path).await.status(), 200);
    let third = Citizen::new("203.0.113.7");
    assert_eq!(third.answer(b, &path).await.status(), 429);
    // Another address: unaffected.
    assert_eq!(
        Citizen::new("198.51.100.4").answer(a, &path).await.status(),
        200
    );
    assert_eq!(app.response_count().await, 6);

    // Every online response carries its client key (32 bytes) and its start.
    let complete: i64 = app
        .count(
            "SELECT count(*) FROM responses WHERE length(client_key) = 32 AND started_at IS NOT NULL \
             AND started_at <= submitted_at AND via = 'desk' AND channel = 'qr'",
        )
        .await;
    assert_eq!(complete, 6);
    let phones: i64 = app
        .count("SELECT count(DISTINCT client_key) FROM responses")
        .await;
    assert_eq!(phones, 3);
}

#[tokio::test]
async fn robots_are_refused_and_nothing_is_stored() {
    let app = spawn(limited("off", "off", "off", 5)).await;
    let code = app.desk_code(XUAN_BAC).await;
    let path = format!("/s/{code}");
    let base = app.address.as_str();
    let robot = Citizen::new("192.0.2.66");
    let page = robot
        .get(&format!("{base}{path}"))
        .await
        .text()
        .await
        .unwrap();
    // The honeypot: there, labelled for screen readers, out of the keyboard's way.
    assert!(page.contains("Không điền vào ô này (để trống)"));
    assert!(page.contains("name=\"_hp\" value=\"\" tabindex=\"-1\" autocomplete=\"off\""));

    let backdated = |form: &Form, seconds: i64| {
        sign_started(
            &secret(),
            Uuid::parse_str(&form.token).unwrap(),
            Utc::now() - chrono::Duration::seconds(seconds),
        )
    };

    // Honeypot filled in.
    let mut form = robot.open(base, &path).await;
    form.started = backdated(&form, 60);
    form.honeypot = "http://spam.example".into();
    let refused = robot.send(base, &path, &form).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Không điền vào ô này")
    );

    // Start time missing, edited, from another form, in the future.
    let mut form = robot.open(base, &path).await;
    let genuine = backdated(&form, 60);
    let other = robot.open(base, &path).await;
    let (millis, tag) = genuine.split_once('.').unwrap();
    let edited = format!("{}.{tag}", millis.parse::<i64>().unwrap() - 600_000);
    let future = sign_started(
        &secret(),
        Uuid::parse_str(&form.token).unwrap(),
        Utc::now() + chrono::Duration::minutes(10),
    );
    for started in [
        String::new(),
        edited,
        backdated(&other, 60),
        future,
        "garbage".into(),
    ] {
        form.started = started.clone();
        let refused = robot.send(base, &path, &form).await;
        assert_eq!(refused.status(), 422, "{started}");
        let html = refused.text().await.unwrap();
        assert!(html.contains("quá hạn hoặc không hợp lệ"), "{started}");
        assert!(
            html.contains("name=\"TC1\" value=\"4\" required checked"),
            "answers kept"
        );
    }

    // Too fast (under 5 s): asked to check and send again, the answers kept; later it goes.
    let form = robot.open(base, &path).await;
    let fast = robot.send(base, &path, &form).await;
    assert_eq!(fast.status(), 422);
    let html = fast.text().await.unwrap();
    assert!(html.contains("nhanh hơn thời gian cần để đọc"), "{html}");
    assert_eq!(hidden_field(&html, "_t"), form.started, "the start is kept");
    assert_eq!(app.response_count().await, 0);
    let mut patient = form;
    patient.started = backdated(&patient, 30);
    assert_eq!(robot.send(base, &path, &patient).await.status(), 200);
    assert_eq!(app.response_count().await, 1);
}

#[tokio::test]
async fn the_kiosk_comes_back_to_a_fresh_form_and_is_limited_per_kiosk() {
    let app = spawn(limited("1/60m", "1/60m", "3/60s", 0)).await;
    let code = app.desk_code(XUAN_BAC).await;
    let path = format!("/k/{code}");
    let base = app.address.as_str();
    // Several people at one tablet (one address, one cookie): the kiosk limit, not the
    // person's, applies.
    let tablet = Citizen::kiosk(&app, "may.xuan.bac", &code, "203.0.113.50").await;
    let form = tablet.open(base, &path).await;
    let thanks = tablet.send(base, &path, &form).await;
    assert_eq!(thanks.status(), 200);
    let html = thanks.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "<meta http-equiv=\"refresh\" content=\"8;url=/k/{code}\">"
        )),
        "{html}"
    );
    assert!(html.contains("Cảm ơn Anh/Chị") && !html.contains("<script"));
    assert_eq!(tablet.answer(base, &path).await.status(), 200);
    assert_eq!(tablet.answer(base, &path).await.status(), 200);
    let over = tablet.answer(base, &path).await;
    assert_eq!(over.status(), 429);
    assert!(over.text().await.unwrap().contains("Máy đánh giá tại quầy"));
    // Another kiosk has its own: at another desk, and a second tablet at this one.
    let other = app.desk_code(XUAN_DINH).await;
    let other_tablet = Citizen::kiosk(&app, "may.xuan.dinh", &other, "203.0.113.50").await;
    assert_eq!(
        other_tablet
            .answer(base, &format!("/k/{other}"))
            .await
            .status(),
        200
    );
    let second = Citizen::kiosk(&app, "may.2.xuan.bac", &code, "203.0.113.50").await;
    assert_eq!(second.answer(base, &path).await.status(), 200);
    let marked: i64 = app
        .count("SELECT count(*) FROM responses WHERE channel = 'kiosk' AND via = 'kiosk' AND length(client_key) = 32")
        .await;
    assert_eq!(marked, 5);
    // One per 20 s sustained: after the wait, one more.
    tokio::time::sleep(Duration::from_secs(21)).await;
    assert_eq!(tablet.answer(base, &path).await.status(), 200);
    assert_eq!(tablet.answer(base, &path).await.status(), 429);
}

#[tokio::test]
async fn the_raw_client_address_is_never_stored() {
    let app = spawn(limited("5/60m", "5/60m", "5/60s", 0)).await;
    let code = app.desk_code(XUAN_BAC).await;
    let base = app.address.as_str();
    let citizen = Citizen::new("198.51.100.173");
    assert_eq!(
        citizen.answer(base, &format!("/s/{code}")).await.status(),
        200
    );
    let tablet = Citizen::kiosk(&app, "may.xuan.bac", &code, "198.51.100.173").await;
    assert_eq!(
        tablet.answer(base, &format!("/k/{code}")).await.status(),
        200
    );
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    let desk = app.desk_id(&code).await;
    let minted = admin
        .post(
            "/staff/codes",
            &[
                ("desk", &desk.to_string()),
                ("count", "1"),
                ("dossiers", ""),
            ],
        )
        .await;
    assert_eq!(minted.status(), 303);
    let one: String = app
        .sql()
        .await
        .query_one("SELECT code FROM visit_codes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        citizen.answer(base, &format!("/v/{one}")).await.status(),
        200
    );
    assert_eq!(app.response_count().await, 3);
    // Every text-like and binary column of every table, searched for the address as text and
    // as its four bytes.
    let sql = app.sql().await;
    let columns = sql
        .query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'bytea', 'jsonb', 'json', 'ARRAY', 'inet', 'cidr') \
             AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE')",
            &[],
        )
        .await
        .unwrap();
    assert!(columns.len() > 20, "the search sees the columns");
    let holding = async || {
        let mut hits = Vec::new();
        for row in &columns {
            let (table, column, kind): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            let condition = if kind == "bytea" {
                format!(
                    "position('\\xc63364ad'::bytea IN \"{column}\") > 0 \
                     OR position(convert_to('198.51.100.173', 'UTF8') IN \"{column}\") > 0"
                )
            } else {
                format!("\"{column}\"::text LIKE '%198.51.100.173%'")
            };
            let found: i64 = sql
                .query_one(
                    &format!("SELECT count(*) FROM \"{table}\" WHERE {condition}"),
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if found > 0 {
                hits.push(format!("{table}.{column}"));
            }
        }
        hits.sort();
        hits
    };
    assert_eq!(
        holding().await,
        Vec::<String>::new(),
        "columns holding the raw address"
    );
    // The search does find the address, as text and as bytes, where it is planted.
    sql.execute(
        "INSERT INTO sign_in_failures (username, client_key) VALUES ('x198.51.100.173x', '\\x00c63364ad00'::bytea)",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        holding().await,
        ["sign_in_failures.client_key", "sign_in_failures.username"]
    );
    // The keys are there, and different from any hash of the bare address without the secret.
    let keys: i64 = app
        .count("SELECT count(*) FROM responses WHERE client_key IS NOT NULL")
        .await;
    assert_eq!(keys, 3);
}

/// Issue 14, item 2: an IPv6 subscriber holds a whole /64, so its addresses are one client for
/// both limits; an IPv4-mapped IPv6 address is the IPv4 address it maps.
#[tokio::test]
async fn ipv6_clients_are_limited_by_their_slash_64_and_mapped_addresses_as_ipv4() {
    let app = spawn(limited("2/60m", "3/60m", "off", 0)).await;
    let code = app.desk_code(XUAN_BAC).await;
    let path = format!("/s/{code}");
    let base = app.address.as_str();
    // One browser wandering over its /64: the per-person limit (address + cookie) holds.
    let phone = Citizen::new("2001:db8:5:6::1");
    let mut statuses = Vec::new();
    for host in 1..=4u16 {
        let moved = phone.at(&format!("2001:db8:5:6:{host:x}::{host:x}"));
        statuses.push(moved.answer(base, &path).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
    // 64 addresses of another /64, each its own browser: the per-address limit holds.
    let mut statuses = Vec::new();
    for host in 1..=64u16 {
        let phone = Citizen::new(&format!("2001:db8:5:7:{host:x}:0:{host:x}:1"));
        statuses.push(phone.answer(base, &path).await.status().as_u16());
    }
    assert_eq!(statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    // The next /64 is another subscriber.
    let next = Citizen::new("2001:db8:5:8::1");
    assert_eq!(next.answer(base, &path).await.status(), 200);
    // A plain IPv4 address and its mapped form: one client.
    for _ in 0..3 {
        let phone = Citizen::new("10.3.1.1");
        assert_eq!(phone.answer(base, &path).await.status(), 200);
    }
    let mapped = Citizen::new("::ffff:10.3.1.1");
    assert_eq!(mapped.answer(base, &path).await.status(), 429);
    assert_eq!(app.response_count().await, 2 + 3 + 1 + 3);
}
