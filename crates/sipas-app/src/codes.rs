//! One-time codes ("mã đánh giá"): minting a batch.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::desks::DeskRow;
use crate::db::visits::{self, Minter, VisitCode};
use crate::domain::access::Actor;

/// Mints one code per entry of `plan` (a dossier number or none) for `desk`, as `actor` (through
/// the API token `token_id`, if any), audited as "visit_codes.mint" in the same transaction.
/// The entry counts the codes and those with a dossier number, never the numbers.
pub async fn mint(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    desk: &DeskRow,
    plan: &[Option<String>],
    token_id: Option<i32>,
) -> diesel::QueryResult<Vec<VisitCode>> {
    let minter = Minter {
        account_id: actor.account_id,
        token_id,
    };
    let codes = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let codes = visits::mint(conn, desk.desk_id, plan, minter).await?;
            let batch = codes.first().map(|c| c.batch);
            audit::record(
                conn,
                &NewAuditEntry::by(
                    actor,
                    "visit_codes.mint",
                    "desk",
                    desk.desk_id,
                    None,
                    Some(serde_json::json!({
                        "batch": batch,
                        "codes": codes.len(),
                        "with_dossier_no": plan.iter().filter(|d| d.is_some()).count(),
                        "unit": desk.unit_id,
                        "api_token": token_id,
                    })),
                ),
            )
            .await?;
            Ok(codes)
        })
        .await?;
    tracing::info!(
        desk = desk.desk_id,
        codes = codes.len(),
        account = actor.account_id,
        "one-time codes minted"
    );
    Ok(codes)
}
