//! Private PostgreSQL server for running without `DATABASE_URL`.
//!
//! When no database is configured and no server answers on the default address, the service
//! starts its own PostgreSQL from the installed server binaries (`initdb`, `pg_ctl`) inside its
//! data directory:
//!
//! * the cluster lives in `DIR/pgdata` (created by `initdb` on first start, reused afterwards);
//! * the server listens on a Unix socket only (`listen_addresses=''`), in `DIR/socket`, or in
//!   `/tmp/sipas-pg-HASH` when that path is too long for a Unix socket (or contains characters
//!   PostgreSQL cannot handle in `unix_socket_directories`);
//! * local (socket) connections are trusted, TCP connections are rejected; the socket directory
//!   has mode 0700, so only the server account (and root) can connect;
//! * the server log is `DIR/pgdata/server.log`.
//!
//! As root, `initdb` and `pg_ctl` run as the `postgres` system account through
//! `runuser -u postgres -- ...` (PostgreSQL refuses to run as root), and the directories are
//! chowned to that account. As any other user, they run as that user.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tracing::{debug, info, warn};

/// Port of the embedded server. TCP is disabled, so it only names the socket file
/// (`.s.PGSQL.5432`) inside the private socket directory and cannot conflict with another server.
pub const PORT: u16 = 5432;

/// Database superuser created by `initdb`, used in [`EmbeddedPostgres::database_url`].
pub const SUPERUSER: &str = "postgres";

/// System account the server runs as when the service runs as root.
const SYSTEM_ACCOUNT: &str = "postgres";

/// Where Debian/Ubuntu install the server binaries (`/usr/lib/postgresql/VERSION/bin`).
pub const LIB_ROOT: &str = "/usr/lib/postgresql";

/// Parent of the fallback socket directory used when `DIR/socket` is unusable.
const SHORT_SOCKET_ROOT: &str = "/tmp";
const SHORT_SOCKET_PREFIX: &str = "sipas-pg-";

/// `sizeof(sockaddr_un.sun_path)` is 108 on Linux, including the terminating NUL.
const MAX_SOCKET_PATH_LEN: usize = 107;

const DATA_SUBDIR: &str = "pgdata";
const SOCKET_SUBDIR: &str = "socket";
const LOG_FILE: &str = "server.log";
/// The server log is moved to `server.log.1` at start once it grows past this size.
const LOG_ROTATE_BYTES: u64 = 10 * 1024 * 1024;
const LOG_TAIL_LINES: usize = 30;
/// Seconds `pg_ctl -w` waits for start or stop.
const PG_CTL_WAIT_SECS: &str = "60";
/// `pg_ctl status` exit code meaning "no server running".
const PG_CTL_STATUS_NOT_RUNNING: i32 = 3;
/// How long [`server_answers`] waits for a server.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// Errors of the embedded server.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// No directory holding both `initdb` and `pg_ctl` was found.
    #[error(
        "no PostgreSQL found: install the server (Debian: apt-get install postgresql) or set DATABASE_URL to an existing database"
    )]
    NotFound,
    /// Running as root, but there is no `postgres` account to run the server as.
    #[error(
        "running as root requires the `postgres` system account for the embedded PostgreSQL: install the server package (it creates the account), run the service as a regular user, or set DATABASE_URL to an existing database"
    )]
    NoSystemAccount,
    /// Running as root, and the `postgres` account cannot reach a directory.
    #[error(
        "the postgres account cannot access {}: make it and its parent directories traversable (chmod o+x) or set DATABASE_URL to an existing database",
        path.display()
    )]
    NotAccessible { path: PathBuf },
    /// A path contains a character `pg_ctl` cannot quote in the shell command it runs.
    #[error(
        "the path {} contains a character pg_ctl cannot handle (one of \" \\ $ `): use another data directory or set DATABASE_URL to an existing database",
        path.display()
    )]
    UnsupportedPath { path: PathBuf },
    /// The fallback socket directory exists but is not a private directory of the server account.
    #[error("refusing to use the socket directory {}: {reason}", path.display())]
    UnsafeSocketDir { path: PathBuf, reason: String },
    /// A file system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A program could not be run at all.
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("{program} failed ({status}): {output}")]
    Command {
        program: String,
        status: String,
        output: String,
    },
    /// `pg_ctl start` failed; the tail of the server log usually says why.
    #[error(
        "the embedded PostgreSQL server did not start: {message}\n--- last lines of {} ---\n{log_tail}",
        log.display()
    )]
    StartFailed {
        message: String,
        log: PathBuf,
        log_tail: String,
    },
    /// A query on the embedded server failed.
    #[error("embedded PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let path = path.to_path_buf();
    move |source| EmbeddedError::Io {
        action,
        path,
        source,
    }
}

/// A PostgreSQL server private to the service, started by [`EmbeddedPostgres::start`].
///
/// Stop it with [`EmbeddedPostgres::stop`]; dropping it without `stop` stops the server too,
/// synchronously and best effort.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    base_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    /// Whether `socket_dir` is the fallback under `/tmp` (removed again on stop).
    short_socket_dir: bool,
    port: u16,
    run_as_postgres: bool,
    stopped: bool,
}

/// The account the server runs as.
#[derive(Debug, Clone, Copy)]
struct Account {
    uid: u32,
    gid: u32,
    /// `true`: the `postgres` system account, reached through `runuser` from root.
    system: bool,
}

impl EmbeddedPostgres {
    /// Finds binaries, initialises `dir/pgdata` if needed, starts the server (`pg_ctl -w start`)
    /// on a Unix socket in `dir/socket` (or in `/tmp/sipas-pg-HASH` when that path is too long
    /// for a Unix socket) and waits until it accepts connections.
    pub async fn start(dir: &Path) -> Result<Self, EmbeddedError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(io_error("could not create", dir))?;
        let base_dir = tokio::fs::canonicalize(dir)
            .await
            .map_err(io_error("could not resolve", dir))?;
        check_pg_ctl_path(&base_dir)?;
        let data_dir = base_dir.join(DATA_SUBDIR);
        let data_version = read_data_version(&data_dir).await;

        // A cluster only runs with binaries of its own major version: prefer them.
        let lib_root = Path::new(LIB_ROOT);
        let bin_dir = match data_version
            .as_deref()
            .and_then(|version| binaries_for_version(lib_root, version))
        {
            Some(bin_dir) => bin_dir,
            None => find_binaries(std::env::var_os("PATH").as_deref(), lib_root)
                .ok_or(EmbeddedError::NotFound)?,
        };
        let bin_dir = resolve_bin_dir(bin_dir).await;
        check_pg_ctl_path(&bin_dir)?;
        info!(bin_dir = %bin_dir.display(), "embedded PostgreSQL: using server binaries");

        let account = Account::detect().await?;
        if account.system {
            info!(
                "embedded PostgreSQL: running as root, the server runs as the `postgres` account"
            );
        }
        let (socket_dir, short_socket_dir) = socket_dir_for(&base_dir, PORT);
        let mut pg = EmbeddedPostgres {
            bin_dir,
            base_dir,
            data_dir,
            socket_dir,
            short_socket_dir,
            port: PORT,
            run_as_postgres: account.system,
            // Nothing to stop until the server is started.
            stopped: true,
        };
        pg.prepare_dirs(account).await?;

        match data_version {
            Some(version) => info!(
                data_dir = %pg.data_dir.display(),
                version,
                "embedded PostgreSQL: reusing the existing cluster"
            ),
            None => pg.initdb().await?,
        }

        pg.stop_leftover().await?;
        pg.rotate_log().await;
        pg.pg_ctl_start().await?;
        pg.stopped = false;
        info!(
            socket = %pg.socket_path().display(),
            "embedded PostgreSQL: server started"
        );
        Ok(pg)
    }

    /// A connection URL for this server and database `dbname`, understood by tokio-postgres
    /// (and so diesel-async) and by libpq:
    /// `postgresql:///DBNAME?host=/path/to/socketdir&port=5432&user=postgres`.
    ///
    /// The host part is left empty on purpose: a host there (`postgres@localhost`) would be
    /// tried first, over TCP, before the socket directory given by `host=`.
    pub fn database_url(&self, dbname: &str) -> String {
        format!(
            "postgresql:///{}?host={}&port={}&user={}",
            percent_encode(dbname.as_bytes(), false),
            percent_encode(self.socket_dir.as_os_str().as_bytes(), true),
            self.port,
            SUPERUSER,
        )
    }

    /// Creates database `dbname` unless it exists.
    pub async fn ensure_database(&self, dbname: &str) -> Result<(), EmbeddedError> {
        let (client, connection) =
            tokio_postgres::connect(&self.database_url("postgres"), tokio_postgres::NoTls).await?;
        let connection = tokio::spawn(connection);
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&dbname])
            .await?
            .is_some();
        if !exists {
            info!(dbname, "embedded PostgreSQL: creating database");
            client
                .batch_execute(&format!("CREATE DATABASE {}", quote_identifier(dbname)))
                .await?;
        }
        drop(client);
        let _ = connection.await;
        Ok(())
    }

    /// Stops the server (`pg_ctl stop -m fast`) and waits until it has exited.
    pub async fn stop(mut self) -> Result<(), EmbeddedError> {
        if self.stopped {
            return Ok(());
        }
        // Whatever happens below, `Drop` must not try again.
        self.stopped = true;
        info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL: stopping the server");
        let output = self.pg_ctl(&self.stop_args()).await?;
        if !output.status.success() {
            let status = self.pg_ctl(&self.status_args()).await?;
            if status.status.code() != Some(PG_CTL_STATUS_NOT_RUNNING) {
                return Err(command_failed("pg_ctl stop", &output));
            }
            warn!("embedded PostgreSQL: the server was already stopped");
        }
        self.remove_short_socket_dir();
        info!("embedded PostgreSQL: server stopped");
        Ok(())
    }

    /// Directory holding the server binaries.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The cluster's data directory (`DIR/pgdata`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The server's Unix socket file (`.s.PGSQL.PORT` in [`Self::socket_dir`]).
    pub fn socket_path(&self) -> PathBuf {
        self.socket_dir.join(socket_file_name(self.port))
    }

    /// The port naming the socket file.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server log file.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join(LOG_FILE)
    }

    /// Whether the server runs as the `postgres` system account (service running as root).
    pub fn runs_as_postgres(&self) -> bool {
        self.run_as_postgres
    }

    async fn prepare_dirs(&self, account: Account) -> Result<(), EmbeddedError> {
        if account.system {
            // The postgres account must traverse the service's directory to reach its own.
            let meta = tokio::fs::metadata(&self.base_dir)
                .await
                .map_err(io_error("could not inspect", &self.base_dir))?;
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                info!(
                    dir = %self.base_dir.display(),
                    "embedded PostgreSQL: making the directory traversable (o+x) for the postgres account"
                );
                set_mode(&self.base_dir, (mode & 0o7777) | 0o001).await?;
            }
        }

        match tokio::fs::symlink_metadata(&self.data_dir).await {
            Ok(meta) => {
                if account.system && meta.uid() != account.uid {
                    info!(
                        data_dir = %self.data_dir.display(),
                        "embedded PostgreSQL: giving the data directory to the postgres account"
                    );
                    let owner = format!("{}:{}", account.uid, account.gid);
                    let mut cmd = tokio::process::Command::new("chown");
                    cmd.arg("-R").arg(owner).arg(&self.data_dir);
                    let output = run(cmd, "chown").await?;
                    if !output.status.success() {
                        return Err(command_failed("chown", &output));
                    }
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                create_private_dir(&self.data_dir).await?;
                if account.system {
                    chown(&self.data_dir, account)?;
                }
            }
            Err(err) => return Err(io_error("could not inspect", &self.data_dir)(err)),
        }

        self.prepare_socket_dir(account).await?;

        if account.system {
            for dir in [&self.data_dir, &self.socket_dir] {
                let mut cmd = tokio::process::Command::new("runuser");
                cmd.args(["-u", SYSTEM_ACCOUNT, "--", "test", "-w"])
                    .arg(dir)
                    .current_dir("/");
                if !run(cmd, "runuser").await?.status.success() {
                    return Err(EmbeddedError::NotAccessible { path: dir.clone() });
                }
            }
        }
        Ok(())
    }

    async fn prepare_socket_dir(&self, account: Account) -> Result<(), EmbeddedError> {
        let dir = &self.socket_dir;
        match tokio::fs::symlink_metadata(dir).await {
            Ok(meta) => {
                if !meta.file_type().is_dir() {
                    return Err(EmbeddedError::UnsafeSocketDir {
                        path: dir.clone(),
                        reason: "it is not a directory".into(),
                    });
                }
                if meta.uid() != account.uid {
                    // Under /tmp anyone may have created it: only trust root's or our own.
                    if self.short_socket_dir && meta.uid() != 0 {
                        return Err(EmbeddedError::UnsafeSocketDir {
                            path: dir.clone(),
                            reason: format!("it belongs to another user (uid {})", meta.uid()),
                        });
                    }
                    if account.system {
                        chown(dir, account)?;
                    }
                }
                if meta.permissions().mode() & 0o777 != 0o700 {
                    set_mode(dir, 0o700).await?;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                create_private_dir(dir).await?;
                if account.system {
                    chown(dir, account)?;
                }
            }
            Err(err) => return Err(io_error("could not inspect", dir)(err)),
        }
        Ok(())
    }

    async fn initdb(&self) -> Result<(), EmbeddedError> {
        info!(
            data_dir = %self.data_dir.display(),
            "embedded PostgreSQL: initialising a new cluster (initdb)"
        );
        // C.UTF-8 keeps byte order collation but classifies non-ASCII letters (upper(), lower(),
        // ILIKE on Vietnamese text); plain C is the fallback where C.UTF-8 does not exist.
        let locales = ["C.UTF-8", "C"];
        for (i, locale) in locales.iter().enumerate() {
            let args: Vec<OsString> = vec![
                "-D".into(),
                self.data_dir.clone().into(),
                "-U".into(),
                SUPERUSER.into(),
                "--auth-local=trust".into(),
                "--auth-host=reject".into(),
                "--encoding=UTF8".into(),
                format!("--locale={locale}").into(),
            ];
            let output = run(self.command("initdb", &args), "initdb").await?;
            if output.status.success() {
                return Ok(());
            }
            let last = i + 1 == locales.len();
            if !last && output_text(&output).contains("locale") {
                warn!(
                    locale,
                    output = %output_text(&output),
                    "embedded PostgreSQL: initdb failed with this locale, retrying with the next one"
                );
                continue;
            }
            return Err(command_failed("initdb", &output));
        }
        unreachable!("the last locale returns")
    }

    /// Stops a server left running on this data directory (service killed without cleanup),
    /// so that the new one runs with this instance's options.
    async fn stop_leftover(&self) -> Result<(), EmbeddedError> {
        let status = self.pg_ctl(&self.status_args()).await?;
        if status.status.success() {
            warn!(
                data_dir = %self.data_dir.display(),
                "embedded PostgreSQL: a server is still running on this data directory, stopping it"
            );
            let output = self.pg_ctl(&self.stop_args()).await?;
            if !output.status.success() {
                return Err(command_failed("pg_ctl stop", &output));
            }
        }
        Ok(())
    }

    async fn rotate_log(&self) {
        let log = self.log_file();
        if let Ok(meta) = tokio::fs::metadata(&log).await
            && meta.len() > LOG_ROTATE_BYTES
        {
            let old = self.data_dir.join(format!("{LOG_FILE}.1"));
            if let Err(err) = tokio::fs::rename(&log, &old).await {
                warn!(%err, "embedded PostgreSQL: could not rotate the server log");
            }
        }
    }

    async fn pg_ctl_start(&self) -> Result<(), EmbeddedError> {
        info!(
            data_dir = %self.data_dir.display(),
            socket_dir = %self.socket_dir.display(),
            "embedded PostgreSQL: starting the server (pg_ctl start)"
        );
        let log = self.log_file();
        let args: Vec<OsString> = vec![
            "start".into(),
            "-D".into(),
            self.data_dir.clone().into(),
            "-l".into(),
            log.clone().into(),
            "-w".into(),
            "-t".into(),
            PG_CTL_WAIT_SECS.into(),
            "-s".into(),
            "-o".into(),
            server_options(&self.socket_dir, self.port).into(),
        ];
        let output = self.pg_ctl(&args).await?;
        if output.status.success() {
            return Ok(());
        }
        // `-w` gave up (e.g. a long crash recovery) but the server may still be coming up:
        // do not leave it running unowned.
        if let Ok(status) = self.pg_ctl(&self.status_args()).await
            && status.status.success()
        {
            warn!("embedded PostgreSQL: stopping the server that failed to start in time");
            let _ = self.pg_ctl(&self.stop_args()).await;
        }
        let log_tail = match tokio::fs::read(&log).await {
            Ok(bytes) => tail_lines(&bytes, LOG_TAIL_LINES),
            Err(err) => format!("(could not read the log: {err})"),
        };
        Err(EmbeddedError::StartFailed {
            message: format!(
                "pg_ctl start failed ({}): {}",
                output.status,
                output_text(&output)
            ),
            log,
            log_tail,
        })
    }

    fn stop_args(&self) -> Vec<OsString> {
        vec![
            "stop".into(),
            "-D".into(),
            self.data_dir.clone().into(),
            "-m".into(),
            "fast".into(),
            "-w".into(),
            "-t".into(),
            PG_CTL_WAIT_SECS.into(),
            "-s".into(),
        ]
    }

    fn status_args(&self) -> Vec<OsString> {
        vec!["status".into(), "-D".into(), self.data_dir.clone().into()]
    }

    /// Program and leading arguments running `tool` as the server account.
    fn command_line(&self, tool: &str) -> (OsString, Vec<OsString>) {
        let tool = self.bin_dir.join(tool).into_os_string();
        if self.run_as_postgres {
            let prefix = ["-u", SYSTEM_ACCOUNT, "--"].map(OsString::from);
            ("runuser".into(), prefix.into_iter().chain([tool]).collect())
        } else {
            (tool, Vec::new())
        }
    }

    fn command(&self, tool: &str, args: &[OsString]) -> tokio::process::Command {
        let (program, prefix) = self.command_line(tool);
        let mut cmd = tokio::process::Command::new(program);
        // The server account can use the base directory; it may not be able to use ours.
        cmd.args(prefix).args(args).current_dir(&self.base_dir);
        cmd
    }

    async fn pg_ctl(&self, args: &[OsString]) -> Result<Output, EmbeddedError> {
        run(self.command("pg_ctl", args), "pg_ctl").await
    }

    fn remove_short_socket_dir(&self) {
        if self.short_socket_dir {
            // Only succeeds when empty, i.e. the server has removed its socket and lock file.
            if let Err(err) = std::fs::remove_dir(&self.socket_dir) {
                debug!(%err, dir = %self.socket_dir.display(), "could not remove the socket directory");
            }
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL: stopping the server (drop)");
        let (program, prefix) = self.command_line("pg_ctl");
        let result = std::process::Command::new(program)
            .args(prefix)
            .args(self.stop_args())
            .current_dir(&self.base_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output();
        match result {
            Ok(output) if output.status.success() => self.remove_short_socket_dir(),
            Ok(output) => warn!(
                status = %output.status,
                output = %output_text(&output),
                "embedded PostgreSQL: pg_ctl stop failed"
            ),
            Err(err) => warn!(%err, "embedded PostgreSQL: could not run pg_ctl stop"),
        }
    }
}

impl Account {
    /// The current user, or the `postgres` system account when running as root.
    async fn detect() -> Result<Self, EmbeddedError> {
        let uid = id(&["-u"]).await?.ok_or_else(|| EmbeddedError::Command {
            program: "id -u".into(),
            status: "unparsable output".into(),
            output: String::new(),
        })?;
        if uid != 0 {
            let gid = id(&["-g"]).await?.unwrap_or(0);
            return Ok(Account {
                uid,
                gid,
                system: false,
            });
        }
        let uid = id(&["-u", SYSTEM_ACCOUNT])
            .await?
            .ok_or(EmbeddedError::NoSystemAccount)?;
        let gid = id(&["-g", SYSTEM_ACCOUNT])
            .await?
            .ok_or(EmbeddedError::NoSystemAccount)?;
        Ok(Account {
            uid,
            gid,
            system: true,
        })
    }
}

/// Runs `id ARGS`; `None` when it fails (unknown user) or prints no number.
async fn id(args: &[&str]) -> Result<Option<u32>, EmbeddedError> {
    let mut cmd = tokio::process::Command::new("id");
    cmd.args(args);
    let output = run(cmd, "id").await?;
    if !output.status.success() {
        return Ok(None);
    }
    Ok(parse_id_output(&String::from_utf8_lossy(&output.stdout)))
}

fn parse_id_output(output: &str) -> Option<u32> {
    output.trim().parse().ok()
}

/// Runs `cmd` to completion, capturing its output, with stdin closed.
async fn run(mut cmd: tokio::process::Command, program: &str) -> Result<Output, EmbeddedError> {
    debug!(?cmd, "embedded PostgreSQL: running");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.output().await.map_err(|source| EmbeddedError::Spawn {
        program: program.into(),
        source,
    })
}

fn command_failed(program: &str, output: &Output) -> EmbeddedError {
    EmbeddedError::Command {
        program: program.into(),
        status: output.status.to_string(),
        output: output_text(output),
    }
}

/// stderr then stdout, trimmed, at most the last 4000 bytes.
fn output_text(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_string();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stdout.trim());
    }
    const MAX: usize = 4000;
    if text.len() > MAX {
        let mut start = text.len() - MAX;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text = format!("...{}", &text[start..]);
    }
    text
}

async fn create_private_dir(dir: &Path) -> Result<(), EmbeddedError> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.mode(0o700);
    builder
        .create(dir)
        .await
        .map_err(io_error("could not create", dir))?;
    // The umask may have removed bits, never added any; make the mode exact anyway.
    set_mode(dir, 0o700).await
}

async fn set_mode(path: &Path, mode: u32) -> Result<(), EmbeddedError> {
    tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .await
        .map_err(io_error("could not change the permissions of", path))
}

fn chown(path: &Path, account: Account) -> Result<(), EmbeddedError> {
    std::os::unix::fs::chown(path, Some(account.uid), Some(account.gid))
        .map_err(io_error("could not change the owner of", path))
}

/// The major version recorded in `DATA_DIR/PG_VERSION`, if the cluster is initialised.
async fn read_data_version(data_dir: &Path) -> Option<String> {
    let text = tokio::fs::read_to_string(data_dir.join("PG_VERSION"))
        .await
        .ok()?;
    let version = text.trim();
    (!version.is_empty()).then(|| version.to_string())
}

/// `pg_ctl` runs the server through `/bin/sh -c "exec \"BIN/postgres\" -D \"DATA\" ... >> \"LOG\""`:
/// paths with characters special inside double quotes would break that command.
fn check_pg_ctl_path(path: &Path) -> Result<(), EmbeddedError> {
    if path
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b'"' | b'\\' | b'$' | b'`'))
    {
        return Err(EmbeddedError::UnsupportedPath {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Finds the bin dir holding both `initdb` and `pg_ctl`: the first absolute directory of
/// `path_env` (a `PATH` value) that has both, else the highest version `lib_root/VERSION/bin`
/// (Debian layout, `lib_root` = `/usr/lib/postgresql`) that has both.
pub fn find_binaries(path_env: Option<&OsStr>, lib_root: &Path) -> Option<PathBuf> {
    if let Some(path_env) = path_env {
        let found = std::env::split_paths(path_env)
            .filter(|dir| dir.is_absolute())
            .find(|dir| has_server_binaries(dir));
        if found.is_some() {
            return found;
        }
    }
    let entries = std::fs::read_dir(lib_root).ok()?;
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = parse_version(entry.file_name().to_str()?)?;
            let bin_dir = entry.path().join("bin");
            has_server_binaries(&bin_dir).then_some((version, bin_dir))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin_dir)| bin_dir)
}

/// `lib_root/VERSION/bin` if it holds both binaries.
fn binaries_for_version(lib_root: &Path, version: &str) -> Option<PathBuf> {
    parse_version(version)?;
    let bin_dir = lib_root.join(version).join("bin");
    has_server_binaries(&bin_dir).then_some(bin_dir)
}

/// The directory the binaries really live in when `bin_dir` holds symlinks to them
/// (e.g. `/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl`), else `bin_dir`.
async fn resolve_bin_dir(bin_dir: PathBuf) -> PathBuf {
    let Ok(pg_ctl) = tokio::fs::canonicalize(bin_dir.join("pg_ctl")).await else {
        return bin_dir;
    };
    match pg_ctl.parent() {
        Some(real) if has_server_binaries(real) => real.to_path_buf(),
        _ => bin_dir,
    }
}

fn has_server_binaries(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
}

/// `"15"` -> `[15]`, `"9.6"` -> `[9, 6]`; anything else -> `None`.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn socket_file_name(port: u16) -> String {
    format!(".s.PGSQL.{port}")
}

/// The socket directory for base directory `base`: `base/socket`, or `/tmp/sipas-pg-HASH`
/// (HASH derived from `base`) when the socket path would exceed the Unix socket limit or the
/// directory contains characters `unix_socket_directories` cannot hold. The flag tells whether
/// the fallback was chosen.
fn socket_dir_for(base: &Path, port: u16) -> (PathBuf, bool) {
    let preferred = base.join(SOCKET_SUBDIR);
    if socket_dir_usable(&preferred, port) {
        return (preferred, false);
    }
    let hash = fnv1a64(base.as_os_str().as_bytes());
    let short = Path::new(SHORT_SOCKET_ROOT).join(format!("{SHORT_SOCKET_PREFIX}{hash:016x}"));
    (short, true)
}

fn socket_dir_usable(dir: &Path, port: u16) -> bool {
    let bytes = dir.as_os_str().as_bytes();
    let socket_len = bytes.len() + 1 + socket_file_name(port).len();
    socket_len <= MAX_SOCKET_PATH_LEN
        && bytes.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'/' | b'.' | b'_' | b'-' | b'+' | b'@' | b'~' | b':' | b'='
                )
        })
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust releases.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The `-o` value of `pg_ctl start`. pg_ctl hands it to `/bin/sh`, hence the quoting.
fn server_options(socket_dir: &Path, port: u16) -> String {
    format!(
        "-c listen_addresses='' -k {} -p {port}",
        shell_quote(&socket_dir.to_string_lossy())
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Percent-encodes everything but unreserved characters (and `/` if `keep_slash`).
fn percent_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The last `n` lines of `bytes`, lossily decoded.
fn tail_lines(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Whether a PostgreSQL server answers at `url` within 2 seconds. A server that answers with
/// an error (authentication failed, unknown database or role...) counts as answering; refused
/// connections, missing sockets, timeouts and unparsable URLs do not.
pub async fn server_answers(url: &str) -> bool {
    let mut config: tokio_postgres::Config = match url.parse() {
        Ok(config) => config,
        Err(err) => {
            debug!(%err, "server_answers: invalid URL");
            return false;
        }
    };
    config.connect_timeout(ANSWER_TIMEOUT);
    let attempt = tokio::time::timeout(
        ANSWER_TIMEOUT + Duration::from_millis(500),
        config.connect(tokio_postgres::NoTls),
    )
    .await;
    match attempt {
        Err(_) => {
            debug!("server_answers: timed out");
            false
        }
        Ok(Ok((client, connection))) => {
            // Closing the client makes the connection send Terminate and finish.
            drop(client);
            let _ = tokio::time::timeout(Duration::from_secs(1), connection).await;
            true
        }
        Ok(Err(err)) => {
            let answered = error_means_answer(&err);
            debug!(%err, answered, "server_answers: connection error");
            answered
        }
    }
}

/// An error response from the server means it answers; an I/O error underneath means nothing
/// (usable) is listening.
fn error_means_answer(err: &tokio_postgres::Error) -> bool {
    if err.as_db_error().is_some() {
        return true;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return false;
        }
        source = cause.source();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(socket_dir: &str) -> EmbeddedPostgres {
        EmbeddedPostgres {
            bin_dir: PathBuf::from("/usr/lib/postgresql/15/bin"),
            base_dir: PathBuf::from("/var/lib/sipas"),
            data_dir: PathBuf::from("/var/lib/sipas/pgdata"),
            socket_dir: PathBuf::from(socket_dir),
            short_socket_dir: false,
            port: PORT,
            run_as_postgres: false,
            stopped: true,
        }
    }

    #[test]
    fn database_url_is_a_unix_socket_url_for_tokio_postgres() {
        let pg = instance("/var/lib/sipas/socket");
        let url = pg.database_url("sipas");
        assert_eq!(
            url,
            "postgresql:///sipas?host=/var/lib/sipas/socket&port=5432&user=postgres"
        );
        let config: tokio_postgres::Config = url.parse().unwrap();
        assert_eq!(
            config.get_hosts(),
            [tokio_postgres::config::Host::Unix(PathBuf::from(
                "/var/lib/sipas/socket"
            ))]
        );
        assert_eq!(config.get_ports(), [5432]);
        assert_eq!(config.get_user(), Some("postgres"));
        assert_eq!(config.get_dbname(), Some("sipas"));
        // The url crate accepts it too (used to inspect DATABASE_URL values).
        let parsed = url::Url::parse(&url).unwrap();
        assert_eq!(parsed.path(), "/sipas");
    }

    #[test]
    fn database_url_percent_encodes() {
        let pg = instance("/tmp/odd dir/a&b=c?%");
        let url = pg.database_url("db name/ä?");
        assert_eq!(
            url,
            "postgresql:///db%20name%2F%C3%A4%3F?host=/tmp/odd%20dir/a%26b%3Dc%3F%25&port=5432&user=postgres"
        );
        let config: tokio_postgres::Config = url.parse().unwrap();
        assert_eq!(
            config.get_hosts(),
            [tokio_postgres::config::Host::Unix(PathBuf::from(
                "/tmp/odd dir/a&b=c?%"
            ))]
        );
        assert_eq!(config.get_dbname(), Some("db name/ä?"));
    }

    #[test]
    fn socket_dir_prefers_the_base_dir() {
        let (dir, short) = socket_dir_for(Path::new("/var/lib/sipas"), PORT);
        assert_eq!(dir, Path::new("/var/lib/sipas/socket"));
        assert!(!short);
    }

    #[test]
    fn socket_dir_falls_back_for_long_paths() {
        // "/" + 85 chars + "/socket" = 93 bytes, + "/.s.PGSQL.5432" (14) = 107: still fits.
        let base = format!("/{}", "a".repeat(85));
        let (dir, short) = socket_dir_for(Path::new(&base), PORT);
        assert!(!short, "{}", dir.display());
        let base = format!("/{}", "a".repeat(86));
        let (dir, short) = socket_dir_for(Path::new(&base), PORT);
        assert!(short);
        assert!(dir.starts_with("/tmp"));
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(SHORT_SOCKET_PREFIX));
        assert!(dir.join(socket_file_name(PORT)).as_os_str().len() <= MAX_SOCKET_PATH_LEN);
        // Deterministic, and different for different bases.
        assert_eq!(socket_dir_for(Path::new(&base), PORT).0, dir);
        let other = format!("/{}", "b".repeat(86));
        assert_ne!(socket_dir_for(Path::new(&other), PORT).0, dir);
    }

    #[test]
    fn socket_dir_falls_back_for_awkward_characters() {
        for base in ["/srv/my data", "/srv/a,b", "/srv/quote'd", "/srv/dữ liệu"] {
            let (dir, short) = socket_dir_for(Path::new(base), PORT);
            assert!(short, "{base}");
            assert!(socket_dir_usable(&dir, PORT), "{}", dir.display());
        }
    }

    #[test]
    fn fnv_hash_is_stable() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn versions_order_numerically() {
        assert_eq!(parse_version("15"), Some(vec![15]));
        assert_eq!(parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(parse_version("16beta1"), None);
        assert_eq!(parse_version(""), None);
        assert!(parse_version("10") > parse_version("9.6"));
    }

    #[test]
    fn server_options_quote_for_the_shell() {
        assert_eq!(
            server_options(Path::new("/var/lib/sipas/socket"), 5432),
            "-c listen_addresses='' -k '/var/lib/sipas/socket' -p 5432"
        );
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn pg_ctl_paths_reject_shell_specials() {
        assert!(check_pg_ctl_path(Path::new("/var/lib/sipas data/ok")).is_ok());
        for bad in ["/a\"b", "/a$b", "/a`b", "/a\\b"] {
            assert!(matches!(
                check_pg_ctl_path(Path::new(bad)),
                Err(EmbeddedError::UnsupportedPath { .. })
            ));
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(parse_id_output("101\n"), Some(101));
        assert_eq!(parse_id_output("id: 'x': no such user"), None);
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(tail_lines(b"1\n2\n3\n4\n", 2), "3\n4");
        assert_eq!(tail_lines(b"1\n", 5), "1");
        assert_eq!(tail_lines(b"", 5), "");
    }

    #[test]
    fn command_line_uses_runuser_as_root() {
        let mut pg = instance("/s");
        assert_eq!(
            pg.command_line("pg_ctl"),
            ("/usr/lib/postgresql/15/bin/pg_ctl".into(), vec![])
        );
        pg.run_as_postgres = true;
        let (program, args) = pg.command_line("pg_ctl");
        assert_eq!(program, "runuser");
        assert_eq!(
            args,
            ["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl"]
        );
    }

    #[test]
    fn not_found_message_is_one_sentence() {
        let message = EmbeddedError::NotFound.to_string();
        assert!(message.starts_with("no PostgreSQL found: "));
        assert!(message.contains("DATABASE_URL"));
        assert!(!message.contains('\n'));
    }

    #[tokio::test]
    async fn nothing_answers_on_a_missing_socket() {
        let url = "postgresql:///postgres?host=/nonexistent-sipas-socket-dir&user=postgres";
        assert!(!server_answers(url).await);
        assert!(!server_answers("not a url").await);
    }
}
