//! Retention: how long personal and linkable data is kept, and the queries of the purge that
//! applies it (issue 15; the record of processing is docs/privacy.md).
//!
//! The purge itself is `sipas_app::retention::purge`: every rule in one transaction ([`run`]),
//! under a transaction-level advisory lock ([`lock`]: two instances never purge at once), with
//! one audit entry (`privacy.purge`: the rules and the counts, never any content). A dry run
//! counts what the purge would change with the same predicates (`sql/retention_targets.sql`)
//! in a read-only transaction ([`set_read_only`]), changes nothing and writes no audit entry.
//! The daily task (`sipas_app::retention::purge_if_due`, run by
//! `sipas_app::background::RetentionTask`) purges when no purge was recorded in the last
//! [`DAILY`] less a margin ([`try_lock_when_due`]), so any number of instances purge about once
//! a day between them.
//!
//! What each rule does:
//! - comments (`response_texts`): deleted `comments_days` after the response was sent;
//! - client keys: `responses.client_key` set NULL `client_keys_days` after the response was
//!   sent (once the fraud detection has examined it), and the sign-in throttle's failures
//!   (`sign_in_failures`: the user name as typed and the client's key) deleted as old;
//! - limit buckets (`visit_limits`) untouched for `limits_days` deleted;
//! - flags' evidence: `response_flags.detail` (the counts, seconds, times behind a signal) set
//!   to `{}` and `responses.started_at` (when the form was shown) set NULL `flag_evidence_days`
//!   after the response was sent; the flag itself (reason, severity) and the admin's decision
//!   stay, since the published figures depend on them;
//! - dossier numbers of one-time codes (`visit_codes.dossier_no`) set NULL `dossier_days` after
//!   the code was minted;
//! - exported files: done jobs past their expiry, or finished more than `exports_days` ago,
//!   marked expired; the caller deletes their files after the commit
//!   (`crate::export::jobs::delete_files`).

use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Int4, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

/// Key of the advisory lock held while purging (transaction level).
pub const RETENTION_LOCK: i64 = 0x5349_5041_535f_5052;

/// The audit action of a purge.
pub const AUDIT_ACTION: &str = "privacy.purge";

/// How often the daily task purges.
pub const DAILY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

const TARGETS: &str = include_str!("sql/retention_targets.sql");
const APPLY: &str = include_str!("sql/retention_apply.sql");
const COUNT: &str = include_str!("sql/retention_count.sql");

pub use crate::domain::retention::{DEFAULTS, RANGES, Ranges, Rules};

/// What a purge removed or cleared (or, dry, would).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Comments (`response_texts` rows) deleted.
    pub comments: i64,
    /// Responses whose `client_key` was cleared.
    pub client_keys: i64,
    /// Sign-in throttle rows deleted.
    pub sign_in_failures: i64,
    /// Limit buckets deleted.
    pub limit_buckets: i64,
    /// Flags whose detail was cleared.
    pub flag_details: i64,
    /// Responses whose `started_at` was cleared.
    pub start_times: i64,
    /// One-time codes whose dossier number was cleared.
    pub dossier_numbers: i64,
    /// Export jobs marked expired (their files to delete).
    pub exports: i64,
}

impl Counts {
    pub fn total(&self) -> i64 {
        self.comments
            + self.client_keys
            + self.sign_in_failures
            + self.limit_buckets
            + self.flag_details
            + self.start_times
            + self.dossier_numbers
            + self.exports
    }
}

/// What a purge did, or would do when `dry_run` (see [`run`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purge {
    pub dry_run: bool,
    pub rules: Rules,
    pub counts: Counts,
    /// The exports expired (or, dry, to expire): file key and format (`export_jobs.format`),
    /// whose files the caller deletes after a real purge.
    pub expired_files: Vec<(uuid::Uuid, String)>,
}

/// Who purged, for the audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgedBy {
    CommandLine,
    DailyTask,
}

impl PurgedBy {
    /// As the audit entry's `by` records it.
    pub fn as_str(self) -> &'static str {
        match self {
            PurgedBy::CommandLine => "command line",
            PurgedBy::DailyTask => "daily task",
        }
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    comments: i64,
    #[diesel(sql_type = BigInt)]
    client_keys: i64,
    #[diesel(sql_type = BigInt)]
    sign_in_failures: i64,
    #[diesel(sql_type = BigInt)]
    limit_buckets: i64,
    #[diesel(sql_type = BigInt)]
    flag_details: i64,
    #[diesel(sql_type = BigInt)]
    start_times: i64,
    #[diesel(sql_type = BigInt)]
    dossier_numbers: i64,
    #[diesel(sql_type = Array<diesel::sql_types::Uuid>)]
    export_keys: Vec<uuid::Uuid>,
    #[diesel(sql_type = Array<Text>)]
    export_formats: Vec<String>,
}

fn days(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Applies every rule (or, `dry_run`, counts what it would change), in the caller's
/// transaction: the purge's one statement, with the statement timeout lifted for that
/// transaction.
pub async fn run(
    conn: &mut AsyncPgConnection,
    rules: &Rules,
    dry_run: bool,
) -> diesel::QueryResult<Purge> {
    // The first purge of an installation with years of data may take longer than a request
    // may (the sessions' statement_timeout): lifted for this transaction only.
    diesel::sql_query("SET LOCAL statement_timeout = 0")
        .execute(conn)
        .await?;
    let sql = format!("{TARGETS}{}", if dry_run { COUNT } else { APPLY });
    let row: Row = diesel::sql_query(sql)
        .bind::<Int4, _>(days(rules.comments_days))
        .bind::<Int4, _>(days(rules.client_keys_days))
        .bind::<Int4, _>(days(rules.limits_days))
        .bind::<Int4, _>(days(rules.flag_evidence_days))
        .bind::<Int4, _>(days(rules.dossier_days))
        .bind::<Int4, _>(days(rules.exports_days))
        .get_result(conn)
        .await?;
    let expired_files: Vec<(uuid::Uuid, String)> = row
        .export_keys
        .into_iter()
        .zip(row.export_formats)
        .collect();
    Ok(Purge {
        dry_run,
        rules: *rules,
        counts: Counts {
            comments: row.comments,
            client_keys: row.client_keys,
            sign_in_failures: row.sign_in_failures,
            limit_buckets: row.limit_buckets,
            flag_details: row.flag_details,
            start_times: row.start_times,
            dossier_numbers: row.dossier_numbers,
            exports: expired_files.len() as i64,
        },
        expired_files,
    })
}

/// Makes the caller's transaction read-only (a dry run's).
pub async fn set_read_only(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SET TRANSACTION READ ONLY")
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the purge's advisory lock until the end of the transaction, waiting for a purge in
/// progress elsewhere to finish first.
pub async fn lock(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::Int8, _>(RETENTION_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// What `sipas_app::retention::purge_if_due` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    Purged(Purge),
    /// Another instance is purging now.
    Busy,
    /// A purge was recorded less than `min_interval` ago.
    NotDue,
}

/// What [`try_lock_when_due`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct DueCheck {
    /// The purge's advisory lock was free, and is now held until the end of the transaction.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub locked: bool,
    /// A purge (by anyone) was recorded within `min_interval`.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub recent: bool,
}

/// Tries the purge's advisory lock (held until the end of the transaction when taken, never
/// waited for) and checks whether a purge was recorded within `min_interval`, in one
/// statement.
pub async fn try_lock_when_due(
    conn: &mut AsyncPgConnection,
    min_interval: std::time::Duration,
) -> diesel::QueryResult<DueCheck> {
    diesel::sql_query(
        "SELECT pg_try_advisory_xact_lock($1) AS locked, \
                EXISTS (SELECT 1 FROM audit_log WHERE action = $2 \
                          AND at > now() - make_interval(secs => $3)) AS recent",
    )
    .bind::<diesel::sql_types::Int8, _>(RETENTION_LOCK)
    .bind::<Text, _>(AUDIT_ACTION)
    .bind::<diesel::sql_types::Double, _>(min_interval.as_secs_f64())
    .get_result(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_within_their_ranges() {
        let within = |n: u32, (lo, hi): (u32, u32)| (lo..=hi).contains(&n);
        assert!(within(DEFAULTS.comments_days, RANGES.comments_days));
        assert!(within(DEFAULTS.client_keys_days, RANGES.client_keys_days));
        assert!(within(DEFAULTS.limits_days, RANGES.limits_days));
        assert!(within(
            DEFAULTS.flag_evidence_days,
            RANGES.flag_evidence_days
        ));
        assert!(within(DEFAULTS.dossier_days, RANGES.dossier_days));
    }

    #[test]
    fn the_purge_and_the_dry_run_share_their_targets_and_columns() {
        for column in [
            "comments",
            "client_keys",
            "sign_in_failures",
            "limit_buckets",
            "flag_details",
            "start_times",
            "dossier_numbers",
            "export_keys",
            "export_formats",
        ] {
            let alias = format!(") AS {column}");
            assert!(APPLY.contains(&alias), "{column} in the purge");
            assert!(COUNT.contains(&alias), "{column} in the dry run");
        }
        assert!(TARGETS.contains("WITH folded AS"));
        // The purge continues the WITH list of the targets.
        assert!(APPLY.contains("\n,\ndeleted_comments AS ("));
    }
}
