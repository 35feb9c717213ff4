//! What `sipas doctor` asks the database server, changing nothing: whether it answers, its
//! version, clock and time zone, the database's identity, and which migrations are applied or
//! pending (never applied here).

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use diesel::migration::MigrationSource;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;

use crate::{DatabaseIdentity, MIGRATIONS, redact};

/// What the server says about itself and the database.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerFacts {
    /// `server_version`, e.g. "15.14 (Debian 15.14-0+deb12u1)".
    pub version: String,
    /// The server's clock, in seconds since the epoch (to compare with this machine's).
    pub now_epoch: f64,
    /// The session's `TimeZone` setting.
    pub time_zone: String,
    /// The offset from UTC, in seconds, the server's time-zone data gives Asia/Ho_Chi_Minh now
    /// (the queries compute days `AT TIME ZONE 'Asia/Ho_Chi_Minh'`); `None`: unknown to it.
    pub vietnam_offset_seconds: Option<i64>,
    pub identity: DatabaseIdentity,
}

/// The outcome of [`probe`].
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// The database answers.
    Answers(ServerFacts),
    /// The server answers, but the database does not exist yet (`sipas migrate` creates it
    /// when the account may). `version`: the server's, when its `postgres` database told it.
    MissingDatabase {
        name: String,
        version: Option<String>,
    },
    /// No answer within the timeout, or an error (refused, authentication, ...).
    Unreachable(String),
}

/// Connects to `url` (within `timeout`) and reads [`ServerFacts`].
pub async fn probe(url: &str, timeout: Duration) -> Probe {
    let mut config = match tokio_postgres::Config::from_str(url) {
        Ok(config) => config,
        Err(e) => return Probe::Unreachable(format!("{} is not usable: {e}", redact(url))),
    };
    config.connect_timeout(timeout);
    match facts(&config, timeout).await {
        Ok(facts) => Probe::Answers(facts),
        Err(e)
            if e.downcast_ref::<tokio_postgres::Error>()
                .and_then(tokio_postgres::Error::code)
                == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME) =>
        {
            let name = config
                .get_dbname()
                .or(config.get_user())
                .unwrap_or_default()
                .to_string();
            let mut admin = config.clone();
            admin.dbname("postgres");
            let version = query_one_text(&admin, timeout, "SHOW server_version")
                .await
                .ok();
            Probe::MissingDatabase { name, version }
        }
        Err(e) => Probe::Unreachable(format!("{e:#}")),
    }
}

async fn facts(config: &tokio_postgres::Config, timeout: Duration) -> anyhow::Result<ServerFacts> {
    let (client, connection) = tokio::time::timeout(timeout, config.connect(tokio_postgres::NoTls))
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {} ms", timeout.as_millis()))??;
    let task = tokio::spawn(connection);
    let row = tokio::time::timeout(
        timeout,
        client.query_one(
            "SELECT current_setting('server_version'), extract(epoch FROM clock_timestamp())::float8, \
                    current_setting('TimeZone'), system_identifier, current_database()::text, \
                    (SELECT extract(epoch FROM utc_offset)::int8 FROM pg_timezone_names \
                     WHERE name = 'Asia/Ho_Chi_Minh') \
             FROM pg_control_system()",
            &[],
        ),
    )
    .await
    .map_err(|_| anyhow::anyhow!("no answer within {} ms", timeout.as_millis()))??;
    drop(client);
    let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
    Ok(ServerFacts {
        version: row.get(0),
        now_epoch: row.get(1),
        time_zone: row.get(2),
        vietnam_offset_seconds: row.get(5),
        identity: DatabaseIdentity {
            system_identifier: row.get(3),
            database: row.get(4),
        },
    })
}

async fn query_one_text(
    config: &tokio_postgres::Config,
    timeout: Duration,
    sql: &str,
) -> anyhow::Result<String> {
    let (client, connection) =
        tokio::time::timeout(timeout, config.connect(tokio_postgres::NoTls)).await??;
    let task = tokio::spawn(connection);
    let text: String = tokio::time::timeout(timeout, client.query_one(sql, &[]))
        .await??
        .get(0);
    drop(client);
    let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
    Ok(text)
}

/// The migrations of this binary against those the database records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// How many of this binary's migrations the database has.
    pub applied: usize,
    /// This binary's migrations the database lacks (applied at the next start or `sipas
    /// migrate`), by version.
    pub pending: Vec<String>,
    /// Migrations the database records that this binary does not know: it was migrated by a
    /// newer version.
    pub unknown: Vec<String>,
}

/// Every migration version embedded in this binary.
pub fn embedded_versions() -> anyhow::Result<Vec<String>> {
    let migrations = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("reading the embedded migrations: {e}"))?;
    Ok(migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .collect())
}

/// Reads which migrations the database at `url` has, through diesel_migrations' harness
/// (pending list and applied list; nothing applied). A database without the migrations table
/// has every migration pending (the table is not created here).
pub async fn migration_state(url: &str) -> anyhow::Result<MigrationState> {
    let url = url.to_string();
    // The harness is synchronous: a plain thread, as for `run_migrations`.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| -> anyhow::Result<MigrationState> {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Exists {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                exists: bool,
            }
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                    .with_context(|| format!("connecting to {}", redact(&url)))?;
            let known = embedded_versions()?;
            let table: Exists = diesel::sql_query(
                "SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS exists",
            )
            .get_result(&mut conn)?;
            if !table.exists {
                return Ok(MigrationState {
                    applied: 0,
                    pending: known,
                    unknown: Vec::new(),
                });
            }
            let pending: Vec<String> = conn
                .pending_migrations(MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("listing pending migrations: {e}"))?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect();
            let recorded: Vec<String> = conn
                .applied_migrations()
                .map_err(|e| anyhow::anyhow!("listing applied migrations: {e}"))?
                .iter()
                .map(ToString::to_string)
                .collect();
            let unknown: Vec<String> = recorded
                .iter()
                .filter(|v| !known.contains(v))
                .cloned()
                .collect();
            Ok(MigrationState {
                applied: known.len() - pending.len(),
                pending,
                unknown,
            })
        })();
        let _ = tx.send(result);
    });
    rx.await.context("the migration thread stopped")?
}
