//! Test harness: a real PostgreSQL (a fresh database per test, cloned from a migrated template)
//! and the real HTTP server on port 0.
//!
//! `SIPAS_TEST_DATABASE_URL` names an administrative connection (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) from which databases are created.

#![allow(dead_code)]

pub mod browser;

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use sipas::config::Config;
use sipas::db::Pool;
use sipas::forms::FormRegistry;
use sipas::startup::{Application, Services};
use tokio::sync::OnceCell;

pub fn admin_url() -> String {
    std::env::var("SIPAS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// The URL of database `name` on the admin server.
pub fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("SIPAS_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

pub async fn admin_client() -> tokio_postgres::Client {
    connect(&admin_url()).await
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let config = tokio_postgres::Config::from_str(url).expect("a database URL");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e} (is PostgreSQL running?)"));
    tokio::spawn(connection);
    client
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The name of the migrated template database, creating it once (across test processes too:
/// creation runs under an advisory lock and is published by an atomic rename).
pub async fn template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("sipas_template_{}", sipas::db::MIGRATIONS_FINGERPRINT);
            let admin = admin_client().await;
            admin
                .execute("SELECT pg_advisory_lock(727274)", &[])
                .await
                .unwrap();
            let exists = admin
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
                .await
                .unwrap()
                .is_some();
            if !exists {
                let building = format!("{name}_building");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {building}"))
                    .await
                    .unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE {building}"))
                    .await
                    .unwrap();
                sipas::db::run_migrations(&database_url(&building))
                    .await
                    .expect("migrating the template");
                admin
                    .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .await
                    .unwrap();
            }
            admin
                .execute("SELECT pg_advisory_unlock(727274)", &[])
                .await
                .unwrap();
            name
        })
        .await
        .clone()
}

/// A fresh database cloned from the template; dropped when the guard is dropped.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let template = template().await;
        let name = format!("sipas_test_{}", uuid::Uuid::new_v4().simple());
        admin_client()
            .await
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .unwrap();
        TestDatabase {
            url: database_url(&name),
            name,
        }
    }

    /// An empty database (not migrated), for the migration tests.
    pub async fn create_empty() -> Self {
        let name = format!("sipas_test_{}", uuid::Uuid::new_v4().simple());
        admin_client()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        TestDatabase {
            url: database_url(&name),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop on a plain thread with its own runtime: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let admin = admin_client().await;
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}

/// A response spool directory of its own for the server on `database_url`.
pub fn spool_dir_for(database_url: &str) -> PathBuf {
    let name = url::Url::parse(database_url)
        .ok()
        .and_then(|u| u.path_segments()?.next_back().map(str::to_string))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("spool")
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()))
}

/// The configuration a test server runs with.
pub fn test_config(database_url: &str) -> Config {
    let vars: HashMap<&str, String> = [
        ("DATABASE_URL", database_url.to_string()),
        ("SIPAS_BIND", "127.0.0.1:0".to_string()),
        (
            "SIPAS_PUBLIC_URL",
            "https://hailong.example.gov.vn".to_string(),
        ),
        ("SIPAS_DB_POOL_SIZE", "4".to_string()),
        // Exported files under target/, never in the working folder.
        (
            "SIPAS_DATA_DIR",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join("data")
                .display()
                .to_string(),
        ),
        // The test client speaks plain HTTP: a Secure cookie would never come back.
        ("SIPAS_COOKIE_SECURE", "false".to_string()),
        // One response per visit: most tests post many forms at once from one address, at
        // machine speed; tests/visit_codes.rs and tests/survey_limits.rs set their own.
        ("SIPAS_MIN_FILL_SECONDS", "0".to_string()),
        ("SIPAS_LIMIT_PERSON", "off".to_string()),
        ("SIPAS_LIMIT_ADDRESS", "off".to_string()),
        ("SIPAS_LIMIT_KIOSK", "off".to_string()),
        // Each test server its own response spool (never replayed into another test's database).
        (
            "SIPAS_SPOOL_DIR",
            spool_dir_for(database_url).display().to_string(),
        ),
    ]
    .into();
    Config::from_lookup(|k| vars.get(k).cloned()).expect("a valid test configuration")
}

/// The real server on a free port, on its own database, with the demo district.
pub struct TestApp {
    pub address: String,
    pub config: Config,
    pub pool: Pool,
    pub forms: FormRegistry,
    pub client: reqwest::Client,
    /// The server's desk directory (`sipas::desk_directory`).
    pub desks: std::sync::Arc<sipas::desk_directory::DeskDirectory>,
    handle: ServerHandle,
    // Declared last: dropped after the server stopped.
    pub database: TestDatabase,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let database = TestDatabase::create().await;
        Self::spawn_on(database, test_config).await
    }

    /// Spawns on `database` with a configuration made by `config` from its URL.
    pub async fn spawn_on(database: TestDatabase, config: impl Fn(&str) -> Config) -> Self {
        let config = config(&database.url);
        let services = Services::open(config.clone())
            .await
            .expect("the service starts");
        {
            let mut conn = services.database.pool.get().await.unwrap();
            sipas::demo::seed(&mut conn).await.expect("demo data");
        }
        let forms = services.forms.clone();
        let app = Application::build(services)
            .await
            .expect("the server binds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let pool = app.state().pool.clone();
        let desks = app.state().desks.clone();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        // Tests run with the desk directory trusted, as a server does once it has started.
        wait_until(Duration::from_secs(10), || desks.is_listening())
            .await
            .expect("the desk listener connects");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            address,
            config,
            pool,
            forms,
            client,
            desks,
            handle,
            database,
        }
    }

    /// Waits until the server has heard of a desk change committed after its directory was in
    /// generation `since`: a test that changes desks behind the server's back (SQL, a domain
    /// function) waits for the notification as a server does.
    pub async fn await_desk_change(&self, since: u64) {
        wait_until(Duration::from_secs(10), || self.desks.generation() > since)
            .await
            .expect("the server hears of the desk change");
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// A SQL client on this test's database.
    pub async fn sql(&self) -> tokio_postgres::Client {
        connect(&self.database.url).await
    }

    /// The active public code of the first desk of the unit with `unit_code`.
    pub async fn desk_code(&self, unit_code: &str) -> String {
        self.desk_code_named(unit_code, None).await
    }

    /// The active public code of the unit's desk named `desk_name` (or its first desk).
    pub async fn desk_code_named(&self, unit_code: &str, desk_name: Option<&str>) -> String {
        let row = self
            .sql()
            .await
            .query_one(
                "SELECT c.code FROM desk_codes c JOIN desks d ON d.id = c.desk_id \
                 JOIN units u ON u.id = d.unit_id \
                 WHERE u.code = $1 AND c.retired_at IS NULL AND ($2::text IS NULL OR d.name = $2) \
                 ORDER BY d.id LIMIT 1",
                &[&unit_code, &desk_name],
            )
            .await
            .unwrap_or_else(|e| panic!("no desk for unit {unit_code}: {e}"));
        row.get(0)
    }

    /// The desk whose public code (active or retired) is `code`.
    /// The id of the unit with `code`.
    pub async fn unit_id(&self, code: &str) -> i32 {
        self.sql()
            .await
            .query_one("SELECT id FROM units WHERE code = $1", &[&code])
            .await
            .unwrap_or_else(|e| panic!("no unit {code}: {e}"))
            .get(0)
    }

    pub async fn desk_id(&self, code: &str) -> i32 {
        self.sql()
            .await
            .query_one("SELECT desk_id FROM desk_codes WHERE code = $1", &[&code])
            .await
            .unwrap_or_else(|e| panic!("no desk with code {code}: {e}"))
            .get(0)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Posts an urlencoded body.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.post_raw(path, body, "application/x-www-form-urlencoded")
            .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Opens the survey of a desk and returns the page and its hidden fields (token, version).
    pub async fn open_survey(&self, code: &str) -> (String, String, String) {
        let response = self.get(&format!("/s/{code}")).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        let token = hidden_field(&html, "_token");
        let version = hidden_field(&html, "_v");
        (html, token, version)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.sql().await.query_one(sql, &[]).await.unwrap().get(0)
    }

    pub async fn response_count(&self) -> i64 {
        self.count("SELECT count(*) FROM responses").await
    }
}

/// The value of a hidden input in a rendered form.
/// Where a redirect sends the client.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no redirect ({})", response.status()))
        .to_str()
        .unwrap()
        .to_string()
}

pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// A complete valid answer set for the QĐ 1001 form: every criterion answered with `score`,
/// the three feedback items "not applicable".
pub fn full_answers(score: &str) -> Vec<(&'static str, String)> {
    let criteria = [
        "TC1", "TC2", "TC3", "TC4", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3", "CC4", "CC5",
        "KQ1", "KQ2", "KQ3",
    ];
    let mut fields: Vec<(&'static str, String)> =
        criteria.iter().map(|c| (*c, score.to_string())).collect();
    for c in ["PA1", "PA2", "PA3"] {
        fields.push((c, "na".to_string()));
    }
    fields
}

/// `fields` plus the hidden token and version.
pub fn with_hidden<'a>(
    token: &'a str,
    version: &'a str,
    fields: &'a [(&'static str, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("_token", token), ("_v", version)];
    all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    all
}

impl TestApp {
    /// A citizen opens the survey of desk `code` and sends `fields` with the form's hidden
    /// fields. Returns the submission key and the answer.
    pub async fn send_survey(
        &self,
        code: &str,
        fields: &[(&'static str, String)],
    ) -> (String, reqwest::Response) {
        let (_, token, version) = self.open_survey(code).await;
        let response = self
            .post_form(
                &format!("/s/{code}"),
                &with_hidden(&token, &version, fields),
            )
            .await;
        (token, response)
    }

    /// [`TestApp::send_survey`], which must be stored: panics unless the thank-you page comes
    /// back. Returns the submission key.
    pub async fn send_survey_stored(
        &self,
        code: &str,
        fields: &[(&'static str, String)],
    ) -> String {
        let (token, response) = self.send_survey(code, fields).await;
        let status = response.status();
        let html = response.text().await.unwrap();
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("Cảm ơn"), "{html}");
        token
    }
}

/// The password every test account gets.
pub const TEST_PASSWORD: &str = "mật khẩu thử nghiệm 1";

impl TestApp {
    /// Creates an account through the same domain function as `sipas user add`.
    pub async fn create_account(&self, username: &str, role: &str, unit_codes: &[&str]) {
        let mut conn = self.pool.get().await.unwrap();
        let units: Vec<String> = unit_codes.iter().map(|c| c.to_string()).collect();
        sipas::staff::create_account(
            &mut conn,
            &sipas::staff::AccountRequest {
                username,
                display_name: username,
                role,
                password: TEST_PASSWORD,
                unit_codes: &units,
            },
        )
        .await
        .expect("creating a test account");
    }

    /// A browser-like client (cookies, no redirects followed) signed in as `username`.
    pub async fn staff(&self, username: &str) -> StaffClient {
        let client = StaffClient::new(&self.address);
        let response = client.sign_in(username, TEST_PASSWORD).await;
        assert_eq!(response.status(), 303, "signing in as {username}");
        client
    }

    /// A browser enrolled as the kiosk of the desk with the public code `desk_code`, as staff
    /// do it on the tablet: a new account of the desk's unit (`username`) signs in, enrols the
    /// device through the desk page (label: the username) and is signed out. The client keeps
    /// the kiosk's cookie (and no staff session).
    pub async fn kiosk_client(&self, username: &str, desk_code: &str) -> reqwest::Client {
        let row = self
            .sql()
            .await
            .query_one(
                "SELECT d.id, u.code FROM desk_codes c JOIN desks d ON d.id = c.desk_id \
                 JOIN units u ON u.id = d.unit_id WHERE c.code = $1",
                &[&desk_code],
            )
            .await
            .unwrap();
        let (desk_id, unit_code): (i32, String) = (row.get(0), row.get(1));
        let staff = self.staff_with_role(username, "unit", &[&unit_code]).await;
        let enrolled = staff
            .post(
                &format!("/staff/desks/{desk_id}/kiosks"),
                &[("label", username)],
            )
            .await;
        assert_eq!(enrolled.status(), 303, "enrolling a kiosk");
        assert_eq!(
            enrolled.headers()["location"].to_str().unwrap(),
            format!("/k/{desk_code}")
        );
        staff.client
    }

    /// Creates an account with `role` and returns a client signed in as it.
    pub async fn staff_with_role(&self, username: &str, role: &str, units: &[&str]) -> StaffClient {
        self.create_account(username, role, units).await;
        self.staff(username).await
    }
}

/// An HTTP client with a cookie jar, as a staff member's browser.
pub struct StaffClient {
    pub client: reqwest::Client,
    pub address: String,
}

impl StaffClient {
    pub fn new(address: &str) -> Self {
        StaffClient {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            address: address.to_string(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token of the session (from the sign-in page or any staff page).
    pub async fn csrf(&self) -> String {
        let page = self.get("/sign-in").await.text().await.unwrap();
        hidden_field(&page, "_csrf")
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        let csrf = self.csrf().await;
        self.post_raw(
            "/sign-in",
            &[
                ("_csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts a form exactly as given (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap())
            .send()
            .await
            .unwrap()
    }
}

impl TestApp {
    /// `spec` exported as `format` into `dir`, named as `sipas export` names it (what the
    /// command line and the web's export jobs call): the file's path.
    pub async fn export(
        &self,
        spec: &sipas::export::ExportSpec,
        format: sipas::export::ExportFormat,
        dir: &TempDir,
    ) -> PathBuf {
        let path = dir.path().join(sipas::export::file_name(spec, format));
        let mut conn = self.pool.get().await.unwrap();
        sipas::export::write(&mut conn, &self.forms, spec, format, &path, &|_, _| {})
            .await
            .unwrap();
        path
    }

    /// Waits until the statistics rollups hold every stored response. (The server's background
    /// task folds new responses every few seconds; a request arriving while it folds reads the
    /// rollups as they were, by design.)
    pub async fn settle_rollups(&self) {
        let mut conn = self.pool.get().await.unwrap();
        let started = std::time::Instant::now();
        loop {
            let report = sipas::db::rollup::refresh(&mut conn).await.unwrap();
            let newest = self
                .count("SELECT coalesce(max(id), 0) FROM responses")
                .await;
            if report.is_done() && report.to_id >= newest {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "the rollups did not catch up: {report:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// A fresh directory under /tmp (mode 0755, so the postgres account can traverse it), removed
/// on drop (after any server in it has been dropped, provided it is declared first).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = PathBuf::from(format!(
            "/tmp/sipas-test-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Another instance of the service on a database it does not own (a second app server behind
/// the same proxy). Stopped on drop.
pub struct Instance {
    pub address: String,
    pub pool: Pool,
    pub client: reqwest::Client,
    /// The server's desk directory (`sipas::desk_directory`).
    pub desks: std::sync::Arc<sipas::desk_directory::DeskDirectory>,
    handle: ServerHandle,
}

impl Instance {
    /// Starts the server of already opened services on a free port.
    pub async fn start(services: Services) -> Self {
        let app = Application::build(services)
            .await
            .expect("the server binds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let pool = app.state().pool.clone();
        let desks = app.state().desks.clone();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        // Tests run with the desk directory trusted, as a server does once it has started.
        wait_until(Duration::from_secs(10), || desks.is_listening())
            .await
            .expect("the desk listener connects");
        Instance {
            address,
            pool,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            desks,
            handle,
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Stop accepting at once; the pool closes when the server task ends.
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    /// A second server on this test's database with the same configuration (so the same
    /// `SIPAS_SESSION_KEY` when the configuration sets one), as a second instance behind the
    /// proxy. Its start-up migrates and syncs the forms like any instance's.
    pub async fn spawn_instance(&self) -> Instance {
        // Each instance a spool directory of its own (a shared one is refused at start-up).
        let mut config = self.config.clone();
        config.spool_dir = Some(spool_dir_for(&self.database.url));
        let services = Services::open(config)
            .await
            .expect("the second instance starts");
        Instance::start(services).await
    }
}

/// The real binary on `database_url`, configured by nothing else from the environment (its
/// embedded forms, logs at `warn`, and a data directory that does not exist, named
/// after `label`, so that a misconfigured run never starts a private PostgreSQL in the working
/// directory).
pub fn sipas_binary(database_url: &str, label: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sipas"));
    for name in [
        "SIPAS_BIND",
        "SIPAS_DEFAULT_FORM",
        "SIPAS_DB_POOL_SIZE",
        "SIPAS_FORMS_DIR",
    ] {
        cmd.env_remove(name);
    }
    cmd.env("DATABASE_URL", database_url)
        .env(
            "SIPAS_DATA_DIR",
            format!("/nonexistent/sipas-{label}-test-data"),
        )
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Cuts the test database `name` off (`allow` false: its sessions are terminated, new ones
/// refused), or lets it answer again: an outage of one database on the shared server.
pub async fn cut_off(name: &str, allow: bool) {
    let admin = admin_client().await;
    let mut sql = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}");
    if !allow {
        sql.push_str(&format!(
            "; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ));
    }
    admin.batch_execute(&sql).await.unwrap();
}

/// A citizen answers the survey of desk `code` on `app` (every item 4, the open answer
/// `{comment} {key}`) and sends it. Returns the submission key and the answer.
pub async fn submit(app: &TestApp, code: &str, comment: &str) -> (String, reqwest::Response) {
    let (_, token, version) = app.open_survey(code).await;
    let mut fields = full_answers("4");
    fields.push(("YK", format!("{comment} {token}")));
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    (token, response)
}

/// Waits until no server of this process holds the spool directory `dir` any more (a stopped
/// server lets go of it when its last task ends), as a restarted instance needs.
pub async fn wait_for_spool_release(dir: &std::path::Path) {
    let lock = dir.join(sipas::spool::LOCK_FILE);
    let free = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&lock)
            .is_ok_and(|file| file.try_lock().is_ok())
    };
    wait_until(Duration::from_secs(15), free)
        .await
        .expect("the stopped server lets go of its spool directory");
}

/// Polls `ready` every 10 ms until it holds (`Ok`) or `limit` has passed (`Err`).
pub async fn wait_until(limit: Duration, ready: impl Fn() -> bool) -> Result<(), ()> {
    let until = std::time::Instant::now() + limit;
    while !ready() {
        if std::time::Instant::now() > until {
            return Err(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// The text of an HTML fragment: tags removed, entities of maud's escaping decoded, spaces
/// collapsed.
pub fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
