//! Export jobs ("Xuất dữ liệu"): what staff asked for, the background runner's progress, and
//! the file kept for download (see `crate::export::jobs`).
//!
//! Ownership: a job belongs to the account that asked for it. Every query the web side makes
//! takes that account's id: an account lists, opens and downloads only its own jobs, admins
//! included (an admin who needs the same file makes the same export; who exported what is in
//! the audit log). The runner's queries (claim, heartbeat, finish, recovery, expiry) are the
//! only ones without an owner.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Int2, Int4, Nullable, Text};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::export_jobs;

/// The states of a job.
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";
/// Done, and its file deleted after `expires_at`.
pub const EXPIRED: &str = "expired";

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = export_jobs)]
pub struct ExportJob {
    pub id: i32,
    pub account_id: i32,
    /// The account's units (with their subtrees) when it asked; None: every unit.
    pub scope: Option<Vec<Option<i32>>>,
    pub unit_id: i32,
    pub year: i16,
    /// A period token of `crate::periods` ("2026-q1", "p12", ...).
    pub period: String,
    pub form_id: String,
    pub channel: Option<String>,
    /// `crate::export::ExportFormat::as_str`: "xlsx", "csv", "codebook", "sps" or "zip".
    pub format: String,
    pub label: String,
    pub status: String,
    pub attempts: i16,
    pub rows_done: i64,
    pub rows_total: Option<i64>,
    /// The file on disk is `{file_key}.{extension}`.
    pub file_key: uuid::Uuid,
    pub file_name: Option<String>,
    pub byte_size: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ExportJob {
    pub fn is_done(&self) -> bool {
        self.status == DONE
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), DONE | FAILED | EXPIRED)
    }

    /// The scope the job was asked within, as unit ids (None: every unit).
    pub fn scope_ids(&self) -> Option<Vec<i32>> {
        self.scope
            .as_ref()
            .map(|ids| ids.iter().flatten().copied().collect())
    }

    /// Progress in percent, when the total is known (100 once done).
    pub fn percent(&self) -> Option<u8> {
        if self.status == DONE {
            return Some(100);
        }
        let total = self.rows_total.filter(|t| *t > 0)?;
        Some(((self.rows_done.min(total) * 100) / total).min(99) as u8)
    }
}

/// A job to queue.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = export_jobs)]
pub struct NewExportJob<'a> {
    pub account_id: i32,
    pub scope: Option<Vec<i32>>,
    pub unit_id: i32,
    pub year: i16,
    pub period: &'a str,
    pub form_id: &'a str,
    pub channel: Option<&'a str>,
    pub format: &'a str,
    pub label: &'a str,
    pub rows_total: Option<i64>,
    pub file_name: Option<&'a str>,
}

/// Inserts a queued job (`sipas_app::exports::create` queues it with its audit entry).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    job: &NewExportJob<'_>,
) -> diesel::QueryResult<ExportJob> {
    diesel::insert_into(export_jobs::table)
        .values(job)
        .returning(ExportJob::as_returning())
        .get_result(conn)
        .await
}

/// The job `id` when it belongs to `account_id`.
pub async fn find_own(
    conn: &mut AsyncPgConnection,
    id: i32,
    account_id: i32,
) -> diesel::QueryResult<Option<ExportJob>> {
    export_jobs::table
        .filter(export_jobs::id.eq(id))
        .filter(export_jobs::account_id.eq(account_id))
        .select(ExportJob::as_select())
        .get_result(conn)
        .await
        .optional()
}

/// The newest `limit` jobs of `account_id`.
pub async fn list_own(
    conn: &mut AsyncPgConnection,
    account_id: i32,
    limit: i64,
) -> diesel::QueryResult<Vec<ExportJob>> {
    export_jobs::table
        .filter(export_jobs::account_id.eq(account_id))
        .order(export_jobs::id.desc())
        .limit(limit)
        .select(ExportJob::as_select())
        .load(conn)
        .await
}

/// The job `id`, whoever owns it (for the runner and the page's wait).
pub async fn find(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<Option<ExportJob>> {
    export_jobs::table
        .find(id)
        .select(ExportJob::as_select())
        .get_result(conn)
        .await
        .optional()
}

/// Takes the oldest queued job, if any, and marks it running (one more attempt). Several
/// instances may claim at once: each gets a different job or none (`SKIP LOCKED`).
pub async fn claim_next(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<ExportJob>> {
    diesel::sql_query(
        "UPDATE export_jobs SET status = 'running', attempts = attempts + 1, \
             started_at = now(), heartbeat_at = now(), rows_done = 0, error = NULL \
         WHERE id = (SELECT id FROM export_jobs WHERE status = 'queued' \
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING *",
    )
    .get_result::<ExportJob>(conn)
    .await
    .optional()
}

/// Records progress of attempt `attempt` of a running job (and that its process is alive).
/// False when the job is no longer this attempt's (requeued as stale, or gone): the attempt
/// must stop.
pub async fn heartbeat(
    conn: &mut AsyncPgConnection,
    id: i32,
    attempt: i16,
    rows_done: i64,
    rows_total: Option<i64>,
) -> diesel::QueryResult<bool> {
    let updated = diesel::sql_query(
        "UPDATE export_jobs SET heartbeat_at = now(), rows_done = $3, \
             rows_total = coalesce($4, rows_total) \
         WHERE id = $1 AND attempts = $2 AND status = 'running'",
    )
    .bind::<Int4, _>(id)
    .bind::<Int2, _>(attempt)
    .bind::<BigInt, _>(rows_done)
    .bind::<Nullable<BigInt>, _>(rows_total)
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Marks attempt `attempt` done: the file is in place, kept for `keep`. False when the job was
/// no longer this attempt's.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    id: i32,
    attempt: i16,
    file_name: &str,
    byte_size: i64,
    rows: i64,
    keep: std::time::Duration,
) -> diesel::QueryResult<bool> {
    let updated = diesel::sql_query(
        "UPDATE export_jobs SET status = 'done', file_name = $3, byte_size = $4, \
             rows_done = $5, rows_total = $5, heartbeat_at = now(), finished_at = now(), \
             expires_at = now() + make_interval(secs => $6) \
         WHERE id = $1 AND attempts = $2 AND status = 'running'",
    )
    .bind::<Int4, _>(id)
    .bind::<Int2, _>(attempt)
    .bind::<Text, _>(file_name)
    .bind::<BigInt, _>(byte_size)
    .bind::<BigInt, _>(rows)
    .bind::<diesel::sql_types::Double, _>(keep.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Marks attempt `attempt` failed with `message` (Vietnamese, shown to the user).
pub async fn fail(
    conn: &mut AsyncPgConnection,
    id: i32,
    attempt: i16,
    message: &str,
) -> diesel::QueryResult<bool> {
    let updated = diesel::sql_query(
        "UPDATE export_jobs SET status = 'failed', error = $3, finished_at = now() \
         WHERE id = $1 AND attempts = $2 AND status = 'running'",
    )
    .bind::<Int4, _>(id)
    .bind::<Int2, _>(attempt)
    .bind::<Text, _>(message)
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Puts attempt `attempt` of a running job back in the queue, not counted as an attempt: its
/// process is stopping, another instance (or the next start) runs it.
pub async fn release(
    conn: &mut AsyncPgConnection,
    id: i32,
    attempt: i16,
) -> diesel::QueryResult<bool> {
    let updated = diesel::sql_query(
        "UPDATE export_jobs SET status = 'queued', attempts = attempts - 1, rows_done = 0 \
         WHERE id = $1 AND attempts = $2 AND status = 'running'",
    )
    .bind::<Int4, _>(id)
    .bind::<Int2, _>(attempt)
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// What [`recover_stale`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs put back in the queue.
    pub requeued: Vec<i32>,
    /// Jobs that had used up their attempts, now failed with `gave_up_message`.
    pub failed: Vec<i32>,
}

#[derive(QueryableByName)]
struct IdStatus {
    #[diesel(sql_type = Int4)]
    id: i32,
    #[diesel(sql_type = Text)]
    status: String,
}

/// Running jobs whose heartbeat is older than `stale` belong to a process that died: back to
/// the queue, or failed with `gave_up_message` after `max_attempts` attempts (a job that kills
/// its process every time must not do so forever).
pub async fn recover_stale(
    conn: &mut AsyncPgConnection,
    stale: std::time::Duration,
    max_attempts: i16,
    gave_up_message: &str,
) -> diesel::QueryResult<Recovered> {
    let rows: Vec<IdStatus> = diesel::sql_query(
        "UPDATE export_jobs SET \
             status = CASE WHEN attempts >= $2 THEN 'failed' ELSE 'queued' END, \
             error = CASE WHEN attempts >= $2 THEN $3 END, \
             finished_at = CASE WHEN attempts >= $2 THEN now() END, \
             rows_done = 0 \
         WHERE id IN (SELECT id FROM export_jobs WHERE status = 'running' \
                        AND heartbeat_at < now() - make_interval(secs => $1) \
                      FOR UPDATE SKIP LOCKED) \
         RETURNING id, status",
    )
    .bind::<diesel::sql_types::Double, _>(stale.as_secs_f64())
    .bind::<Int2, _>(max_attempts)
    .bind::<Text, _>(gave_up_message)
    .load(conn)
    .await?;
    let mut recovered = Recovered::default();
    for row in rows {
        if row.status == QUEUED {
            recovered.requeued.push(row.id);
        } else {
            recovered.failed.push(row.id);
        }
    }
    Ok(recovered)
}

/// Done jobs past their expiry become expired; returns their file keys and formats, whose
/// files the caller deletes.
pub async fn expire(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<Vec<(uuid::Uuid, String)>> {
    #[derive(QueryableByName)]
    struct KeyFormat {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        file_key: uuid::Uuid,
        #[diesel(sql_type = Text)]
        format: String,
    }
    let rows: Vec<KeyFormat> = diesel::sql_query(
        "UPDATE export_jobs SET status = 'expired' \
         WHERE id IN (SELECT id FROM export_jobs WHERE status = 'done' AND expires_at < now() \
                      FOR UPDATE SKIP LOCKED) \
         RETURNING file_key, format",
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.file_key, r.format)).collect())
}
