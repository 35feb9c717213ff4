//! Export jobs ("Xuất dữ liệu"): queuing one, with its audit entry (the runner that writes
//! the file is `sipas_export::jobs`).

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::exports::{self, ExportJob, NewExportJob};
use crate::domain::access::Actor;

/// Queues `job` for `actor`, audited as "export.create" on the job (its id as the entity id,
/// `details` as what it exports), in one transaction: data leaving the service is recorded
/// like a change.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    job: &NewExportJob<'_>,
    details: serde_json::Value,
) -> diesel::QueryResult<ExportJob> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let created = exports::insert(conn, job).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "export.create",
                "export_job",
                created.id,
                None,
                Some(details),
            ),
        )
        .await?;
        Ok(created)
    })
    .await
}
