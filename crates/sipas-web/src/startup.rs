//! Putting the service together: configuration, forms, database, HTTP server.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;

use crate::background::Background;
use crate::config::Config;
use crate::db::{self, Database};
use crate::forms::{self, FormRegistry};
use crate::web::AppState;

/// The configuration, the survey forms (as stored in the database) and the database: what every
/// command needs.
pub struct Services {
    pub config: Config,
    pub database: Database,
    pub forms: FormRegistry,
}

impl Services {
    /// Loads and validates the survey forms (a broken file stops here, before anything else),
    /// opens and migrates the database, and stores the forms' versions.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let loaded = forms::load(config.embedded_forms, config.forms_dir.as_deref())?;
        log_forms(&loaded);
        let files = loaded.files;
        let database = Database::open(&config).await?;
        let mut conn = database
            .pool
            .get()
            .await
            .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
        let registry = db::forms::sync_forms(&mut conn, &files).await?;
        drop(conn);
        if registry.current(&config.default_form).is_none() {
            anyhow::bail!(
                "SIPAS_DEFAULT_FORM: no form \"{}\" among the embedded forms{} (forms: {})",
                config.default_form,
                match &config.forms_dir {
                    Some(dir) => format!(" and those of SIPAS_FORMS_DIR ({})", dir.display()),
                    None => String::new(),
                },
                registry.form_ids().join(", ")
            );
        }
        Ok(Services {
            config,
            database,
            forms: registry,
        })
    }

    pub async fn close(self) {
        self.database.close().await;
    }
}

/// Says at start which forms are used: embedded as shipped, overridden or added by the files of
/// `SIPAS_FORMS_DIR`.
fn log_forms(loaded: &forms::LoadedForms) {
    let words = [
        "embedded",
        "SIPAS_FORMS_DIR overrides",
        "SIPAS_FORMS_DIR adds",
    ];
    tracing::info!("survey forms: {}", loaded.describe(words));
}

/// The running web service.
pub struct Application {
    server: Server,
    port: u16,
    database: Database,
    state: web::Data<AppState>,
    rollups: RollupTask,
    /// Runs the web's export jobs (`crate::export::jobs`).
    exports: crate::export::jobs::ExportRunner,
    /// Replays the response spool into the database (`crate::spool`).
    replay: crate::spool::ReplayTask,
    /// Hears of desk changes for the desk directory (`crate::desk_directory`).
    desk_listener: crate::desk_directory::DeskListener,
    /// Applies the retention settings once a day (`crate::db::retention`).
    retention: crate::background::RetentionTask,
    /// Keeps the coming year's partition of responses ready (`crate::db::partitions`).
    partitions: crate::background::PartitionTask,
    /// Sends the staff's e-mail alerts, when `SIPAS_SMTP_URL` is set (`crate::app::alerts`).
    alerts: Option<crate::app::alerts::AlertTask>,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares the server.
    pub async fn build(services: Services) -> anyhow::Result<Self> {
        let Services {
            config,
            database,
            forms,
        } = services;
        let listener =
            TcpListener::bind(config.bind).with_context(|| format!("binding {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let secret = match &config.session_key {
            Some(key) => key.clone(),
            None => {
                tracing::warn!(
                    "SIPAS_SESSION_KEY is unset: using a random key, so staff sessions end at restart and are not shared between instances"
                );
                rand::random::<[u8; 64]>().to_vec()
            }
        };
        // Nothing lost: this instance's spool (its own directory), replayed when the database
        // answers; the desk snapshot lets citizens' forms work while it does not.
        // Its entries belong to the database it starts on, and its default directory is that
        // database's own.
        let identity = {
            let mut conn = database
                .pool
                .get()
                .await
                .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
            db::identity(&mut conn)
                .await
                .context("reading the database's identity (pg_control_system)")?
        };
        // The e-mail alerts' transport, checked before anything starts.
        let mailer = match &config.mail {
            Some(mail) => {
                let mailer = crate::app::alerts::Mailer::new(mail)?;
                tracing::info!(
                    smtp = %crate::config::MailSettings::redacted(&mail.smtp_url),
                    from = %mail.from,
                    "e-mail alerts on"
                );
                Some(mailer)
            }
            None => None,
        };
        if !config.privacy.configured {
            tracing::warn!(
                "SIPAS_PRIVACY_CONTROLLER or SIPAS_PRIVACY_CONTACT is unset: the privacy notice names a generic controller and contact (fine for the demo, not for a real installation)"
            );
        }
        // The server's metrics (`GET /metrics`), counted from here on: the pool's checkouts too.
        let metrics = crate::app::metrics::Metrics::new();
        database.pool.observe_waits(metrics.pool_wait_observer());
        let spool_dir = config.spool_dir_for(&identity);
        let spool = std::sync::Arc::new(
            crate::spool::Spool::open(&spool_dir, config.spool_max_bytes, identity)
                .with_context(|| format!("SIPAS_SPOOL_DIR: opening {}", spool_dir.display()))?,
        );
        tracing::info!(
            data_dir = %config.data_dir.display(),
            from = config.data_dir_source.describe(),
            exports = %config.export_dir().display(),
            "data directory"
        );
        tracing::info!(dir = %spool_dir.display(), database = %spool.identity(), "response spool");
        // The desks behind the public codes: loaded by the listener as it connects, trusted
        // while changes are heard.
        let desks = std::sync::Arc::new(crate::desk_directory::DeskDirectory::new());
        let desk_listener = crate::desk_directory::DeskListener::start(
            desks.clone(),
            database.url.clone(),
            database.pool.clone(),
        );
        let replay = crate::spool::ReplayTask::start(
            spool.clone(),
            database.pool.clone(),
            crate::spool::REPLAY_INTERVAL,
            metrics.clone(),
        );
        let state = web::Data::new(AppState {
            pool: database.pool.clone(),
            forms,
            config,
            secret,
            spool,
            desks,
            kiosks: Default::default(),
            code_guesses: Default::default(),
            metrics: metrics.clone(),
            residence_places: Default::default(),
        });
        let server = crate::web::server(listener, state.clone())?;
        let rollups = RollupTask::start(
            database.pool.clone(),
            ROLLUP_REFRESH_INTERVAL,
            metrics.clone(),
        );
        let retention = crate::background::RetentionTask::start(
            database.pool.clone(),
            state.config.retention,
            state.config.export_dir(),
            crate::background::RETENTION_FIRST_CHECK,
            crate::background::RETENTION_CHECK_EVERY,
        );
        let partitions = crate::background::PartitionTask::start(
            database.pool.clone(),
            crate::background::PARTITIONS_CHECK_EVERY,
        );
        let alerts = mailer
            .zip(state.config.mail.as_ref())
            .map(|(mailer, mail)| {
                crate::app::alerts::AlertTask::start(
                    database.pool.clone(),
                    state.forms.clone(),
                    mailer,
                    state.config.public_url.to_string(),
                    mail.every,
                )
            });
        let exports = crate::export::jobs::ExportRunner::start(
            &database.url,
            state.forms.clone(),
            crate::export::jobs::RunnerSettings {
                metrics: Some(metrics),
                ..crate::export::jobs::RunnerSettings::from_config(&state.config)
            },
        )?;
        Ok(Application {
            server,
            port,
            database,
            state,
            rollups,
            exports,
            replay,
            desk_listener,
            retention,
            partitions,
            alerts,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (Ctrl-C or SIGTERM), then stops the rollup refresh
    /// and the export runner (its running jobs go back to the queue) and closes the database.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.rollups.stop().await;
        self.exports.stop().await;
        self.replay.stop().await;
        self.desk_listener.stop().await;
        self.retention.stop().await;
        self.partitions.stop().await;
        if let Some(alerts) = self.alerts {
            alerts.stop().await;
        }
        self.database.close().await;
        result
    }
}

/// How often the server folds new responses into the statistics rollups.
pub const ROLLUP_REFRESH_INTERVAL: Duration = Duration::from_secs(3);
/// How long a refresh in progress may finish once the server stops.
const ROLLUP_STOP_GRACE: Duration = Duration::from_secs(5);

/// The background task that keeps the rollups up to date (`crate::db::rollup::refresh`) while
/// the server runs, so that statistics pages find them ready. Errors are logged, never
/// propagated: the server keeps serving whatever happens to the refresh (a panic in one
/// refresh is caught and logged too). Stops with the server; aborted if the application is
/// dropped without running.
struct RollupTask(Background);

impl RollupTask {
    fn start(pool: db::Pool, every: Duration, metrics: crate::app::metrics::Metrics) -> Self {
        RollupTask(Background::spawn(|mut stopped| async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut blocked_rounds = 0u32;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = interval.tick() => {}
                }
                // Each refresh in a task of its own: a panic ends that refresh, not the loop.
                let pool = pool.clone();
                let mut refresh = tokio::spawn(async move {
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    crate::db::rollup::refresh(&mut conn)
                        .await
                        .map_err(|e| e.to_string())
                });
                let stopping = tokio::select! {
                    _ = &mut stopped => true,
                    outcome = &mut refresh => {
                        metrics.fold(match &outcome {
                            Ok(Ok(report)) => Ok(report),
                            _ => Err(()),
                        });
                        log_refresh(outcome, &mut blocked_rounds);
                        false
                    }
                };
                if stopping {
                    // Let a fold in progress commit rather than cut it off.
                    let _ = tokio::time::timeout(ROLLUP_STOP_GRACE, refresh).await;
                    break;
                }
            }
        }))
    }

    /// Stops the loop, letting a refresh in progress finish (within a grace period).
    async fn stop(self) {
        self.0.stop(ROLLUP_STOP_GRACE * 2).await;
    }
}

type RefreshOutcome =
    Result<Result<crate::db::rollup::RefreshReport, String>, tokio::task::JoinError>;

fn log_refresh(outcome: RefreshOutcome, blocked_rounds: &mut u32) {
    use crate::db::rollup::Outcome;
    match outcome {
        Ok(Ok(report)) => match &report.outcome {
            Outcome::WaitingForWriters(writers) => {
                // Said once, then every few minutes while it lasts.
                if (*blocked_rounds).is_multiple_of(100) {
                    tracing::warn!(
                        ?writers,
                        "statistics rollups wait for transactions still inserting responses"
                    );
                }
                *blocked_rounds += 1;
            }
            Outcome::Done | Outcome::Busy => {
                *blocked_rounds = 0;
                if report.responses > 0 {
                    tracing::debug!(
                        responses = report.responses,
                        up_to = report.to_id,
                        elapsed_ms = report.elapsed.as_millis() as u64,
                        "statistics rollups refreshed"
                    );
                }
            }
        },
        Ok(Err(e)) => tracing::warn!("refreshing the statistics rollups: {e}"),
        Err(e) => tracing::error!("the statistics rollup refresh failed: {e}"),
    }
}
