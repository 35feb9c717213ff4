//! Retention (issue 15): the purge that applies the keeping rules, by hand (`sipas purge`) or by
//! the daily task (`crate::background::RetentionTask`). What each rule does, and the queries,
//! are in `crate::db::retention`; the record of processing is docs/privacy.md.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::retention::{self, AUDIT_ACTION, Due, Purge, PurgedBy, Rules};

/// The audit entry of a purge: who, the rules and the counts (never content).
fn audit_entry(purge: &Purge, by: PurgedBy) -> NewAuditEntry<'static> {
    NewAuditEntry {
        account_id: None,
        action: AUDIT_ACTION,
        entity: "privacy",
        entity_id: None,
        before: None,
        after: Some(serde_json::json!({
            "by": by.as_str(),
            "rules": purge.rules,
            "counts": purge.counts,
        })),
    }
}

/// Applies every rule in one transaction with one audit entry (`privacy.purge`, by `by`),
/// under the purge's advisory lock, waiting for a purge in progress elsewhere to finish first;
/// or, `dry_run`, counts what it would change in a read-only transaction and changes nothing
/// (no audit entry either). The caller deletes the expired exports' files after a real purge.
pub async fn purge(
    conn: &mut AsyncPgConnection,
    rules: &Rules,
    dry_run: bool,
    by: PurgedBy,
) -> diesel::QueryResult<Purge> {
    if dry_run {
        return conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                retention::set_read_only(conn).await?;
                retention::run(conn, rules, true).await
            })
            .await;
    }
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        retention::lock(conn).await?;
        let purge = retention::run(conn, rules, false).await?;
        audit::record(conn, &audit_entry(&purge, by)).await?;
        Ok(purge)
    })
    .await
}

/// The daily task's step: purges (audited as the daily task) unless another instance is
/// purging or a purge (by anyone) was recorded within `min_interval`. The check and the purge
/// are one transaction under the lock, so two instances never both purge.
pub async fn purge_if_due(
    conn: &mut AsyncPgConnection,
    rules: &Rules,
    min_interval: std::time::Duration,
) -> diesel::QueryResult<Due> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let check = retention::try_lock_when_due(conn, min_interval).await?;
        if !check.locked {
            return Ok(Due::Busy);
        }
        if check.recent {
            return Ok(Due::NotDue);
        }
        let purge = retention::run(conn, rules, false).await?;
        audit::record(conn, &audit_entry(&purge, PurgedBy::DailyTask)).await?;
        Ok(Due::Purged(purge))
    })
    .await
}
