//! Nothing lost: a citizen's validated response that cannot reach the database (connection
//! refused, pool timeout, broken connection) is appended to a durable local spool and fsynced
//! before the thank-you page is sent; a background task replays the spool into the database,
//! through [`crate::db::responses::store`], once the database answers again.
//!
//! Exactly once: every entry carries the response's submission key, and `store` stores a key at
//! most once (a replay interrupted half-way, or a response whose commit was in fact received
//! before the connection broke, replays as "already stored"). Crash safety:
//!
//! * appends go to `current.jsonl`, one line per response: `{checksum}\t{json}\n`, where the
//!   checksum is the first 8 bytes of the SHA-256 of the JSON, in hex; each append is followed by
//!   `fdatasync`, and the directory is fsynced when a file is created or renamed;
//! * a replay first seals `current.jsonl` by renaming it to `replay-{time}.jsonl` (new appends go
//!   to a fresh file), replays every sealed file line by line, each response in its own
//!   transaction, and deletes a file only after all its rows are committed;
//! * a line without its newline at the end of a file (the process died mid-append) or whose
//!   checksum does not match is copied to `damaged-{file}` and skipped: it never stops the
//!   replay of the other lines; an entry the database refuses for a reason other than an outage
//!   (say, its desk was deleted) is kept in `rejected-{file}` with the error, never dropped;
//! * at start-up, a `current.jsonl` left by a previous process is sealed first, so that a torn
//!   last line is never glued to the next append.
//!
//! The spool is per instance: each instance must have its own directory (`SIPAS_SPOOL_DIR`,
//! default `{SIPAS_DATA_DIR}/spool`); instances behind one proxy must not share one.
//!
//! While the database is down, the desk a citizen's QR code names is taken as last seen
//! (`crate::desk_directory`).

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Error;
use crate::background::Background;
use crate::db::responses::{self, NewResponse, Stored};
use crate::db::{self, DatabaseIdentity, Pool};

/// The file appends go to.
pub const CURRENT_FILE: &str = "current.jsonl";
const REPLAY_PREFIX: &str = "replay-";
const DAMAGED_PREFIX: &str = "damaged-";
const REJECTED_PREFIX: &str = "rejected-";
const FOREIGN_PREFIX: &str = "foreign-";
/// The file a live process holds locked (`flock`) while it owns the directory; it names the
/// process.
pub const LOCK_FILE: &str = "spool.lock";
/// Default cap on the spool's size: beyond it, citizens get the 503 page rather than a disk
/// filled by a flood of submissions during an outage.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;
pub use crate::domain::limits::STORE_TIMEOUT;
/// How long an outage, once seen, sends responses straight to the spool (a circuit breaker: a
/// database behind a black-holed network would otherwise cost every citizen the pool's
/// timeouts). Short, so that the database is tried again within a second.
pub const OUTAGE_MEMORY: Duration = Duration::from_secs(1);
/// Spooled responses replayed per transaction.
pub const REPLAY_BATCH: usize = 200;
/// The longest one batch of a replay may take before the replay stops (and tries again later).
pub const REPLAY_BATCH_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the replay task looks at the spool.
pub const REPLAY_INTERVAL: Duration = Duration::from_secs(2);

/// One spooled response: everything [`responses::store`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpooledResponse {
    pub submission_key: Uuid,
    pub unit_id: i32,
    pub desk_id: Option<i32>,
    pub desk_code: Option<String>,
    pub form_version_id: i32,
    pub channel: String,
    pub answers: Vec<Option<i16>>,
    /// When the citizen submitted it (stored as the response's `submitted_at`, not the time of
    /// the replay).
    pub submitted_at: DateTime<Utc>,
    /// `(form_items.id, text)`.
    pub texts: Vec<(i32, String)>,
    /// As in [`NewResponse`] (absent from lines written before these existed).
    #[serde(default)]
    pub client_key: Option<Vec<u8>>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub visit_code_id: Option<i64>,
    #[serde(default)]
    pub via: Option<String>,
    /// The place of residence, as in [`NewResponse`] (absent from older lines: none).
    #[serde(default)]
    pub residence_unit_id: Option<i32>,
    #[serde(default)]
    pub residence_code: Option<i16>,
    /// The database the response belongs to: stamped by [`Spool::append`] with the identity of
    /// the database the instance started on. A replay stores an entry only into that database;
    /// any other entry (and one written before entries carried it) is kept aside.
    #[serde(default)]
    pub database: Option<DatabaseIdentity>,
}

impl SpooledResponse {
    /// Exactly what [`responses::store`] would be given, submitted now when `new` says nothing
    /// else (staff-entered rows are never spooled: staff see the 503 page and try again).
    pub fn from_new(new: &NewResponse<'_>, texts: &[(i32, &str)]) -> Self {
        SpooledResponse {
            submission_key: new.submission_key,
            unit_id: new.unit_id,
            desk_id: new.desk_id,
            desk_code: new.desk_code.map(str::to_string),
            form_version_id: new.form_version_id,
            channel: new.channel.to_string(),
            answers: new.answers.to_vec(),
            submitted_at: new.submitted_at.unwrap_or_else(Utc::now),
            // Masked already, so that the spool file holds no personal data either (the store
            // masks again, which changes nothing).
            texts: texts
                .iter()
                .map(|(id, t)| (*id, crate::privacy::mask(t).into_owned()))
                .collect(),
            client_key: new.client_key.map(<[u8]>::to_vec),
            started_at: new.started_at,
            visit_code_id: new.visit_code_id,
            via: new.via.map(str::to_string),
            residence_unit_id: new.residence_unit_id,
            residence_code: new.residence_code,
            database: None,
        }
    }

    /// Stores it (idempotent on the submission key).
    pub async fn store(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
    ) -> diesel::QueryResult<Stored> {
        let texts: Vec<(i32, &str)> = self
            .texts
            .iter()
            .map(|(id, text)| (*id, text.as_str()))
            .collect();
        responses::store(
            conn,
            &NewResponse {
                submission_key: self.submission_key,
                unit_id: self.unit_id,
                desk_id: self.desk_id,
                desk_code: self.desk_code.as_deref(),
                form_version_id: self.form_version_id,
                channel: &self.channel,
                answers: &self.answers,
                submitted_at: Some(self.submitted_at),
                entered_by: None,
                entered_at: None,
                paper_serial: None,
                client_key: self.client_key.as_deref(),
                started_at: self.started_at,
                visit_code_id: self.visit_code_id,
                // A spool file holds masked text only: no original outlives the outage.
                keep_original_texts: false,
                via: self.via.as_deref(),
                residence_unit_id: self.residence_unit_id,
                residence_code: self.residence_code,
            },
            &texts,
        )
        .await
    }
}

/// The checksum written before each line's JSON.
fn checksum(json: &[u8]) -> String {
    hex::encode(&Sha256::digest(json)[..8])
}

/// One spool line, newline included.
pub fn encode_line(entry: &SpooledResponse) -> Vec<u8> {
    let json = serde_json::to_vec(entry).expect("a spooled response serialises");
    let mut line = Vec::with_capacity(json.len() + 18);
    line.extend_from_slice(checksum(&json).as_bytes());
    line.push(b'\t');
    line.extend_from_slice(&json);
    line.push(b'\n');
    line
}

/// What a spool file holds.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub entries: Vec<SpooledResponse>,
    /// Lines that are torn (no newline at the end of the file) or fail their checksum or do not
    /// parse, as they are in the file (without their newline).
    pub damaged: Vec<Vec<u8>>,
}

/// Reads a spool file's bytes. Never fails: a bad line is set aside, the others are read.
pub fn parse_file(bytes: &[u8]) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            // The last line lacks its newline: the append was cut off.
            parsed.damaged.push(rest.to_vec());
            break;
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Some(entry) => parsed.entries.push(entry),
            None => parsed.damaged.push(line.to_vec()),
        }
    }
    parsed
}

fn parse_line(line: &[u8]) -> Option<SpooledResponse> {
    let tab = line.iter().position(|b| *b == b'\t')?;
    let (sum, json) = (&line[..tab], &line[tab + 1..]);
    if sum != checksum(json).as_bytes() {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// Size of what waits in the spool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    entries: u64,
    bytes: u64,
    oldest: Option<DateTime<Utc>>,
}

impl Counts {
    fn add(&mut self, bytes: u64, submitted_at: DateTime<Utc>) {
        self.entries += 1;
        self.bytes += bytes;
        self.oldest = Some(self.oldest.map_or(submitted_at, |o| o.min(submitted_at)));
    }

    fn of(parsed: &ParsedFile, bytes: u64) -> Self {
        Counts {
            entries: parsed.entries.len() as u64,
            bytes,
            oldest: parsed.entries.iter().map(|e| e.submitted_at).min(),
        }
    }
}

/// The spool's state as shown on `/healthz` and the admin dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpoolStatus {
    /// Responses waiting to be replayed.
    pub entries: u64,
    /// Bytes they take.
    pub bytes: u64,
    /// When the oldest of them was submitted.
    pub oldest: Option<DateTime<Utc>>,
    /// Whether a new response can be spooled now (the directory is writable and not full).
    pub accepting: bool,
    /// Responses replayed into the database by this process.
    pub replayed: u64,
    /// Lines set aside as damaged (torn or failing their checksum), in `damaged-*` files.
    pub damaged: u64,
    /// Entries the database refused for a reason other than an outage, in `rejected-*` files.
    pub rejected: u64,
    /// Entries that belong to another database (another installation wrote them, or an older
    /// version without the database's identity), kept aside in `foreign-*` files, never
    /// replayed here.
    pub foreign: u64,
}

struct Sealed {
    path: PathBuf,
    counts: Counts,
}

struct Inner {
    /// The open `current.jsonl`, if any.
    current: Option<File>,
    current_counts: Counts,
    sealed: Vec<Sealed>,
    /// The last append failed (disk full, read-only...): shown as not accepting until one works.
    failing: bool,
    sequence: u64,
}

/// The spool of this instance (see the module documentation).
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// The database this instance started on: every entry appended is stamped with it.
    identity: DatabaseIdentity,
    /// The open lock file, locked exclusively for as long as the spool lives.
    _lock: File,
    inner: Mutex<Inner>,
    /// Serialises replays (the task, and tests calling [`Spool::replay`]).
    replaying: tokio::sync::Mutex<()>,
    replayed: AtomicU64,
    damaged: AtomicU64,
    rejected: AtomicU64,
    foreign: AtomicU64,
    /// When an outage was last seen (milliseconds since the Unix epoch; 0: never).
    outage_seen_at: AtomicU64,
}

/// Why a response could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool is full ({bytes} bytes, at most {max})")]
    Full { bytes: u64, max: u64 },
    /// Another live process holds the directory (two instances must never share a spool).
    #[error(
        "SIPAS_SPOOL_DIR {dir} đang được một tiến trình khác sử dụng ({holder}); mỗi phiên bản dịch vụ cần thư mục hàng đợi riêng. / The response spool directory SIPAS_SPOOL_DIR={dir} is held by another process ({holder}): every instance needs a spool directory of its own."
    )]
    Locked { dir: String, holder: String },
    #[error("writing the spool {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Count of lines (newline-terminated or not) in the files of `dir` starting with `prefix`.
fn count_lines(dir: &Path, prefix: &str) -> u64 {
    let Ok(read) = std::fs::read_dir(dir) else {
        return 0;
    };
    read.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .map(|bytes| {
            bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count() as u64
        })
        .sum()
}

impl Spool {
    /// Opens (creating it if needed) the spool directory of an instance of the database
    /// `identity`, and locks it for this process: a directory another live process holds is
    /// refused ([`SpoolError::Locked`]). A `current.jsonl` left by a previous process is sealed
    /// for replay; the sealed files are counted.
    pub fn open(
        dir: &Path,
        max_bytes: u64,
        identity: DatabaseIdentity,
    ) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        if let Some(parent) = dir.parent()
            && !parent.as_os_str().is_empty()
        {
            let _ = sync_dir(parent);
        }
        let lock = lock_dir(dir)?;
        let spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            identity,
            _lock: lock,
            inner: Mutex::new(Inner {
                current: None,
                current_counts: Counts::default(),
                sealed: Vec::new(),
                failing: false,
                sequence: 0,
            }),
            replaying: tokio::sync::Mutex::new(()),
            replayed: AtomicU64::new(0),
            damaged: AtomicU64::new(count_lines(dir, DAMAGED_PREFIX)),
            rejected: AtomicU64::new(count_lines(dir, REJECTED_PREFIX)),
            foreign: AtomicU64::new(count_lines(dir, FOREIGN_PREFIX)),
            outage_seen_at: AtomicU64::new(0),
        };
        {
            let mut inner = spool.inner.lock().unwrap_or_else(|e| e.into_inner());
            if dir.join(CURRENT_FILE).exists() {
                spool.seal(&mut inner)?;
            }
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(io_error(dir))?
                .filter_map(Result::ok)
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with(REPLAY_PREFIX) && name.ends_with(".jsonl")
                })
                .map(|e| e.path())
                .collect();
            files.sort();
            inner.sealed.clear();
            for path in files {
                let bytes = std::fs::read(&path).map_err(io_error(&path))?;
                let counts = Counts::of(&parse_file(&bytes), bytes.len() as u64);
                inner.sealed.push(Sealed { path, counts });
            }
        }
        let status = spool.status();
        if status.entries > 0 {
            tracing::warn!(
                dir = %dir.display(),
                entries = status.entries,
                "the response spool holds responses from before this start: they will be replayed when the database answers"
            );
        }
        Ok(spool)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database this spool's entries belong to.
    pub fn identity(&self) -> &DatabaseIdentity {
        &self.identity
    }

    /// Renames `current.jsonl` to a new `replay-*.jsonl` (the caller holds the lock).
    fn seal(&self, inner: &mut Inner) -> Result<(), SpoolError> {
        let current = self.dir.join(CURRENT_FILE);
        inner.current = None;
        if !current.exists() {
            inner.current_counts = Counts::default();
            return Ok(());
        }
        inner.sequence += 1;
        let name = format!(
            "{REPLAY_PREFIX}{:020}-{:06}.jsonl",
            Utc::now().timestamp_nanos_opt().unwrap_or_default(),
            inner.sequence
        );
        let sealed = self.dir.join(name);
        std::fs::rename(&current, &sealed).map_err(io_error(&current))?;
        sync_dir(&self.dir).map_err(io_error(&self.dir))?;
        let counts = std::mem::take(&mut inner.current_counts);
        inner.sealed.push(Sealed {
            path: sealed,
            counts,
        });
        Ok(())
    }

    fn total(inner: &Inner) -> Counts {
        let mut total = inner.current_counts;
        for sealed in &inner.sealed {
            total.entries += sealed.counts.entries;
            total.bytes += sealed.counts.bytes;
            total.oldest = match (total.oldest, sealed.counts.oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        total
    }

    /// Appends `entry` and makes it durable (blocking: call from a blocking thread).
    /// An entry that names no database is stamped with this spool's ([`Spool::identity`]).
    pub fn append_blocking(&self, entry: &SpooledResponse) -> Result<(), SpoolError> {
        let line = if entry.database.is_some() {
            encode_line(entry)
        } else {
            encode_line(&SpooledResponse {
                database: Some(self.identity.clone()),
                ..entry.clone()
            })
        };
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let total = Self::total(&inner);
        if total.bytes + line.len() as u64 > self.max_bytes {
            return Err(SpoolError::Full {
                bytes: total.bytes,
                max: self.max_bytes,
            });
        }
        let path = self.dir.join(CURRENT_FILE);
        let result = (|| -> std::io::Result<()> {
            if inner.current.is_none() {
                let file = OpenOptions::new().create(true).append(true).open(&path)?;
                // The new file's name must survive a crash too.
                sync_dir(&self.dir)?;
                inner.current = Some(file);
            }
            let file = inner.current.as_mut().expect("opened above");
            file.write_all(&line)?;
            file.sync_data()
        })();
        match result {
            Ok(()) => {
                inner
                    .current_counts
                    .add(line.len() as u64, entry.submitted_at);
                inner.failing = false;
                Ok(())
            }
            Err(source) => {
                inner.failing = true;
                // A partial line may be at the end of the file: seal it there, so that the next
                // append starts a clean file (the replay sets the torn line aside).
                if let Err(e) = self.seal(&mut inner) {
                    tracing::error!("sealing the spool after a failed append: {e}");
                }
                Err(SpoolError::Io { path, source })
            }
        }
    }

    /// Appends `entry` durably, on the blocking pool.
    pub async fn append(self: &Arc<Self>, mut entry: SpooledResponse) -> Result<(), SpoolError> {
        entry.database.get_or_insert_with(|| self.identity.clone());
        let spool = Arc::clone(self);
        tokio::task::spawn_blocking(move || spool.append_blocking(&entry))
            .await
            .unwrap_or_else(|e| {
                Err(SpoolError::Io {
                    path: PathBuf::new(),
                    source: std::io::Error::other(e.to_string()),
                })
            })
    }

    /// What waits, and whether new responses can be spooled.
    pub fn status(&self) -> SpoolStatus {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let total = Self::total(&inner);
        SpoolStatus {
            entries: total.entries,
            bytes: total.bytes,
            oldest: total.oldest,
            accepting: !inner.failing && total.bytes < self.max_bytes,
            replayed: self.replayed.load(Ordering::Relaxed),
            damaged: self.damaged.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            foreign: self.foreign.load(Ordering::Relaxed),
        }
    }

    /// Whether anything waits to be replayed.
    pub fn is_empty(&self) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.current_counts.entries == 0
            && inner.sealed.is_empty()
            && !self.dir.join(CURRENT_FILE).exists()
    }

    /// Replays every spooled response into the database. Stops at the first sign of an outage
    /// (what is not yet replayed stays, and replays again later: stored keys are skipped).
    pub async fn replay(&self, pool: &Pool) -> ReplayReport {
        let _one = self.replaying.lock().await;
        let mut report = ReplayReport::default();
        // Nothing is sealed while the database does not answer (no file per attempt).
        let mut conn = match pool.get().await {
            Ok(conn) => conn,
            Err(e) => {
                report.interrupted = Some(e.to_string());
                return report;
            }
        };
        // The database the pool reaches now: entries of any other are kept aside.
        let here = match db::identity(&mut conn).await {
            Ok(identity) => identity,
            Err(e) => {
                report.interrupted = Some(e.to_string());
                return report;
            }
        };
        let files: Vec<PathBuf> = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = self.seal(&mut inner) {
                tracing::error!("sealing the spool for replay: {e}");
                report.interrupted = Some(e.to_string());
                return report;
            }
            inner.sealed.iter().map(|s| s.path.clone()).collect()
        };
        for path in files {
            match self.replay_file(&mut conn, &here, &path, &mut report).await {
                Ok(()) => {}
                Err(e) => {
                    report.interrupted = Some(e);
                    break;
                }
            }
        }
        if report.stored + report.already_stored > 0 {
            tracing::info!(
                stored = report.stored,
                already_stored = report.already_stored,
                damaged = report.damaged,
                rejected = report.rejected,
                foreign = report.foreign,
                "replayed spooled responses into the database"
            );
        }
        report
    }

    async fn replay_file(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        here: &DatabaseIdentity,
        path: &Path,
        report: &mut ReplayReport,
    ) -> Result<(), String> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let mut parsed = parse_file(&bytes);
        // Never into the wrong database: an entry of another database (or of a version that
        // did not say which) is kept aside, as it was written.
        let (ours, foreign): (Vec<SpooledResponse>, Vec<SpooledResponse>) =
            std::mem::take(&mut parsed.entries)
                .into_iter()
                .partition(|entry| entry.database.as_ref() == Some(here));
        parsed.entries = ours;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut rejected: Vec<serde_json::Value> = Vec::new();
        // Batches of responses in one transaction (each response in a savepoint of its own, so
        // that a refused one does not undo the others): one commit per batch, not per response.
        for batch in parsed.entries.chunks(REPLAY_BATCH) {
            let stored = conn.transaction::<_, diesel::result::Error, _>(async |conn| {
                // No statement timeout here: a statement it cancelled would look like a
                // refusal (its message is in the server's language, its session survives), and
                // a refused entry is set aside. The batch as a whole is bounded below instead.
                diesel_async::RunQueryDsl::execute(
                    diesel::sql_query("SET LOCAL statement_timeout = 0"),
                    &mut *conn,
                )
                .await?;
                let mut outcomes = Vec::with_capacity(batch.len());
                for entry in batch {
                    match entry.store(conn).await {
                        Ok(stored) => outcomes.push(Ok(stored.new)),
                        // The session is gone (whatever the server said, in whatever language):
                        // nothing of the batch is committed, it is replayed again later.
                        Err(e) if db::failed_for_outage(conn, &e).await => return Err(e),
                        Err(e) => outcomes.push(Err(e.to_string())),
                    }
                }
                Ok(outcomes)
            });
            // Cut short, the connection is left in its transaction: the caller stops and drops
            // it, and the pool discards it (a connection in a transaction is broken to it).
            let outcomes = tokio::time::timeout(REPLAY_BATCH_TIMEOUT, stored)
                .await
                .map_err(|_| format!("a replay batch took longer than {REPLAY_BATCH_TIMEOUT:?}"))?
                .map_err(|e| e.to_string())?;
            // Committed.
            for (entry, outcome) in batch.iter().zip(outcomes) {
                match outcome {
                    Ok(true) => report.stored += 1,
                    Ok(false) => report.already_stored += 1,
                    Err(e) => {
                        tracing::error!(
                            submission_key = %entry.submission_key,
                            "the database refused a spooled response; it is kept in the spool directory: {e}"
                        );
                        rejected.push(serde_json::json!({
                            "error": e,
                            "response": entry,
                        }));
                    }
                }
            }
        }
        // Everything is committed: keep aside what could not be stored, then remove the file.
        let dir = self.dir.clone();
        let damaged = parsed.damaged;
        let kept = (damaged.len() as u64, rejected.len() as u64);
        let foreign_count = foreign.len() as u64;
        let foreign_databases: Vec<String> = {
            let mut names: Vec<String> = foreign
                .iter()
                .map(|e| {
                    e.database
                        .as_ref()
                        .map_or_else(|| "unknown".into(), |d| d.to_string())
                })
                .collect();
            names.sort();
            names.dedup();
            names
        };
        let path_owned = path.to_path_buf();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if !damaged.is_empty() {
                let mut out = Vec::new();
                for line in &damaged {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
                write_durably(&dir.join(format!("{DAMAGED_PREFIX}{name}")), &out)?;
            }
            if !rejected.is_empty() {
                let mut out = Vec::new();
                for value in &rejected {
                    out.extend_from_slice(value.to_string().as_bytes());
                    out.push(b'\n');
                }
                write_durably(&dir.join(format!("{REJECTED_PREFIX}{name}")), &out)?;
            }
            if !foreign.is_empty() {
                let out: Vec<u8> = foreign.iter().flat_map(encode_line).collect();
                write_durably(&dir.join(format!("{FOREIGN_PREFIX}{name}")), &out)?;
            }
            std::fs::remove_file(&path_owned)?;
            sync_dir(&dir)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("clearing {}: {e}", path.display()))?;
        if kept.0 > 0 {
            tracing::error!(
                lines = kept.0,
                file = %path.display(),
                "damaged spool lines (torn by a crash or corrupted) were set aside"
            );
        }
        if foreign_count > 0 {
            tracing::error!(
                entries = foreign_count,
                belongs_to = ?foreign_databases,
                this_database = %here,
                file = %path.display(),
                "spooled responses of another database were kept aside (foreign-*), not stored here: give them to the instance of their database"
            );
        }
        self.foreign.fetch_add(foreign_count, Ordering::Relaxed);
        report.foreign += foreign_count;
        self.damaged.fetch_add(kept.0, Ordering::Relaxed);
        self.rejected.fetch_add(kept.1, Ordering::Relaxed);
        report.damaged += kept.0;
        report.rejected += kept.1;
        self.replayed
            .fetch_add(parsed.entries.len() as u64 - kept.1, Ordering::Relaxed);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.sealed.retain(|s| s.path != path);
        Ok(())
    }

    /// Notes that the database was just found unreachable.
    pub fn note_outage(&self) {
        let now = Utc::now().timestamp_millis().max(0) as u64;
        self.outage_seen_at.store(now, Ordering::Relaxed);
    }

    /// Whether the database was found unreachable within [`OUTAGE_MEMORY`]: citizens'
    /// responses then go straight to the spool instead of each waiting for the pool's timeouts.
    pub fn outage_is_recent(&self) -> bool {
        let seen = self.outage_seen_at.load(Ordering::Relaxed);
        let now = Utc::now().timestamp_millis().max(0) as u64;
        seen > 0 && now.saturating_sub(seen) < OUTAGE_MEMORY.as_millis() as u64
    }
}

/// Locks `dir` for this process: an exclusive `flock` on its [`LOCK_FILE`] (released by the
/// kernel when the process ends, however it ends), which then names the process.
fn lock_dir(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path)
                .ok()
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| "unknown process".to_string());
            return Err(SpoolError::Locked {
                dir: dir.display().to_string(),
                holder,
            });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(SpoolError::Io { path, source }),
    }
    let holder = format!(
        "pid {} on {}",
        std::process::id(),
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    );
    let written = (|| -> std::io::Result<()> {
        file.set_len(0)?;
        file.write_all(holder.as_bytes())?;
        file.sync_data()
    })();
    written.map_err(io_error(&path))?;
    Ok(file)
}

/// Who holds `dir` now: the process named in its [`LOCK_FILE`] when a live process holds the
/// lock, `None` when no one does (no lock file, or a lock file no one holds). Takes the lock
/// for an instant when it is free; creates nothing (for `sipas doctor`).
pub fn holder(dir: &Path) -> std::io::Result<Option<String>> {
    let path = dir.join(LOCK_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {
            file.unlock()?;
            Ok(None)
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(Some(
            std::fs::read_to_string(&path)
                .ok()
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| "unknown process".to_string()),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// What one replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Responses stored now.
    pub stored: u64,
    /// Responses whose submission key was already stored (replayed before, or the original
    /// commit had gone through after all).
    pub already_stored: u64,
    pub damaged: u64,
    pub rejected: u64,
    /// Entries of another database, kept aside in `foreign-*` files.
    pub foreign: u64,
    /// Why the replay stopped early (the database is still unreachable).
    pub interrupted: Option<String>,
}

/// A citizen's validated response, accepted: stored, or spooled for later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// When the response counts as submitted (shown on the thank-you page).
    pub submitted_at: DateTime<Utc>,
    /// The stored row; `None` when the response was spooled.
    pub stored: Option<Stored>,
}

/// Runs `store` (the citizen's store of a validated response); when it fails because the
/// database is unreachable (or takes longer than [`STORE_TIMEOUT`]), appends `entry` to the
/// spool instead. Any other error (a constraint, a bug) is returned as it is: only an outage
/// is a reason to spool. A refusal `R` the database gave (a used code, a limit) is a value,
/// passed back as it is: nothing is spooled for it.
pub async fn store_or_spool<F, R>(
    spool: &Arc<Spool>,
    entry: impl FnOnce() -> Result<SpooledResponse, Error>,
    store: F,
) -> Result<Result<Accepted, R>, Error>
where
    F: Future<Output = Result<Result<Stored, R>, Error>>,
{
    let outcome = if spool.outage_is_recent() {
        Err(Error::Unavailable(anyhow::anyhow!(
            "the database was unreachable less than {OUTAGE_MEMORY:?} ago"
        )))
    } else {
        match tokio::time::timeout(STORE_TIMEOUT, store).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Unavailable(anyhow::anyhow!(
                "storing a response took longer than {STORE_TIMEOUT:?}"
            ))),
        }
    };
    if matches!(outcome, Err(Error::Unavailable(_))) {
        spool.note_outage();
    }
    match outcome {
        Ok(Err(refusal)) => Ok(Err(refusal)),
        Ok(Ok(stored)) => Ok(Ok(Accepted {
            submitted_at: stored.submitted_at,
            stored: Some(stored),
        })),
        Err(Error::Unavailable(cause)) => {
            let entry = entry()?;
            let submitted_at = entry.submitted_at;
            let key = entry.submission_key;
            match spool.append(entry).await {
                Ok(()) => {
                    tracing::warn!(
                        submission_key = %key,
                        cause = format!("{cause:#}"),
                        "the database is unreachable: the response was spooled"
                    );
                    Ok(Ok(Accepted {
                        submitted_at,
                        stored: None,
                    }))
                }
                Err(e) => Err(Error::Unavailable(cause.context(e.to_string()))),
            }
        }
        Err(other) => Err(other),
    }
}

/// The background task that replays the spool when the database answers. Stops with the
/// server; aborted if dropped.
pub struct ReplayTask(Background);

impl ReplayTask {
    /// Each replay's outcome is counted in `metrics`.
    pub fn start(
        spool: Arc<Spool>,
        pool: Pool,
        every: Duration,
        metrics: crate::metrics::Metrics,
    ) -> Self {
        ReplayTask(Background::spawn(|mut stopped| async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = interval.tick() => {}
                }
                let round = async {
                    if !spool.is_empty() {
                        let report = spool.replay(&pool).await;
                        metrics.replay(&report);
                        if let Some(why) = report.interrupted {
                            tracing::debug!("the spool waits for the database: {why}");
                        }
                    }
                };
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = round => {}
                }
            }
        }))
    }

    /// Stops the loop (a replay in progress is cut between two committed responses at worst:
    /// what is not yet replayed stays in the spool).
    pub async fn stop(self) {
        self.0.stop(Duration::from_secs(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8) -> SpooledResponse {
        SpooledResponse {
            submission_key: Uuid::from_bytes([n; 16]),
            unit_id: 7,
            desk_id: Some(3),
            desk_code: Some("abcd1234".into()),
            form_version_id: 2,
            channel: "qr".into(),
            answers: vec![Some(5), None, Some(0)],
            submitted_at: DateTime::from_timestamp(1_790_000_000 + i64::from(n), 0).unwrap(),
            texts: vec![(11, "Cán bộ\tnhiệt tình\nchu đáo".into())],
            client_key: Some(vec![0, 255, 10, 9]),
            started_at: None,
            visit_code_id: None,
            via: Some("desk".into()),
            residence_unit_id: None,
            residence_code: Some(-1),
            database: Some(identity()),
        }
    }

    fn identity() -> DatabaseIdentity {
        DatabaseIdentity {
            system_identifier: 7_412_345_678_901_234_567,
            database: "sipas".into(),
        }
    }

    #[test]
    fn a_spooled_entry_holds_no_personal_data() {
        let new = NewResponse {
            submission_key: Uuid::from_bytes([9; 16]),
            unit_id: 7,
            desk_id: Some(3),
            desk_code: Some("abcd1234"),
            form_version_id: 2,
            channel: "qr",
            answers: &[Some(5)],
            submitted_at: None,
            entered_by: None,
            entered_at: None,
            paper_serial: None,
            client_key: None,
            started_at: None,
            visit_code_id: None,
            // Even when the office keeps originals, the spool file does not.
            keep_original_texts: true,
            via: Some("desk"),
            residence_unit_id: Some(12),
            residence_code: None,
        };
        let entry = SpooledResponse::from_new(&new, &[(11, "Gọi 0912 345 678, CCCD 079201001234")]);
        assert_eq!(
            entry.texts,
            vec![(11, "Gọi [số điện thoại], CCCD [số giấy tờ]".to_string())]
        );
        let line = String::from_utf8(encode_line(&entry)).unwrap();
        assert!(!line.contains("345 678") && !line.contains("079201001234"));
        // The place of residence travels with the entry (issue 19).
        assert_eq!(entry.residence_unit_id, Some(12));
        assert!(line.contains("\"residence_unit_id\":12"), "{line}");
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sipas-spool-{name}-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn lines_round_trip_and_torn_or_corrupt_lines_are_set_aside() {
        let mut bytes = Vec::new();
        bytes.extend(encode_line(&entry(1)));
        let mut corrupt = encode_line(&entry(2));
        // Flip one digit of an answer: the checksum no longer matches.
        let at = corrupt.windows(3).position(|w| w == b"[5,").unwrap() + 1;
        corrupt[at] = b'4';
        bytes.extend(&corrupt);
        bytes.extend(encode_line(&entry(3)));
        let torn = encode_line(&entry(4));
        bytes.extend(&torn[..torn.len() / 2]);
        let parsed = parse_file(&bytes);
        assert_eq!(parsed.entries, vec![entry(1), entry(3)]);
        assert_eq!(parsed.damaged.len(), 2);
        assert_eq!(parsed.damaged[1], torn[..torn.len() / 2].to_vec());
        // Every prefix of a file parses without panicking and never yields a wrong entry.
        let whole = [encode_line(&entry(5)), encode_line(&entry(6))].concat();
        for cut in 0..whole.len() {
            let parsed = parse_file(&whole[..cut]);
            for e in &parsed.entries {
                assert!(*e == entry(5) || *e == entry(6));
            }
        }
    }

    #[test]
    fn appends_are_counted_and_a_leftover_file_is_sealed_at_open() {
        let dir = temp_dir("open");
        let spool = Spool::open(&dir, DEFAULT_MAX_BYTES, identity()).unwrap();
        assert!(spool.is_empty());
        spool.append_blocking(&entry(2)).unwrap();
        spool.append_blocking(&entry(1)).unwrap();
        let status = spool.status();
        assert_eq!(status.entries, 2);
        assert_eq!(status.oldest, Some(entry(1).submitted_at));
        assert!(status.accepting);
        drop(spool);
        // A crash mid-append left half a line at the end.
        let torn = encode_line(&entry(3));
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.join(CURRENT_FILE))
            .unwrap();
        file.write_all(&torn[..10]).unwrap();
        drop(file);
        let spool = Spool::open(&dir, DEFAULT_MAX_BYTES, identity()).unwrap();
        assert!(!dir.join(CURRENT_FILE).exists());
        assert_eq!(spool.status().entries, 2);
        // The next append starts a clean file: it is not glued to the torn line.
        spool.append_blocking(&entry(4)).unwrap();
        let current = std::fs::read(dir.join(CURRENT_FILE)).unwrap();
        assert_eq!(parse_file(&current).entries, vec![entry(4)]);
        assert_eq!(spool.status().entries, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_outage_is_remembered_for_a_moment() {
        let dir = temp_dir("breaker");
        let spool = Spool::open(&dir, DEFAULT_MAX_BYTES, identity()).unwrap();
        assert!(!spool.outage_is_recent());
        spool.note_outage();
        assert!(spool.outage_is_recent());
        spool
            .outage_seen_at
            .store(1_000, std::sync::atomic::Ordering::Relaxed);
        assert!(!spool.outage_is_recent());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_spool_refuses_appends() {
        let dir = temp_dir("full");
        let one = encode_line(&entry(1)).len() as u64;
        let spool = Spool::open(&dir, one * 2, identity()).unwrap();
        spool.append_blocking(&entry(1)).unwrap();
        spool.append_blocking(&entry(2)).unwrap();
        assert!(matches!(
            spool.append_blocking(&entry(3)),
            Err(SpoolError::Full { .. })
        ));
        assert!(!spool.status().accepting);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_is_held_by_one_spool_at_a_time() {
        let dir = temp_dir("lock");
        assert_eq!(holder(&dir).unwrap(), None, "no lock file: no one");
        let spool = Spool::open(&dir, DEFAULT_MAX_BYTES, identity()).unwrap();
        let held = holder(&dir).unwrap().expect("held by the spool");
        assert!(
            held.starts_with(&format!("pid {} on ", std::process::id())),
            "{held}"
        );
        let Err(refused) = Spool::open(&dir, DEFAULT_MAX_BYTES, identity()) else {
            panic!("a second spool opened a held directory");
        };
        let message = refused.to_string();
        assert!(matches!(refused, SpoolError::Locked { .. }), "{message}");
        assert!(message.contains("SIPAS_SPOOL_DIR"), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(
            message.contains("đang được một tiến trình khác sử dụng"),
            "{message}"
        );
        // Nothing of the holder's was touched, and the directory is free once it is gone.
        spool.append_blocking(&entry(1)).unwrap();
        drop(spool);
        assert_eq!(holder(&dir).unwrap(), None, "a lock file no one holds");
        let again = Spool::open(&dir, DEFAULT_MAX_BYTES, identity()).unwrap();
        assert_eq!(again.status().entries, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn appended_entries_name_the_spool_s_database() {
        let dir = temp_dir("stamp");
        let spool = Spool::open(&dir, DEFAULT_MAX_BYTES, identity()).unwrap();
        let unnamed = SpooledResponse {
            database: None,
            ..entry(1)
        };
        let elsewhere = DatabaseIdentity {
            database: "other".into(),
            ..identity()
        };
        let other = SpooledResponse {
            database: Some(elsewhere.clone()),
            ..entry(2)
        };
        spool.append_blocking(&unnamed).unwrap();
        spool.append_blocking(&other).unwrap();
        let written = parse_file(&std::fs::read(dir.join(CURRENT_FILE)).unwrap()).entries;
        assert_eq!(written[0].database, Some(identity()));
        assert_eq!(written[1].database, Some(elsewhere));
        // A line written before entries named their database still reads (as naming none).
        let old = br#"{"submission_key":"00000000-0000-0000-0000-000000000001","unit_id":1,"desk_id":null,"desk_code":null,"form_version_id":1,"channel":"qr","answers":[5],"submitted_at":"2026-01-01T00:00:00Z","texts":[]}"#;
        let line = [checksum(old).as_bytes(), b"\t", old, b"\n"].concat();
        assert_eq!(parse_file(&line).entries[0].database, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_default_directory_is_the_database_s_own() {
        let config = crate::config::Config::from_lookup(|k| {
            (k == "SIPAS_DATA_DIR").then(|| "/srv/sipas".to_string())
        })
        .unwrap();
        let a = config.spool_dir_for(&identity());
        let b = config.spool_dir_for(&DatabaseIdentity {
            database: "sipas_thu/nghiem".into(),
            ..identity()
        });
        assert_eq!(
            a,
            PathBuf::from("/srv/sipas/spool/7412345678901234567-sipas")
        );
        assert_eq!(
            b,
            PathBuf::from("/srv/sipas/spool/7412345678901234567-sipas_thu_nghiem")
        );
        let explicit = crate::config::Config::from_lookup(|k| match k {
            "SIPAS_SPOOL_DIR" => Some("/var/spool/sipas".to_string()),
            "SIPAS_DATA_DIR" => Some("/srv/sipas".to_string()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            explicit.spool_dir_for(&identity()),
            PathBuf::from("/var/spool/sipas")
        );
    }
}
