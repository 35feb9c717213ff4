//! Export jobs from the web ("Xuất dữ liệu"): the background runner that turns queued rows of
//! `export_jobs` (see [`crate::db::exports`]) into files under `SIPAS_DATA_DIR/exports`.
//!
//! - Claiming: `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`, so several instances
//!   on one database each take different jobs. Each instance runs up to
//!   [`RunnerSettings::workers`] jobs at once.
//! - Threads: every job runs on the blocking pool (`spawn_blocking` + `Handle::block_on`),
//!   never on a server worker thread: [`export::write`] does synchronous CPU and disk work.
//!   The runner has its own small database pool, so a long export never takes a connection
//!   the web pages need.
//! - Progress and liveness: a heartbeat task writes the rows done (as reported by the export
//!   after each batch of a few thousand responses) and `heartbeat_at` every
//!   [`RunnerSettings::heartbeat_every`]. A running job whose heartbeat is older than
//!   [`RunnerSettings::stale_after`] belongs to a process that died: it goes back to the queue
//!   (after [`RunnerSettings::max_attempts`] attempts it fails instead). Each attempt is
//!   fenced by its number: an attempt that lost its job (requeued meanwhile) stops and changes
//!   nothing.
//! - Files: written to a hidden temporary name, synced and renamed to `{file_key}.{ext}`, so a
//!   download never sees a partial file. After `SIPAS_EXPORT_KEEP_DAYS` the file is deleted
//!   and the job marked expired. On failure the user sees a Vietnamese message, the cause
//!   goes to the log.
//! - Stopping: the runner stops claiming, running jobs are cut off and put back in the queue
//!   (without counting the attempt), for another instance or the next start.
//!
//! Several instances must share `SIPAS_DATA_DIR` (a shared volume) for every instance to serve
//! every file; an instance that cannot find a job's file answers 404.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use crate::config::Config;
use crate::db::exports::{self as db_exports, ExportJob};
use crate::db::{self, Pool};
use crate::domain::access::Scope;
use crate::forms::FormRegistry;
use crate::{ExportFormat, ExportSpec, SpecError, SpecRequest, UnitRef};

/// How long the web waits for a small export before sending the user to its progress page.
pub const INLINE_WAIT: Duration = Duration::from_secs(3);

/// Shown when an export fails for a reason of ours (the cause goes to the log).
pub const MSG_FAILED: &str = "Không tạo được tệp do lỗi của hệ thống. Vui lòng thử lại sau; \
     nếu lỗi lặp lại, xin báo quản trị viên (Phòng Nội vụ).";
/// Shown when a job stopped its process again and again.
pub const MSG_GAVE_UP: &str = "Việc xuất dữ liệu bị gián đoạn nhiều lần nên đã dừng. Vui lòng \
     thử xuất lại (chọn kỳ ngắn hơn hoặc ít đơn vị hơn nếu dữ liệu rất lớn); nếu lỗi lặp lại, \
     xin báo quản trị viên.";

/// How the runner works; [`RunnerSettings::from_config`] gives the service's.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Where files are written (`SIPAS_DATA_DIR/exports`).
    pub dir: PathBuf,
    /// How long a file stays downloadable.
    pub keep: Duration,
    /// The form of a request that names none.
    pub default_form: String,
    /// Jobs run at once by this instance.
    pub workers: usize,
    pub heartbeat_every: Duration,
    pub stale_after: Duration,
    pub max_attempts: i16,
    /// How often the queue is looked at when nothing wakes the runner (jobs queued by another
    /// instance).
    pub poll_every: Duration,
    /// How often stale jobs are recovered and expired files deleted.
    pub maintain_every: Duration,
    /// Where the jobs started, running and ended are counted (the server's; `None`: nowhere).
    pub metrics: Option<sipas_app::metrics::Metrics>,
}

impl RunnerSettings {
    pub fn from_config(config: &Config) -> Self {
        RunnerSettings {
            dir: config.export_dir(),
            keep: Duration::from_secs(u64::from(config.export_keep_days) * 24 * 3600),
            default_form: config.default_form.clone(),
            workers: 2,
            heartbeat_every: Duration::from_secs(1),
            stale_after: Duration::from_secs(120),
            max_attempts: 3,
            poll_every: Duration::from_secs(2),
            maintain_every: Duration::from_secs(60),
            metrics: None,
        }
    }
}

/// Wakes the runners of this process (a job was just queued).
static WAKE: Notify = Notify::const_new();
/// Wakes those waiting for a job of this process to finish.
static FINISHED: Notify = Notify::const_new();

/// Tells the runners of this process that a job is queued (other instances find it when they
/// next look at the queue).
pub fn wake() {
    WAKE.notify_waiters();
}

/// The job `id` once finished, or as it is after `within` (None if it does not exist). Takes a
/// connection from `pool` for each look only.
pub async fn wait_finished(
    pool: &Pool,
    id: i32,
    within: Duration,
) -> Result<Option<ExportJob>, crate::Error> {
    let deadline = Instant::now() + within;
    loop {
        let finished = FINISHED.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        let job = {
            let mut conn = pool.get().await?;
            db_exports::find(&mut conn, id).await?
        };
        let now = Instant::now();
        if job.as_ref().is_none_or(ExportJob::is_finished) || now >= deadline {
            return Ok(job);
        }
        // Woken when a job of this process finishes; polled for another instance's.
        let nap = (deadline - now).min(Duration::from_millis(200));
        tokio::select! {
            _ = &mut finished => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

/// The file of a job (done or not) in `dir`.
pub fn file_path(dir: &Path, job: &ExportJob) -> Option<PathBuf> {
    let format = ExportFormat::parse(&job.format)?;
    Some(dir.join(format!("{}.{}", job.file_key, format.extension())))
}

fn temp_path(dir: &Path, job: &ExportJob) -> PathBuf {
    dir.join(format!(".{}.{}.tmp", job.file_key, job.attempts))
}

/// The request a job was made of, to resolve again in the runner.
pub fn request_of(job: &ExportJob) -> (Scope, SpecRequest) {
    let scope = match job.scope_ids() {
        None => Scope::All,
        Some(ids) => Scope::Units(ids),
    };
    let request = SpecRequest {
        year: i32::from(job.year),
        period: Some(job.period.clone()),
        unit: Some(UnitRef::Id(job.unit_id)),
        form: Some(job.form_id.clone()),
        channel: job.channel.clone(),
    };
    (scope, request)
}

/// The runner of this instance: stopped with the server, aborted if dropped.
pub struct ExportRunner {
    stop: watch::Sender<bool>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// How long stopping waits for running jobs to give their jobs back.
const STOP_GRACE: Duration = Duration::from_secs(10);

struct Context {
    pool: Pool,
    forms: FormRegistry,
    settings: RunnerSettings,
}

impl ExportRunner {
    /// Starts the runner on the current runtime, with a pool of its own on `database_url`.
    pub fn start(
        database_url: &str,
        forms: FormRegistry,
        settings: RunnerSettings,
    ) -> anyhow::Result<Self> {
        // Per job: the export's connection and the heartbeat's; one for claims and upkeep.
        let pool = db::build_pool(database_url, settings.workers * 2 + 1)?;
        let (stop, stopped) = watch::channel(false);
        let context = Arc::new(Context {
            pool,
            forms,
            settings,
        });
        let handle = tokio::spawn(run(context, stopped));
        Ok(ExportRunner {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops claiming jobs and gives the running ones back to the queue.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(handle) = self.handle.take() {
            let abort = handle.abort_handle();
            if tokio::time::timeout(STOP_GRACE, handle).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for ExportRunner {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

/// Resolves when `flag` is (or becomes) true; never when its sender is gone.
async fn raised(flag: &mut watch::Receiver<bool>) {
    if flag.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn run(context: Arc<Context>, mut stopped: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(context.settings.workers.max(1)));
    let mut running = tokio::task::JoinSet::new();
    let mut next_upkeep = Instant::now();
    loop {
        if *stopped.borrow() {
            break;
        }
        if Instant::now() >= next_upkeep {
            upkeep(&context).await;
            next_upkeep = Instant::now() + context.settings.maintain_every;
        }
        // Listen before looking at the queue, so that a job queued meanwhile is not missed.
        let woken = WAKE.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        while let Ok(permit) = permits.clone().try_acquire_owned() {
            match claim(&context).await {
                Ok(Some(job)) => {
                    tracing::info!(job = job.id, attempt = job.attempts, "export job started");
                    running.spawn(execute(context.clone(), job, stopped.clone(), permit));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("claiming an export job: {e:#}");
                    break;
                }
            }
        }
        let until_upkeep = next_upkeep.saturating_duration_since(Instant::now());
        tokio::select! {
            _ = raised(&mut stopped) => {}
            _ = &mut woken => {}
            _ = tokio::time::sleep(context.settings.poll_every.min(until_upkeep)) => {}
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Err(e) = done {
                    tracing::error!("an export job task ended abnormally: {e}");
                }
            }
        }
    }
    // Each running job sees the stop and gives its job back.
    while running.join_next().await.is_some() {}
}

async fn claim(context: &Context) -> anyhow::Result<Option<ExportJob>> {
    let mut conn = context.pool.get().await?;
    Ok(db_exports::claim_next(&mut conn).await?)
}

/// Recovers the jobs of dead processes, deletes expired files and old temporary files.
async fn upkeep(context: &Context) {
    let settings = &context.settings;
    let mut conn = match context.pool.get().await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!("export upkeep: {e}");
            return;
        }
    };
    match db_exports::recover_stale(
        &mut conn,
        settings.stale_after,
        settings.max_attempts,
        MSG_GAVE_UP,
    )
    .await
    {
        Ok(recovered) => {
            if !recovered.requeued.is_empty() {
                tracing::warn!(jobs = ?recovered.requeued, "export jobs of a stopped process queued again");
            }
            if !recovered.failed.is_empty() {
                tracing::error!(jobs = ?recovered.failed, "export jobs interrupted too often: failed");
            }
        }
        Err(e) => tracing::warn!("recovering export jobs: {e}"),
    }
    match db_exports::expire(&mut conn).await {
        Ok(expired) => {
            delete_files(&settings.dir, &expired).await;
        }
        Err(e) => tracing::warn!("expiring exports: {e}"),
    }
    drop(conn);
    remove_old_temporaries(&settings.dir, Duration::from_secs(2 * 24 * 3600)).await;
}

pub use sipas_app::export_files::delete_files;

/// Temporary files of attempts whose process died mid-way (a running attempt's is younger:
/// no export runs for days).
async fn remove_old_temporaries(dir: &Path, older_than: Duration) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .await
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > older_than);
        if old {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

/// Rows done and total, as the export reports them.
struct Counter {
    done: AtomicU64,
    /// -1 until known.
    total: AtomicI64,
}

impl Counter {
    fn new() -> Self {
        Counter {
            done: AtomicU64::new(0),
            total: AtomicI64::new(-1),
        }
    }

    fn read(&self) -> (i64, Option<i64>) {
        let done = i64::try_from(self.done.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        let total = self.total.load(Ordering::Relaxed);
        (done, (total >= 0).then_some(total))
    }
}

/// How an attempt ended.
enum Outcome {
    Done {
        file_name: String,
        rows: u64,
        bytes: u64,
    },
    Failed {
        /// For the user.
        message: String,
        /// For the log.
        cause: String,
    },
    /// The process is stopping: back to the queue.
    Stopped,
    /// The job is no longer this attempt's.
    Lost,
}

impl Outcome {
    fn ours(cause: impl std::fmt::Display) -> Outcome {
        Outcome::Failed {
            message: MSG_FAILED.to_string(),
            cause: cause.to_string(),
        }
    }
}

async fn execute(
    context: Arc<Context>,
    job: ExportJob,
    stopped: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let (id, attempt) = (job.id, job.attempts);
    let metrics = context.settings.metrics.clone();
    if let Some(metrics) = &metrics {
        metrics.export_started();
    }
    let counter = Arc::new(Counter::new());
    let (lost, lost_rx) = watch::channel(false);
    let heartbeat = tokio::spawn(heartbeat(
        context.clone(),
        id,
        attempt,
        counter.clone(),
        lost,
    ));
    let runtime = tokio::runtime::Handle::current();
    let worker = {
        let context = context.clone();
        let counter = counter.clone();
        tokio::task::spawn_blocking(move || {
            runtime.block_on(produce(&context, &job, &counter, stopped, lost_rx))
        })
    };
    let outcome = match worker.await {
        Ok(outcome) => outcome,
        Err(e) => Outcome::ours(format!("the export stopped abnormally: {e}")),
    };
    heartbeat.abort();
    if let Some(metrics) = &metrics {
        use sipas_app::metrics::ExportEnd;
        metrics.export_finished(match &outcome {
            Outcome::Done { .. } => ExportEnd::Done,
            Outcome::Failed { .. } => ExportEnd::Failed,
            Outcome::Stopped => ExportEnd::Requeued,
            Outcome::Lost => ExportEnd::Lost,
        });
    }
    record(&context, id, attempt, &counter, outcome).await;
    FINISHED.notify_waiters();
}

/// Writes progress and liveness until aborted; raises `lost` when the job is no longer this
/// attempt's.
async fn heartbeat(
    context: Arc<Context>,
    id: i32,
    attempt: i16,
    counter: Arc<Counter>,
    lost: watch::Sender<bool>,
) {
    let mut interval = tokio::time::interval(context.settings.heartbeat_every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let (done, total) = counter.read();
        let beat = async {
            let mut conn = context.pool.get().await?;
            anyhow::Ok(db_exports::heartbeat(&mut conn, id, attempt, done, total).await?)
        };
        match beat.await {
            Ok(true) => {}
            Ok(false) => {
                let _ = lost.send(true);
                return;
            }
            Err(e) => tracing::warn!(job = id, "export heartbeat: {e:#}"),
        }
    }
}

/// Resolves the job's spec within the scope it was asked in and writes its file.
async fn produce(
    context: &Context,
    job: &ExportJob,
    counter: &Counter,
    mut stopped: watch::Receiver<bool>,
    mut lost: watch::Receiver<bool>,
) -> Outcome {
    let Some(format) = ExportFormat::parse(&job.format) else {
        return Outcome::ours(format!("unknown export format {:?}", job.format));
    };
    let mut conn = match context.pool.get().await {
        Ok(conn) => conn,
        Err(e) => return Outcome::ours(format!("no database connection: {e}")),
    };
    let (scope, request) = request_of(job);
    let spec = match ExportSpec::resolve(
        &mut conn,
        &context.forms,
        &context.settings.default_form,
        scope,
        &request,
    )
    .await
    {
        Ok(spec) => spec,
        Err(SpecError::Database(e)) => return Outcome::ours(e),
        // What was valid when asked may not be any more (a plan period removed, the unit taken
        // from the account): the user reads why.
        Err(refused) => {
            return Outcome::Failed {
                message: refused.to_string(),
                cause: format!("the request no longer resolves: {refused}"),
            };
        }
    };
    let dir = &context.settings.dir;
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Outcome::ours(format!("creating {}: {e}", dir.display()));
    }
    let temp = temp_path(dir, job);
    let Some(target) = file_path(dir, job) else {
        return Outcome::ours("no file path");
    };
    let report = |done: u64, total: u64| {
        counter.done.store(done, Ordering::Relaxed);
        counter
            .total
            .store(i64::try_from(total).unwrap_or(i64::MAX), Ordering::Relaxed);
    };
    let written = tokio::select! {
        written = crate::write(&mut conn, &context.forms, &spec, format, &temp, &report) => written,
        _ = raised(&mut stopped) => {
            let _ = std::fs::remove_file(&temp);
            return Outcome::Stopped;
        }
        _ = raised(&mut lost) => {
            let _ = std::fs::remove_file(&temp);
            return Outcome::Lost;
        }
    };
    drop(conn);
    let summary = match written {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Outcome::ours(format!("{e:#}"));
        }
    };
    if let Err(e) = persist(&temp, &target) {
        let _ = std::fs::remove_file(&temp);
        return Outcome::ours(format!("keeping {}: {e}", target.display()));
    }
    Outcome::Done {
        file_name: crate::file_name(&spec, format),
        rows: summary.rows,
        bytes: summary.bytes,
    }
}

/// Syncs the finished temporary file and renames it into place (then syncs the directory).
fn persist(temp: &Path, target: &Path) -> std::io::Result<()> {
    std::fs::File::open(temp)?.sync_all()?;
    std::fs::rename(temp, target)?;
    if let Some(dir) = target.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Stores how the attempt ended.
async fn record(context: &Context, id: i32, attempt: i16, counter: &Counter, outcome: Outcome) {
    let store = async {
        let mut conn = context.pool.get().await?;
        let kept = match &outcome {
            Outcome::Done {
                file_name,
                rows,
                bytes,
            } => {
                tracing::info!(job = id, rows, bytes, "export job done");
                db_exports::finish(
                    &mut conn,
                    id,
                    attempt,
                    file_name,
                    i64::try_from(*bytes).unwrap_or(i64::MAX),
                    i64::try_from(*rows).unwrap_or(i64::MAX),
                    context.settings.keep,
                )
                .await?
            }
            Outcome::Failed { message, cause } => {
                tracing::error!(job = id, error = cause.as_str(), "export job failed");
                db_exports::fail(&mut conn, id, attempt, message).await?
            }
            Outcome::Stopped => {
                let (done, _) = counter.read();
                tracing::info!(job = id, done, "export job given back: the service stops");
                db_exports::release(&mut conn, id, attempt).await?
            }
            Outcome::Lost => false,
        };
        if !kept {
            tracing::warn!(
                job = id,
                attempt,
                "export job was taken over by another attempt"
            );
        }
        anyhow::Ok(())
    };
    if let Err(e) = store.await {
        // The heartbeat has stopped: the job is recovered as stale and runs again.
        tracing::error!(job = id, "recording the end of an export job: {e:#}");
    }
}
