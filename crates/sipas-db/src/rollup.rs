//! Rollups of the responses: the counts the statistics are computed from, kept up to date
//! incrementally so that the dashboard's cost does not grow with the number of responses.
//!
//! Tables (migrations `…000004_statistics` and `…000005_rollup_rules`):
//! - `rollup_answers`: per unit, form version, day (Vietnam's time), channel, answer_index and
//!   value (0 = "not applicable"), the number of answers; `rollup_responses`: per unit, form
//!   version, day and channel, the number of responses and the moments (n, Σs, Σs²) of the
//!   respondents' own index scores;
//! - `rollup_answers_month`, `rollup_responses_month`: the same summed per calendar month, so
//!   that a long range reads months and only its edge days from the day tables;
//!   `rollup_answers_month_total` (migration `…000080_rollup_month_totals`): the answers'
//!   month totals summed over the channels too, what a range without a channel filter reads;
//! - `rollup_attribute_answers_month`, `rollup_attribute_responses_month` (migration
//!   `…000060_filtered_rollup`): the month totals split by the answer to each respondent
//!   question (gender, age band, field, ...), so that a filter by one attribute over whole
//!   months reads rollups too ([`super::stats::read_filtered`]);
//! - `rollup_state.last_response_id`: the watermark, every response with an id up to it is
//!   folded in, none above it;
//! - the view `rollup_rules`: per form version and answer_index, the item, its section and
//!   role, and the criterion weights of the respondent score.
//!
//! Everything is aggregated in SQL (`sql/rollup_fold_*.sql`); no response is loaded into Rust.
//!
//! # Responses left out (fraud signals)
//!
//! Before a batch is folded, [`super::flags::detect`] examines it (in the same transaction,
//! under the same lock); a response excluded from the figures (`response_reviews.excluded`) is
//! never folded. When a state changes after a response was folded (a burst completed by a later
//! batch, an admin's decision), its unit-month is folded again from scratch
//! ([`refold_unit_month`]), in the transaction of the change, so the rollups always equal a
//! rebuild.
//!
//! # The watermark and transactions that commit out of order
//!
//! Response ids come from a sequence when the row is inserted, but transactions commit in any
//! order: a response with id 41 can become visible after the one with id 42. A refresh that
//! folded up to 42 and moved the watermark there would never see 41: it would be lost from the
//! statistics without a trace. So a refresh first finds a *horizon* below which no response
//! can still appear ([`horizon`]):
//!
//! 1. One statement reads `max(id)` (its snapshot) and then, from `pg_locks`, the transactions
//!    holding a write lock (`RowExclusiveLock`) on `responses`. Every transaction that has
//!    taken an id holds that lock until it ends (PostgreSQL takes it while planning the
//!    INSERT, before the id is drawn), so any id <= max(id) not yet visible belongs to one of
//!    these transactions, or to one that committed in between (visible to the next statement).
//! 2. The refresh waits (polling, without taking any lock, so citizens' submissions are never
//!    held up) until each of those transactions has ended. Transactions that start later draw
//!    ids above max(id) (the sequence only grows; identity sequences have CACHE 1).
//! 3. Then every id <= max(id) is committed or will never exist (rolled back, or a sequence
//!    value skipped by `ON CONFLICT DO NOTHING`), and the fold, in a new transaction with a
//!    new snapshot, takes exactly the ids in (watermark, max(id)].
//!
//! If a writer does not end within the wait (a stuck session "idle in transaction"), the
//! refresh folds nothing and says so ([`Outcome::WaitingForWriters`]); the next one retries.
//! The statistics then lag, they never lose a response. The other designs were weaker: a time
//! lag ("fold ids older than a few seconds") loses the response of any transaction slower than
//! the lag, and `pg_snapshot_xmin` tells which transactions are running but not which ids they
//! hold.
//!
//! The fold itself runs in one transaction under a transaction-level advisory lock, taken with
//! `pg_try_advisory_xact_lock`: when another instance (or the background task) is refreshing,
//! [`refresh`] returns at once with [`Outcome::Busy`]. The watermark is re-read under the lock
//! and advanced in the same transaction as the counts, so a fold is all or nothing.

use std::time::{Duration, Instant};

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Int8, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// Key of the advisory lock held while folding (transaction level).
pub const ROLLUP_LOCK: i64 = 0x5349_5041_535f_5231;

/// How long [`refresh`] waits for transactions still inserting responses below the horizon.
pub const DEFAULT_WRITER_WAIT: Duration = Duration::from_secs(2);
/// How long [`rebuild`] waits for them.
pub const REBUILD_WRITER_WAIT: Duration = Duration::from_secs(60);
/// Interval between two looks at `pg_locks` while waiting.
const POLL: Duration = Duration::from_millis(20);

/// Memory for the aggregation of a fold (a rebuild of a million responses needs about
/// 160 MB to aggregate in one pass without spilling to disk; small folds use little).
const FOLD_WORK_MEM: &str = "256MB";

/// What a refresh or rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshReport {
    /// Responses folded in by this call.
    pub responses: u64,
    /// The watermark before (ids above it were not folded).
    pub from_id: i64,
    /// The watermark after.
    pub to_id: i64,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The rollups hold every committed response up to `to_id` (`responses` may be 0: they
    /// were already up to date).
    Done,
    /// Another session was refreshing: nothing done.
    Busy,
    /// Transactions that may hold response ids below the horizon did not end in time (their
    /// virtual transaction ids): nothing done, retry later.
    WaitingForWriters(Vec<String>),
}

impl RefreshReport {
    /// Whether the rollups are known to be complete up to `to_id` after this call.
    pub fn is_done(&self) -> bool {
        self.outcome == Outcome::Done
    }
}

/// The rollups' state: the watermark and when something was last folded.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct RollupState {
    #[diesel(sql_type = Int8)]
    pub last_response_id: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub refreshed_at: Option<DateTime<Utc>>,
}

pub async fn state(conn: &mut AsyncPgConnection) -> diesel::QueryResult<RollupState> {
    diesel::sql_query("SELECT last_response_id, refreshed_at FROM rollup_state")
        .get_result(conn)
        .await
}

#[derive(Debug, QueryableByName)]
struct HorizonRow {
    #[diesel(sql_type = Int8)]
    max_id: i64,
    #[diesel(sql_type = Int8)]
    watermark: i64,
    #[diesel(sql_type = Array<Text>)]
    writers: Vec<String>,
}

#[derive(Debug, QueryableByName)]
struct WritersRow {
    #[diesel(sql_type = Array<Text>)]
    writers: Vec<String>,
}

/// The highest id up to which every response is committed or will never exist, and the
/// watermark seen at the same moment. `Err(writers)`: transactions still writing when `wait`
/// ran out. See the module documentation.
pub async fn horizon(
    conn: &mut AsyncPgConnection,
    wait: Duration,
) -> diesel::QueryResult<Result<(i64, i64), Vec<String>>> {
    let row: HorizonRow = diesel::sql_query(include_str!("sql/rollup_horizon.sql"))
        .get_result(conn)
        .await?;
    // Nothing new: no need to wait for anybody.
    if row.max_id <= row.watermark {
        return Ok(Ok((row.max_id, row.watermark)));
    }
    let mut writers = row.writers;
    let deadline = Instant::now() + wait;
    while !writers.is_empty() {
        if Instant::now() >= deadline {
            return Ok(Err(writers));
        }
        tokio::time::sleep(POLL).await;
        let still: WritersRow = diesel::sql_query(include_str!("sql/rollup_writers.sql"))
            .bind::<Array<Text>, _>(&writers)
            .get_result(conn)
            .await?;
        writers = still.writers;
    }
    Ok(Ok((row.max_id, row.watermark)))
}

/// Folds every response committed since the last refresh into the rollups, waiting up to
/// [`DEFAULT_WRITER_WAIT`] for transactions still inserting below the horizon. Cheap when
/// there is nothing new (two small queries, no transaction).
pub async fn refresh(conn: &mut AsyncPgConnection) -> diesel::QueryResult<RefreshReport> {
    refresh_waiting(conn, DEFAULT_WRITER_WAIT).await
}

/// [`refresh`] with another bound on the wait for writers (e.g. short on a page request).
pub async fn refresh_waiting(
    conn: &mut AsyncPgConnection,
    wait: Duration,
) -> diesel::QueryResult<RefreshReport> {
    let started = Instant::now();
    let (max_id, watermark) = match horizon(conn, wait).await? {
        Ok(found) => found,
        Err(writers) => {
            let watermark = state(conn).await?.last_response_id;
            return Ok(RefreshReport {
                responses: 0,
                from_id: watermark,
                to_id: watermark,
                outcome: Outcome::WaitingForWriters(writers),
                elapsed: started.elapsed(),
            });
        }
    };
    if max_id <= watermark {
        return Ok(RefreshReport {
            responses: 0,
            from_id: watermark,
            to_id: watermark,
            outcome: Outcome::Done,
            elapsed: started.elapsed(),
        });
    }
    let report = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if !try_lock(conn).await? {
                return Ok(RefreshReport {
                    responses: 0,
                    from_id: watermark,
                    to_id: watermark,
                    outcome: Outcome::Busy,
                    elapsed: Duration::ZERO,
                });
            }
            // Another session may have folded meanwhile: the watermark under the lock counts.
            let from = locked_watermark(conn).await?;
            without_statement_timeout(conn).await?;
            let responses = if max_id > from {
                // The new responses are examined before they are folded; responses already
                // folded whose state the new signals change are folded again by unit-month.
                for (unit_id, month) in super::flags::detect(conn, from, max_id).await? {
                    refold_unit_month(conn, unit_id, month, from).await?;
                }
                fold(conn, from, max_id).await?
            } else {
                0
            };
            Ok(RefreshReport {
                responses,
                from_id: from,
                to_id: max_id.max(from),
                outcome: Outcome::Done,
                elapsed: Duration::ZERO,
            })
        })
        .await?;
    Ok(RefreshReport {
        elapsed: started.elapsed(),
        ..report
    })
}

/// Empties the rollups and folds every response again, in one transaction (readers of the
/// rollups wait for it: TRUNCATE locks the tables). Waits for a refresh in progress rather than
/// skipping. For repairs and benchmarks: [`refresh`] keeps the rollups exact on its own.
pub async fn rebuild(conn: &mut AsyncPgConnection) -> diesel::QueryResult<RefreshReport> {
    let started = Instant::now();
    let max_id = match horizon(conn, REBUILD_WRITER_WAIT).await? {
        Ok((max_id, _)) => max_id,
        Err(writers) => {
            let watermark = state(conn).await?.last_response_id;
            return Ok(RefreshReport {
                responses: 0,
                from_id: watermark,
                to_id: watermark,
                outcome: Outcome::WaitingForWriters(writers),
                elapsed: started.elapsed(),
            });
        }
    };
    let report = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<Int8, _>(ROLLUP_LOCK)
                .execute(conn)
                .await?;
            let from = locked_watermark(conn).await?;
            without_statement_timeout(conn).await?;
            // Responses not examined yet are examined first (the flags of the others stay
            // as they are: a rebuild never changes which responses count).
            if max_id > from {
                super::flags::detect(conn, from, max_id).await?;
            }
            diesel::sql_query(
                "TRUNCATE rollup_answers, rollup_responses, rollup_answers_month, \
                 rollup_answers_month_total, rollup_responses_month, \
                 rollup_attribute_answers_month, \
                 rollup_attribute_responses_month",
            )
            .execute(conn)
            .await?;
            let responses = fold(conn, 0, max_id).await?;
            Ok(RefreshReport {
                responses,
                from_id: from,
                to_id: max_id,
                outcome: Outcome::Done,
                elapsed: Duration::ZERO,
            })
        })
        .await?;
    Ok(RefreshReport {
        elapsed: started.elapsed(),
        ..report
    })
}

/// A fold of a whole year (a rebuild, a first start on old data) and its fraud detection take
/// minutes: the sessions' `statement_timeout` (crates/sipas-db/src/lib.rs) is for requests, not for them.
/// Lifted for the rest of the caller's transaction.
async fn without_statement_timeout(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    conn.batch_execute("SET LOCAL statement_timeout = 0").await
}

async fn try_lock(conn: &mut AsyncPgConnection) -> diesel::QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    let row: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
        .bind::<Int8, _>(ROLLUP_LOCK)
        .get_result(conn)
        .await?;
    Ok(row.locked)
}

async fn locked_watermark(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Watermark {
        #[diesel(sql_type = Int8)]
        last_response_id: i64,
    }
    let row: Watermark = diesel::sql_query("SELECT last_response_id FROM rollup_state FOR UPDATE")
        .get_result(conn)
        .await?;
    Ok(row.last_response_id)
}

/// Folds the responses with `from < id <= to` and moves the watermark to `to`. Runs inside the
/// caller's transaction, which holds the advisory lock. Returns the number of responses.
async fn fold(conn: &mut AsyncPgConnection, from: i64, to: i64) -> diesel::QueryResult<u64> {
    // Memoize (a cache keyed by whole answer arrays, which never repeat) only slows the
    // per-response subqueries down.
    conn.batch_execute(&format!(
        "SET LOCAL work_mem = '{FOLD_WORK_MEM}'; SET LOCAL enable_memoize = off"
    ))
    .await?;
    diesel::sql_query(FOLD_ANSWERS_BY_ID.as_str())
        .bind::<Int8, _>(from)
        .bind::<Int8, _>(to)
        .execute(conn)
        .await?;
    for sql in [
        FOLD_RESPONSES_BY_ID.as_str(),
        FOLD_ATTRIBUTE_ANSWERS_BY_ID.as_str(),
        FOLD_ATTRIBUTE_RESPONSES_BY_ID.as_str(),
    ] {
        diesel::sql_query(sql)
            .bind::<Int8, _>(from)
            .bind::<Int8, _>(to)
            .execute(conn)
            .await?;
    }
    #[derive(QueryableByName)]
    struct Folded {
        #[diesel(sql_type = Int8)]
        responses: i64,
    }
    let folded: Folded = diesel::sql_query(include_str!("sql/rollup_advance.sql"))
        .bind::<Int8, _>(from)
        .bind::<Int8, _>(to)
        .get_result(conn)
        .await?;
    Ok(folded.responses.max(0) as u64)
}

/// Which responses a fold takes: never one excluded from the figures (the test of
/// crates/sipas-db/src/flags.rs, shared with the raw data's `counted` column).
fn fold_sql(template: &str, source: &str) -> String {
    super::stats::with_score(template).replace(
        "{source}",
        &format!("{source} AND NOT {}", super::flags::EXCLUDED_SQL),
    )
}

/// The ordinary fold: ids in ($1, $2].
static FOLD_ANSWERS_BY_ID: LazyLock<String> = LazyLock::new(|| {
    fold_sql(
        include_str!("sql/rollup_fold_answers.sql"),
        "r.id > $1 AND r.id <= $2",
    )
});
static FOLD_RESPONSES_BY_ID: LazyLock<String> = LazyLock::new(|| {
    fold_sql(
        include_str!("sql/rollup_fold_responses.sql"),
        "r.id > $1 AND r.id <= $2",
    )
});
static FOLD_ATTRIBUTE_ANSWERS_BY_ID: LazyLock<String> = LazyLock::new(|| {
    fold_sql(
        include_str!("sql/rollup_fold_attribute_answers.sql"),
        "r.id > $1 AND r.id <= $2",
    )
});
static FOLD_ATTRIBUTE_RESPONSES_BY_ID: LazyLock<String> = LazyLock::new(|| {
    fold_sql(
        include_str!("sql/rollup_fold_attribute_responses.sql"),
        "r.id > $1 AND r.id <= $2",
    )
});
/// One unit-month: ids in ($1, $2] of unit $3 submitted in [$4, $5).
const UNIT_MONTH: &str = "r.id > $1 AND r.id <= $2 AND r.unit_id = $3 \
     AND r.submitted_at >= $4 AND r.submitted_at < $5";
static FOLD_ANSWERS_UNIT_MONTH: LazyLock<String> =
    LazyLock::new(|| fold_sql(include_str!("sql/rollup_fold_answers.sql"), UNIT_MONTH));
static FOLD_RESPONSES_UNIT_MONTH: LazyLock<String> =
    LazyLock::new(|| fold_sql(include_str!("sql/rollup_fold_responses.sql"), UNIT_MONTH));
static FOLD_ATTRIBUTE_ANSWERS_UNIT_MONTH: LazyLock<String> = LazyLock::new(|| {
    fold_sql(
        include_str!("sql/rollup_fold_attribute_answers.sql"),
        UNIT_MONTH,
    )
});
static FOLD_ATTRIBUTE_RESPONSES_UNIT_MONTH: LazyLock<String> = LazyLock::new(|| {
    fold_sql(
        include_str!("sql/rollup_fold_attribute_responses.sql"),
        UNIT_MONTH,
    )
});

/// Folds one unit-month again from scratch: its day and month rows are deleted and the
/// responses of the unit in that calendar month (Vietnam's time) with ids up to `upto` (the
/// watermark) that are not excluded are folded again. Exact whatever changed in between
/// (a response excluded or included by an admin, or flagged after it was folded). Runs inside
/// the caller's transaction, which must hold [`ROLLUP_LOCK`].
pub async fn refold_unit_month(
    conn: &mut AsyncPgConnection,
    unit_id: i32,
    month: NaiveDate,
    upto: i64,
) -> diesel::QueryResult<()> {
    use diesel::sql_types::{Date, Int4};
    let month = month.with_day(1).unwrap_or(month);
    let next = month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    let start = vietnam_midnight(month);
    let end = vietnam_midnight(next);
    for table in ["rollup_answers", "rollup_responses"] {
        diesel::sql_query(format!(
            "DELETE FROM {table} WHERE unit_id = $1 AND day >= $2 AND day < $3"
        ))
        .bind::<Int4, _>(unit_id)
        .bind::<Date, _>(month)
        .bind::<Date, _>(next)
        .execute(conn)
        .await?;
    }
    for table in [
        "rollup_answers_month",
        "rollup_answers_month_total",
        "rollup_responses_month",
        "rollup_attribute_answers_month",
        "rollup_attribute_responses_month",
    ] {
        diesel::sql_query(format!(
            "DELETE FROM {table} WHERE unit_id = $1 AND month = $2"
        ))
        .bind::<Int4, _>(unit_id)
        .bind::<Date, _>(month)
        .execute(conn)
        .await?;
    }
    conn.batch_execute(&format!(
        "SET LOCAL work_mem = '{FOLD_WORK_MEM}'; SET LOCAL enable_memoize = off"
    ))
    .await?;
    for sql in [
        FOLD_ANSWERS_UNIT_MONTH.as_str(),
        FOLD_RESPONSES_UNIT_MONTH.as_str(),
        FOLD_ATTRIBUTE_ANSWERS_UNIT_MONTH.as_str(),
        FOLD_ATTRIBUTE_RESPONSES_UNIT_MONTH.as_str(),
    ] {
        diesel::sql_query(sql)
            .bind::<Int8, _>(0)
            .bind::<Int8, _>(upto)
            .bind::<Int4, _>(unit_id)
            .bind::<Timestamptz, _>(start)
            .bind::<Timestamptz, _>(end)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Midnight of `day` in Vietnam (UTC+7, no daylight saving time) as an instant.
fn vietnam_midnight(day: NaiveDate) -> DateTime<Utc> {
    crate::domain::time::start_of_day(day).expect("midnight of a day in range")
}

/// Takes [`ROLLUP_LOCK`] for the current transaction, waiting for a fold in progress, and
/// returns the watermark (every response up to it is folded or excluded).
pub async fn lock_for_change(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<Int8, _>(ROLLUP_LOCK)
        .execute(conn)
        .await?;
    locked_watermark(conn).await
}

#[cfg(test)]
mod tests {
    use super::ROLLUP_LOCK;

    /// Migration 11 counts the responses already examined under the fold's lock, written out
    /// as a number: it must be this one.
    #[test]
    fn the_desk_days_migration_takes_the_rollup_lock() {
        let up = include_str!("../../../migrations/2026-11-27-000011_desk_days/up.sql");
        assert!(up.contains(&format!("pg_advisory_xact_lock({ROLLUP_LOCK})")));
    }
}
