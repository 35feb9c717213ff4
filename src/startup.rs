//! Putting the service together: configuration, forms, database, HTTP server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;

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
        let files = forms::load_dir(&config.forms_dir)?;
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
                "SIPAS_DEFAULT_FORM: no form \"{}\" in {} (forms: {})",
                config.default_form,
                config.forms_dir.display(),
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

/// The running web service.
pub struct Application {
    server: Server,
    port: u16,
    database: Database,
    state: web::Data<AppState>,
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
        let state = web::Data::new(AppState {
            pool: database.pool.clone(),
            forms,
            config,
            secret,
        });
        let server = crate::web::server(listener, state.clone())?;
        Ok(Application {
            server,
            port,
            database,
            state,
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

    /// Serves until the server is stopped (Ctrl-C or SIGTERM), then closes the database.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.database.close().await;
        result
    }
}
