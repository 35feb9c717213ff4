//! PostgreSQL: the connection pool, database creation, embedded migrations, and the queries of
//! each model (one module per table group).

// The core's modules under the names the queries use (`crate::domain::access::Actor`, ...).
use sipas_core::{config, domain, periods, privacy, reports};

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod comments;
pub mod desks;
pub mod embedded;
pub mod exports;
pub mod flags;
pub mod forms;
pub mod home;
pub mod kiosks;
pub mod lineage;
pub mod partitions;
pub mod plans;
pub mod prepared;
pub mod probe;
pub mod published;
pub mod reorganisations;
pub mod residence;
pub mod responses;
pub mod retention;
pub mod rollup;
pub mod schema;
pub mod stats;
pub mod throttle;
pub mod tokens;
pub mod units;
pub mod visits;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::Config;
use embedded::EmbeddedPostgres;

/// deadpool's pool of connections, as [`Pool`] wraps it.
pub type DeadPool = diesel_async::pooled_connection::deadpool::Pool<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;
pub type Connection = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

/// Told how long each checkout from a [`Pool`] waited (see [`Pool::observe_waits`]).
pub type WaitObserver = Box<dyn Fn(Duration) + Send + Sync>;

/// The service's connection pool: deadpool's (everything of it is reachable through `Deref`),
/// whose [`Pool::get`] also tells an observer, once one is installed, how long the checkout
/// took (waiting for a free slot, and connecting or recycling). Clones share the observer.
#[derive(Clone)]
pub struct Pool {
    inner: DeadPool,
    waits: std::sync::Arc<std::sync::OnceLock<WaitObserver>>,
}

impl Pool {
    fn new(inner: DeadPool) -> Self {
        Pool {
            inner,
            waits: Default::default(),
        }
    }

    /// A connection, as deadpool's `get`, timed for the observer.
    pub async fn get(&self) -> Result<Connection, PoolError> {
        let Some(observe) = self.waits.get() else {
            return self.inner.get().await;
        };
        let started = std::time::Instant::now();
        let got = self.inner.get().await;
        observe(started.elapsed());
        got
    }

    /// A second connection for a request that already holds one, only if a slot is free at
    /// once (`None` otherwise): waiting for it could deadlock requests that each hold one and
    /// wait for another.
    pub async fn try_get(&self) -> Option<Connection> {
        let timeouts = deadpool::managed::Timeouts {
            wait: Some(Duration::ZERO),
            ..self.inner.timeouts()
        };
        self.inner.timeout_get(&timeouts).await.ok()
    }

    /// Installs the observer of every checkout's wait, for this pool and its clones; false
    /// when one was installed already (it stays).
    pub fn observe_waits(&self, observer: WaitObserver) -> bool {
        self.waits.set(observer).is_ok()
    }
}

impl std::ops::Deref for Pool {
    type Target = DeadPool;

    fn deref(&self) -> &DeadPool {
        &self.inner
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.inner.status())
            .field("observed", &self.waits.get().is_some())
            .finish()
    }
}

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");
/// A hash of the migration files compiled into this binary (see build.rs).
pub const MIGRATIONS_FINGERPRINT: &str = env!("SIPAS_MIGRATIONS_FINGERPRINT");

/// Advisory lock key held while migrating, so that several instances can start at once.
const MIGRATION_LOCK: i64 = 0x5349_5041_535f_4d31;
/// Where the service looks for a server when `DATABASE_URL` is unset.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/sipas";
/// Name of the database in the embedded server.
const EMBEDDED_DATABASE: &str = "sipas";

/// The database the service uses, and the private server behind it when there is one.
pub struct Database {
    pub pool: Pool,
    pub url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Finds the database (`DATABASE_URL`, else the default local server, else a private
    /// embedded server in the data directory), creates it if allowed, migrates it and opens a
    /// pool.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let (url, embedded) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None if embedded::server_answers(DEFAULT_DATABASE_URL).await => {
                (DEFAULT_DATABASE_URL.to_string(), None)
            }
            None => {
                tracing::info!(
                    "DATABASE_URL is unset and no server answers at 127.0.0.1:5432: starting a private PostgreSQL in {}",
                    config.data_dir.display()
                );
                let dir = config.data_dir.join("postgres");
                let server = EmbeddedPostgres::start(&dir).await?;
                server.ensure_database(EMBEDDED_DATABASE).await?;
                (server.database_url(EMBEDDED_DATABASE), Some(server))
            }
        };
        ensure_database(&url).await?;
        run_migrations(&url).await?;
        let pool = build_pool_with(&url, config.db_pool_size, config.session_limits())?;
        // This year's and the coming year's partitions of responses (again every hour while
        // the service runs: sipas_app::background::PartitionTask). Not a reason to refuse to
        // start: until it exists, that year's responses wait in the default partition.
        {
            let mut conn = pool
                .get()
                .await
                .map_err(|e| anyhow::anyhow!("connecting to {}: {e}", redact(&url)))?;
            match partitions::ensure_ahead(&mut conn, crate::domain::time::today_in_vietnam()).await
            {
                Ok(created) => {
                    for (year, moved) in created {
                        tracing::info!(
                            year,
                            moved,
                            "created the partition of responses for a year"
                        );
                    }
                }
                Err(e) => tracing::warn!(
                    "could not create the coming year's partition of responses (tried again every hour): {e}"
                ),
            }
        }
        Ok(Database {
            pool,
            url,
            embedded,
        })
    }

    /// Closes the pool and stops the embedded server, if any.
    pub async fn close(self) {
        self.pool.close();
        if let Some(server) = self.embedded
            && let Err(e) = server.stop().await
        {
            tracing::warn!("could not stop the embedded PostgreSQL: {e}");
        }
    }
}

pub use crate::config::{DEFAULT_POOL_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT, SessionLimits};

/// A pool whose waits are bounded, so that a database outage answers 503 (or spools) instead of
/// hanging, with the default [`SessionLimits`].
pub fn build_pool(url: &str, size: usize) -> anyhow::Result<Pool> {
    build_pool_with(url, size, SessionLimits::default())
}

/// A pool with `limits`: every connection it opens runs `SET statement_timeout` and
/// `SET idle_in_transaction_session_timeout` first, so that no query or forgotten transaction
/// holds a connection (or its locks) for ever.
pub fn build_pool_with(url: &str, size: usize, limits: SessionLimits) -> anyhow::Result<Pool> {
    let mut manager_config =
        diesel_async::pooled_connection::ManagerConfig::<AsyncPgConnection>::default();
    let millis = limits.statement_timeout.as_millis();
    manager_config.custom_setup = Box::new(move |url| {
        let url = url.to_string();
        Box::pin(async move {
            use diesel_async::{AsyncConnection, SimpleAsyncConnection};
            let mut conn = AsyncPgConnection::establish(&url).await?;
            if !limits.fill_time_signal || !limits.person_signal {
                let on = |b: bool| if b { "on" } else { "off" };
                conn.batch_execute(&format!(
                    "SET sipas.fill_time = '{}'; SET sipas.person = '{}'",
                    on(limits.fill_time_signal),
                    on(limits.person_signal)
                ))
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            }
            if millis > 0 {
                conn.batch_execute(&format!(
                    "SET statement_timeout = {millis}; SET idle_in_transaction_session_timeout = {millis}"
                ))
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            }
            Ok(conn)
        })
    });
    // A checked-out connection is not pinged first (`SELECT 1`: one more round trip on every
    // checkout, three per citizen's visit): a connection whose server went away
    // is closed by then and dropped by the pool (`is_broken` covers a closed socket), and the
    // rare one that fails on its first statement gives the error every caller already handles
    // (a citizen's response goes to the spool, see `is_unreachable`).
    manager_config.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, manager_config);
    DeadPool::builder(manager)
        .max_size(size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(limits.pool_timeout))
        .create_timeout(Some(limits.pool_timeout))
        .recycle_timeout(Some(limits.pool_timeout))
        .build()
        .map(Pool::new)
        .context("building the database pool")
}

/// Whether `error` by itself says that the database cannot be reached now (as opposed to a
/// refusal of the statement: a constraint, bad data, a bug): the connection was closed or could
/// not send (errors without an SQLSTATE: tokio-postgres's own, never the server's translated
/// messages), or the transaction manager was left broken by such an error.
///
/// diesel does not expose the SQLSTATE of the server's errors, and their message is in the
/// server's `lc_messages`, so no message text is read here. An error the server sends before it
/// ends the session (class 08, `57P01` admin shutdown, `57P02` crash shutdown, `25P03` idle in
/// transaction timeout, ...: every FATAL) is told apart by [`failed_for_outage`], which asks
/// the connection whether the session survived.
pub fn is_unreachable(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as K, Error as E};
    match error {
        E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => true,
        E::BrokenTransactionManager => true,
        E::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => is_unreachable(rollback_error) || is_unreachable(commit_error),
        _ => false,
    }
}

/// How long [`failed_for_outage`] waits for the connection to answer.
pub const SESSION_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether `error`, just returned on `conn`, means the database cannot be reached now, whatever
/// language the server speaks: [`is_unreachable`] by its kind, or else an error of the server
/// after which the session is gone. PostgreSQL closes the session after every FATAL error
/// (connection exceptions of class 08, `57P01`–`57P03` shutdown and start-up, `25P03`, `57P05`)
/// and keeps it after an ERROR (a refused statement): a `SELECT 1` on the same connection, done
/// outside any transaction, tells which, within [`SESSION_CHECK_TIMEOUT`] (no answer counts as
/// an outage too). The statement timeout (`57014`) keeps the session: callers bound their work
/// by a shorter timeout of their own (a citizen's store) or run without one (the spool's replay).
pub async fn failed_for_outage(
    conn: &mut AsyncPgConnection,
    error: &diesel::result::Error,
) -> bool {
    use diesel::result::{DatabaseErrorKind as K, Error as E};
    if is_unreachable(error) {
        return true;
    }
    // A constraint's refusal has its own kind; only the server's other errors may be FATAL.
    if !matches!(
        error,
        E::DatabaseError(K::Unknown, _) | E::RollbackErrorOnCommit { .. }
    ) {
        return false;
    }
    let survived = tokio::time::timeout(
        SESSION_CHECK_TIMEOUT,
        diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), conn),
    )
    .await;
    !matches!(survived, Ok(Ok(_)))
}

pub use crate::domain::instance::DatabaseIdentity;

/// The identity of the database `conn` is connected to.
pub async fn identity(conn: &mut AsyncPgConnection) -> diesel::QueryResult<DatabaseIdentity> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        system_identifier: i64,
        #[diesel(sql_type = Text)]
        database: String,
    }
    let row: Row = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT system_identifier, current_database()::text AS database FROM pg_control_system()",
        ),
        conn,
    )
    .await?;
    Ok(DatabaseIdentity {
        system_identifier: row.system_identifier,
        database: row.database,
    })
}

/// Creates the database named in `url` when it does not exist and the server allows it.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let config = tokio_postgres::Config::from_str(url)
        .with_context(|| format!("reading the database URL {}", redact(url)))?;
    let name = config
        .get_dbname()
        .map(str::to_string)
        .or_else(|| config.get_user().map(str::to_string))
        .context("the database URL names no database")?;
    // Fast path: the database exists and we can reach it.
    if let Ok((client, connection)) = config.connect(tokio_postgres::NoTls).await {
        drop(client);
        drop(connection);
        return Ok(());
    }
    let mut admin = config.clone();
    admin.dbname("postgres");
    let (client, connection) = admin
        .connect(tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to the PostgreSQL server of {}", redact(url)))?;
    let task = tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await
        {
            Ok(()) => tracing::info!("created database {name}"),
            // Another instance may have created it at the same moment: "already exists", or,
            // when both passed the check above, the unique index of pg_database
            // (tests/two_instances.rs starts two instances at once on a missing database).
            Err(e)
                if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
                    || e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "database {name} does not exist and cannot be created"
                )));
            }
        }
    }
    drop(client);
    let _ = task.await;
    Ok(())
}

/// Runs the pending embedded migrations under an advisory lock. Returns the versions applied.
pub async fn run_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    migrate(url, None).await
}

/// Runs the pending embedded migrations up to and including version `last` (as diesel records
/// it: `20261127000012`), under the same advisory lock: the schema an older release left, for
/// the upgrade test (tests/upgrade.rs). Fails when no embedded migration has that version.
pub async fn run_migrations_through(url: &str, last: &str) -> anyhow::Result<Vec<String>> {
    let known = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("reading the embedded migrations: {e}"))?
        .iter()
        .any(|m| m.name().version().to_string() == last);
    if !known {
        anyhow::bail!("no embedded migration has the version {last}");
    }
    migrate(url, Some(last.to_string())).await
}

/// The embedded migrations up to and including a version.
struct MigrationsThrough(String);

impl diesel::migration::MigrationSource<diesel::pg::Pg> for MigrationsThrough {
    fn migrations(
        &self,
    ) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>>> {
        let all = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)?;
        Ok(all
            .into_iter()
            .filter(|m| m.name().version().to_string() <= self.0)
            .collect())
    }
}

async fn migrate(url: &str, through: Option<String>) -> anyhow::Result<Vec<String>> {
    let url = url.to_string();
    // Diesel's migration harness is synchronous: run it on a plain thread with its own small
    // runtime (never block an async worker).
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| -> anyhow::Result<Vec<String>> {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                    .with_context(|| format!("connecting to {}", redact(&url)))?;
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let applied = match through {
                None => conn.run_pending_migrations(MIGRATIONS),
                Some(last) => conn.run_pending_migrations(MigrationsThrough(last)),
            }
            .map(|versions| versions.iter().map(|v| v.to_string()).collect())
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            applied
        })();
        let _ = tx.send(result);
    });
    let applied = rx.await.context("the migration thread stopped")??;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    Ok(applied)
}

/// Reverts every applied migration (for the migration test and `sipas migrate --revert-all`).
pub async fn revert_all_migrations(url: &str) -> anyhow::Result<()> {
    let url = url.to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| -> anyhow::Result<()> {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)?;
            conn.revert_all_migrations(MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))?;
            Ok(())
        })();
        let _ = tx.send(result);
    });
    rx.await.context("the migration thread stopped")?
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // What the url crate refuses but PostgreSQL reads: no host after the user
        // (`postgres://sipas:pw@/sipas?host=/var/run/postgresql`, a Unix socket).
        Err(_) => redact_by_hand(url),
    }
}

/// [`redact`] of a URL the url crate cannot parse: the password between the user's `:` and the
/// last `@` of the authority replaced by `***`.
fn redact_by_hand(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind as K, Error as E};

    fn db(kind: K, message: &str) -> E {
        E::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn passwords_are_redacted_also_without_a_host() {
        assert_eq!(
            redact("postgres://sipas:secret@db.example:5432/sipas"),
            "postgres://sipas:***@db.example:5432/sipas"
        );
        assert_eq!(
            redact("postgres://sipas:secret@/sipas?host=/var/run/postgresql"),
            "postgres://sipas:***@/sipas?host=/var/run/postgresql"
        );
        assert_eq!(
            redact("postgres://sipas@/sipas?host=/var/run/postgresql"),
            "postgres://sipas@/sipas?host=/var/run/postgresql"
        );
        assert_eq!(
            redact("postgres:///sipas?host=/var/run/postgresql&user=sipas"),
            "postgres:///sipas?host=/var/run/postgresql&user=sipas"
        );
    }

    #[test]
    fn outages_are_told_apart_from_refusals() {
        for outage in [
            db(K::UnableToSendCommand, "connection closed"),
            db(K::ClosedConnection, "closed"),
            E::BrokenTransactionManager,
            E::RollbackErrorOnCommit {
                rollback_error: Box::new(db(K::UnableToSendCommand, "x")),
                commit_error: Box::new(db(K::Unknown, "server closed the connection")),
            },
        ] {
            assert!(is_unreachable(&outage), "{outage:?}");
        }
        for refusal in [
            E::NotFound,
            db(K::UniqueViolation, "duplicate key value"),
            db(K::ForeignKeyViolation, "violates foreign key constraint"),
            db(K::CheckViolation, "violates check constraint"),
            db(K::Unknown, "relation \"response_texts\" does not exist"),
            db(K::Unknown, "invalid input syntax for type uuid"),
            db(K::SerializationFailure, "could not serialize access"),
            // Messages are never read: the server's FATAL errors are told by the session's
            // fate (`failed_for_outage`, tests/reliability.rs), whatever their language.
            db(
                K::Unknown,
                "terminating connection due to administrator command",
            ),
            db(
                K::Unknown,
                "Verbindung wird abgebrochen aufgrund von Anweisung des Administrators",
            ),
        ] {
            assert!(!is_unreachable(&refusal), "{refusal:?}");
        }
    }
}
