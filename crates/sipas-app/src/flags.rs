//! Fraud signals: changing their thresholds, and an admin's decision on a flagged response.

use diesel::result::Error as DbError;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::flags::{self, Decision, FraudRules};
use crate::db::rollup;
use crate::domain::access::Actor;

/// Replaces the thresholds by `new` (checked by the caller; the table's CHECKs are the last
/// guard), audited as "fraud_rules.update" with both, in one transaction. Only responses
/// examined after the change are judged by the new thresholds: flags already raised stay.
pub async fn update_rules(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    new: &FraudRules,
) -> diesel::QueryResult<()> {
    conn.transaction(async |conn| {
        // Locked first, so that the audit's "before" is what this update replaces.
        let before = flags::lock_rules(conn).await?;
        flags::set_rules(conn, new).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "fraud_rules.update",
                "fraud_rules",
                "rules",
                serde_json::to_value(&before).ok(),
                serde_json::to_value(new).ok(),
            ),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Records `actor`'s decision on the flagged response `response_id`, in one transaction under
/// the rollups' lock: the decision, the rollups of the response's unit-month folded again when
/// whether it counts changed, and the audit entry ("response.include" / "response.exclude",
/// with the review before and after). `NotFound` when the response is not flagged.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    response_id: i64,
    decision: Decision,
    note: Option<&str>,
) -> diesel::QueryResult<()> {
    conn.transaction(async |conn| {
        let watermark = rollup::lock_for_change(conn).await?;
        let before = flags::lock_review(conn, response_id)
            .await?
            .ok_or(DbError::NotFound)?;
        let excluded = decision == Decision::Exclude;
        flags::record_decision(conn, response_id, decision, actor.account_id, note).await?;
        if excluded != before.excluded && response_id <= watermark {
            rollup::refold_unit_month(conn, before.unit_id, before.month, watermark).await?;
        }
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                match decision {
                    Decision::Include => "response.include",
                    Decision::Exclude => "response.exclude",
                },
                "response",
                response_id,
                Some(serde_json::json!({
                    "excluded": before.excluded,
                    "excluded_by_default": before.excluded_by_default,
                    "decision": before.decision,
                    "note": before.note,
                })),
                Some(serde_json::json!({
                    "excluded": excluded,
                    "decision": decision.as_str(),
                    "note": note,
                })),
            ),
        )
        .await?;
        Ok(())
    })
    .await
}
