//! Publishing a plan period's results on the public page, and withdrawing them: one
//! transaction and its audit entry each.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::Error;
use crate::db::audit::{self, NewAuditEntry};
use crate::db::plans::{Period, Plan};
use crate::db::published::{Published, audit_summary};
use crate::domain::access::Actor;
use crate::forms::FormRegistry;

/// Publishes `plan`'s `period` as its figures are now (`crate::reports::published_snapshot`),
/// replacing an earlier publication of it; audited as "results.publish" with the summary of the
/// earlier one as `before`.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    actor: &Actor,
    plan: &Plan,
    period: &Period,
) -> Result<Published, Error> {
    let snapshot = crate::reports::published_snapshot(conn, forms, plan, period).await?;
    let published = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let before = Published::lock_for_period(conn, snapshot.period.id).await?;
            let published = Published::upsert(conn, actor, &snapshot).await?;
            audit::record(
                conn,
                &NewAuditEntry::by(
                    actor,
                    "results.publish",
                    "period",
                    snapshot.period.id,
                    before.as_ref().map(audit_summary),
                    Some(audit_summary(&published)),
                ),
            )
            .await?;
            Ok(published)
        })
        .await?;
    Ok(published)
}

/// Withdraws the publication of `period_id`, audited as "results.unpublish". `None` when it
/// was not published (nothing written).
pub async fn unpublish(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    period_id: i32,
) -> Result<Option<Published>, Error> {
    let removed = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let removed = Published::delete_for_period(conn, period_id).await?;
            if let Some(removed) = &removed {
                audit::record(
                    conn,
                    &NewAuditEntry::by(
                        actor,
                        "results.unpublish",
                        "period",
                        period_id,
                        Some(audit_summary(removed)),
                        None,
                    ),
                )
                .await?;
            }
            Ok(removed)
        })
        .await?;
    Ok(removed)
}
