//! Fraud signals: changing their thresholds.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::flags::{self, FraudRules};
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
