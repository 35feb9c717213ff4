//! The service's measurements for Prometheus (issue 18): what happened to citizens'
//! submissions, the spool and its replays, the database pool, requests, export jobs and the
//! rollups' fold. One [`Metrics`] per server, made at start-up and handed to whoever counts
//! (cheap to clone: the families are shared); no global registry. The web layer alone serves
//! [`Metrics::render`] (`GET /metrics`); the layers below only count.
//!
//! Labels are a small fixed vocabulary ([`Door`], [`Outcome`], [`Reason`], route patterns,
//! methods, status classes): never a desk or one-time code, a unit, an address or free text.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::db::responses::Via;
use crate::db::rollup::{Outcome as FoldOutcome, RefreshReport};
use crate::spool::{ReplayReport, SpoolStatus};

/// The content type of [`Metrics::render`]'s text (OpenMetrics 1.0, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The door a response came through: the three of the citizen's path ([`Via`]) and the
/// paper ballots typed in by staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// `/s/{desk code}`: the desk's printed QR code.
    Desk,
    /// `/v/{code}`: a one-time code.
    Code,
    /// `/k/{desk code}`: an enrolled kiosk.
    Kiosk,
    /// `/staff/paper/{desk}`: a paper ballot typed in.
    Paper,
}

impl Door {
    pub const ALL: [Door; 4] = [Door::Desk, Door::Code, Door::Kiosk, Door::Paper];

    pub fn as_str(self) -> &'static str {
        match self {
            Door::Desk => "desk",
            Door::Code => "code",
            Door::Kiosk => "kiosk",
            Door::Paper => "paper",
        }
    }
}

impl From<Via> for Door {
    fn from(via: Via) -> Self {
        match via {
            Via::Desk => Door::Desk,
            Via::Code => Door::Code,
            Via::Kiosk => Door::Kiosk,
        }
    }
}

/// What became of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored in the database.
    Stored,
    /// Already stored under its submission key (a double tap): thanked, nothing new stored.
    Duplicate,
    /// The database was unreachable: written to the spool, replayed later.
    Spooled,
    /// Refused for a [`Reason`]; nothing stored.
    Refused,
    /// An error of ours or an outage the spool could not take (a 5xx page).
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Stored,
        Outcome::Duplicate,
        Outcome::Spooled,
        Outcome::Refused,
        Outcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::Spooled => "spooled",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// Why a submission was refused (nothing stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The body could not be read (not a form, too large, broken encoding).
    Unreadable,
    /// No form version, or one this desk does not show (the form changed meanwhile).
    FormVersion,
    /// The signed start time was missing, not ours, or in the future.
    StartTime,
    /// The honeypot field was filled in.
    Honeypot,
    /// The answers did not pass the form's rules.
    Invalid,
    /// Sent back sooner than `SIPAS_MIN_FILL_SECONDS`.
    TooFast,
    /// Over a submission limit (429).
    OverLimit,
    /// The one-time code was already used (409).
    CodeUsed,
    /// No such desk or one-time code (404).
    UnknownCode,
    /// Too many unknown one-time codes from this client (429).
    TooManyGuesses,
    /// The kiosk door from a device that is not the desk's kiosk (403).
    NotAKiosk,
    /// The desk no longer takes responses (410).
    DeskClosed,
    /// A paper ballot whose serial number the unit already has.
    DuplicateSerial,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unreadable => "unreadable",
            Reason::FormVersion => "form_version",
            Reason::StartTime => "start_time",
            Reason::Honeypot => "honeypot",
            Reason::Invalid => "invalid",
            Reason::TooFast => "too_fast",
            Reason::OverLimit => "over_limit",
            Reason::CodeUsed => "code_used",
            Reason::UnknownCode => "unknown_code",
            Reason::TooManyGuesses => "too_many_guesses",
            Reason::NotAKiosk => "not_a_kiosk",
            Reason::DeskClosed => "desk_closed",
            Reason::DuplicateSerial => "duplicate_serial",
        }
    }
}

/// How an export job's attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportEnd {
    /// Its file is ready.
    Done,
    /// It failed (the user sees why).
    Failed,
    /// The server stopped: back to the queue.
    Requeued,
    /// The job was taken over meanwhile (its heartbeat was lost).
    Lost,
}

impl ExportEnd {
    fn as_str(self) -> &'static str {
        match self {
            ExportEnd::Done => "done",
            ExportEnd::Failed => "failed",
            ExportEnd::Requeued => "requeued",
            ExportEnd::Lost => "lost",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubmissionLabels {
    door: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    door: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The matched route's pattern (`/s/{code}`), or `unmatched`.
    route: String,
    method: &'static str,
    /// `2xx`, `4xx`...
    status: &'static str,
}

/// Upper bounds of the request latency histogram, in seconds.
const REQUEST_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the pool wait histogram, in seconds (the pool gives up at
/// `SIPAS_DB_TIMEOUT_MS`, 2 s by default).
const POOL_WAIT_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_BUCKETS)
}

type Seconds = Gauge<f64, AtomicU64>;

struct Inner {
    registry: Registry,
    /// When these metrics were made (the rollups' lag counts from here until the first fold).
    started: Instant,
    submissions: Family<SubmissionLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    spool_responses: Gauge,
    spool_bytes: Gauge,
    spool_accepting: Gauge,
    spool_oldest_age: Seconds,
    replays: Family<OutcomeLabel, Counter>,
    replayed: Family<OutcomeLabel, Counter>,
    pool_max: Gauge,
    pool_open: Gauge,
    pool_idle: Gauge,
    pool_waiting: Gauge,
    pool_wait: Histogram,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    exports_started: Counter,
    exports_finished: Family<OutcomeLabel, Counter>,
    exports_running: Gauge,
    folds: Family<OutcomeLabel, Counter>,
    folded: Counter,
    fold_lag: Seconds,
    /// Milliseconds after `started` of the last fold that left the rollups complete, plus
    /// one (0: none yet).
    caught_up_at: AtomicU64,
}

/// The service's metrics (see the module documentation).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sipas");
        registry.register(
            "build",
            "The running version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        let inner = Inner {
            registry: Registry::default(),
            started: Instant::now(),
            submissions: Family::default(),
            refusals: Family::default(),
            spool_responses: Gauge::default(),
            spool_bytes: Gauge::default(),
            spool_accepting: Gauge::default(),
            spool_oldest_age: Seconds::default(),
            replays: Family::default(),
            replayed: Family::default(),
            pool_max: Gauge::default(),
            pool_open: Gauge::default(),
            pool_idle: Gauge::default(),
            pool_waiting: Gauge::default(),
            pool_wait: Histogram::new(POOL_WAIT_BUCKETS),
            requests: Family::new_with_constructor(request_histogram),
            exports_started: Counter::default(),
            exports_finished: Family::default(),
            exports_running: Gauge::default(),
            folds: Family::default(),
            folded: Counter::default(),
            fold_lag: Seconds::default(),
            caught_up_at: AtomicU64::new(0),
        };
        let r = &mut registry;
        r.register(
            "submissions",
            "Survey submissions by door (desk, code, kiosk, paper) and outcome (stored, duplicate, spooled, refused, failed)",
            inner.submissions.clone(),
        );
        r.register(
            "submission_refusals",
            "Refused submissions by door and reason (nothing stored)",
            inner.refusals.clone(),
        );
        r.register(
            "spool_responses",
            "Responses waiting in this instance's spool for the database",
            inner.spool_responses.clone(),
        );
        r.register_with_unit(
            "spool",
            "Size of the responses waiting in the spool",
            Unit::Bytes,
            inner.spool_bytes.clone(),
        );
        r.register(
            "spool_accepting",
            "1 when the spool can take a response now (writable, under SIPAS_SPOOL_MAX_MB), else 0",
            inner.spool_accepting.clone(),
        );
        r.register_with_unit(
            "spool_oldest_age",
            "Age of the oldest response waiting in the spool (0 when empty)",
            Unit::Seconds,
            inner.spool_oldest_age.clone(),
        );
        r.register(
            "spool_replays",
            "Replays of the spool by outcome (completed, interrupted: the database is still unreachable)",
            inner.replays.clone(),
        );
        r.register(
            "spool_replayed_responses",
            "Spooled responses handled by replays: stored, already_stored, and set aside as damaged, rejected or foreign",
            inner.replayed.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "The pool's size limit (SIPAS_DB_POOL_SIZE)",
            inner.pool_max.clone(),
        );
        r.register(
            "db_pool_connections",
            "Connections the pool holds open (idle or in use)",
            inner.pool_open.clone(),
        );
        r.register(
            "db_pool_idle_connections",
            "Open connections free for the next request",
            inner.pool_idle.clone(),
        );
        r.register(
            "db_pool_waiting_requests",
            "Requests waiting for a connection",
            inner.pool_waiting.clone(),
        );
        r.register_with_unit(
            "db_pool_wait",
            "Time to get a connection from the pool (waiting for a slot, connecting or recycling)",
            Unit::Seconds,
            inner.pool_wait.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "HTTP request latency by route pattern, method and status class",
            Unit::Seconds,
            inner.requests.clone(),
        );
        r.register(
            "export_jobs_started",
            "Export job attempts started by this instance",
            inner.exports_started.clone(),
        );
        r.register(
            "export_jobs_finished",
            "Export job attempts ended, by outcome (done, failed, requeued, lost)",
            inner.exports_finished.clone(),
        );
        r.register(
            "export_jobs_running",
            "Export jobs running in this instance now",
            inner.exports_running.clone(),
        );
        r.register(
            "rollup_refreshes",
            "Folds of new responses into the statistics rollups, by outcome (done, busy, waiting_for_writers, error)",
            inner.folds.clone(),
        );
        r.register(
            "rollup_folded_responses",
            "Responses folded into the statistics rollups by this instance",
            inner.folded.clone(),
        );
        r.register_with_unit(
            "rollup_lag",
            "Time since this instance last saw the rollups hold every committed response (since start until the first fold)",
            Unit::Seconds,
            inner.fold_lag.clone(),
        );
        // Every door and outcome from the start, at 0: `increase()` over a quiet period reads 0
        // rather than nothing.
        for door in Door::ALL {
            for outcome in Outcome::ALL {
                let _ = inner.submissions.get_or_create(&SubmissionLabels {
                    door: door.as_str(),
                    outcome: outcome.as_str(),
                });
            }
        }
        Metrics(Arc::new(Inner { registry, ..inner }))
    }

    /// A submission through `door` ended as `outcome` (for a refusal, see [`Metrics::refused`]).
    pub fn submission(&self, door: Door, outcome: Outcome) {
        self.0
            .submissions
            .get_or_create(&SubmissionLabels {
                door: door.as_str(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// A submission through `door` was refused for `reason`.
    pub fn refused(&self, door: Door, reason: Reason) {
        self.submission(door, Outcome::Refused);
        self.0
            .refusals
            .get_or_create(&RefusalLabels {
                door: door.as_str(),
                reason: reason.as_str(),
            })
            .inc();
    }

    /// A spool replay ended (see `crate::spool::ReplayTask`).
    pub fn replay(&self, report: &ReplayReport) {
        let count = |outcome, n: u64| {
            if n > 0 {
                self.0
                    .replayed
                    .get_or_create(&OutcomeLabel { outcome })
                    .inc_by(n);
            }
        };
        count("stored", report.stored);
        count("already_stored", report.already_stored);
        count("damaged", report.damaged);
        count("rejected", report.rejected);
        count("foreign", report.foreign);
        let outcome = if report.interrupted.is_some() {
            "interrupted"
        } else {
            "completed"
        };
        self.0
            .replays
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// A checkout from the database pool took `waited`.
    pub fn pool_wait(&self, waited: Duration) {
        self.0.pool_wait.observe(waited.as_secs_f64());
    }

    /// The observer of the pool's checkouts that counts into these metrics
    /// (`sipas_db::Pool::observe_waits`).
    pub fn pool_wait_observer(&self) -> crate::db::WaitObserver {
        let metrics = self.clone();
        Box::new(move |waited| metrics.pool_wait(waited))
    }

    /// A request to `route` (a route pattern such as `/s/{code}`; `None`: no route matched)
    /// answered `status` after `elapsed`.
    pub fn request(&self, route: Option<String>, method: &str, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            route: route.unwrap_or_else(|| "unmatched".to_string()),
            method: method_label(method),
            status: status_class(status),
        };
        self.0
            .requests
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// An export job's attempt started.
    pub fn export_started(&self) {
        self.0.exports_started.inc();
        self.0.exports_running.inc();
    }

    /// An export job's attempt (counted by [`Metrics::export_started`]) ended.
    pub fn export_finished(&self, end: ExportEnd) {
        self.0.exports_running.dec();
        self.0
            .exports_finished
            .get_or_create(&OutcomeLabel {
                outcome: end.as_str(),
            })
            .inc();
    }

    /// A refresh of the rollups ended (`Err`: it failed).
    pub fn fold(&self, report: Result<&RefreshReport, ()>) {
        let outcome = match report {
            Ok(report) => {
                self.0.folded.inc_by(report.responses);
                match report.outcome {
                    FoldOutcome::Done => {
                        let at = self.0.started.elapsed().as_millis() as u64 + 1;
                        self.0.caught_up_at.store(at, Ordering::Relaxed);
                        "done"
                    }
                    FoldOutcome::Busy => "busy",
                    FoldOutcome::WaitingForWriters(_) => "waiting_for_writers",
                }
            }
            Err(()) => "error",
        };
        self.0.folds.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// The exposition (OpenMetrics text, [`CONTENT_TYPE`]), with the spool's and the pool's
    /// state as they are now.
    pub fn render(&self, spool: &SpoolStatus, pool: &crate::db::Pool) -> String {
        let inner = &self.0;
        inner.spool_responses.set(gauge_value(spool.entries));
        inner.spool_bytes.set(gauge_value(spool.bytes));
        inner.spool_accepting.set(i64::from(spool.accepting));
        let oldest = spool.oldest.map_or(0.0, |at| {
            (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        inner.spool_oldest_age.set(oldest);
        let status = pool.status();
        inner.pool_max.set(gauge_value(status.max_size as u64));
        inner.pool_open.set(gauge_value(status.size as u64));
        inner.pool_idle.set(gauge_value(status.available as u64));
        inner.pool_waiting.set(gauge_value(status.waiting as u64));
        let now = inner.started.elapsed().as_millis() as u64;
        let since = inner.caught_up_at.load(Ordering::Relaxed).saturating_sub(1);
        inner
            .fold_lag
            .set(now.saturating_sub(since) as f64 / 1000.0);
        let mut text = String::with_capacity(16 * 1024);
        if prometheus_client::encoding::text::encode(&mut text, &inner.registry).is_err() {
            // Writing to a String does not fail; an encoder's own error leaves what it wrote.
            let _ = writeln!(text, "# EOF");
        }
        text
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The method as a label: the usual ones by name, anything else `other`.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_a_fixed_vocabulary() {
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(Door::from(Via::Kiosk).as_str(), "kiosk");
    }

    #[test]
    fn counts_show_in_the_exposition() {
        let metrics = Metrics::new();
        metrics.refused(Door::Desk, Reason::Honeypot);
        metrics.submission(Door::Paper, Outcome::Stored);
        metrics.request(
            Some("/s/{code}".into()),
            "POST",
            200,
            Duration::from_millis(7),
        );
        metrics.export_started();
        metrics.export_finished(ExportEnd::Done);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.0.registry).unwrap();
        for line in [
            "sipas_build_info{version=\"",
            "sipas_submissions_total{door=\"desk\",outcome=\"refused\"} 1",
            "sipas_submissions_total{door=\"paper\",outcome=\"stored\"} 1",
            "sipas_submissions_total{door=\"kiosk\",outcome=\"spooled\"} 0",
            "sipas_submission_refusals_total{door=\"desk\",reason=\"honeypot\"} 1",
            "sipas_http_request_duration_seconds_count{route=\"/s/{code}\",method=\"POST\",status=\"2xx\"} 1",
            "sipas_http_request_duration_seconds_bucket{le=\"0.01\",route=\"/s/{code}\",method=\"POST\",status=\"2xx\"} 1",
            "sipas_export_jobs_started_total 1",
            "sipas_export_jobs_finished_total{outcome=\"done\"} 1",
            "sipas_export_jobs_running 0",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }
}
