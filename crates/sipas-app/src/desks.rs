//! Reception desks: create one, change it, deactivate or reactivate it, give it a new public
//! code.

use diesel::result::Error as DbError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::desks::{Desk, DeskFields, DeskRefusal, NewDesk};
use crate::domain::access::Actor;
use crate::error::refused_if_duplicate;

/// Creates a desk of `unit_id` with a fresh public code, audited as "desk.create". The unit is
/// locked for share meanwhile; a name taken at the same moment is refused as a duplicate.
/// `Err(NotFound)` for an unknown unit.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    unit_id: i32,
    fields: &DeskFields,
) -> diesel::QueryResult<Result<(Desk, String), DeskRefusal>> {
    let result = conn
        .transaction::<_, DbError, _>(async |conn| {
            if !Desk::lock_unit(conn, unit_id).await? {
                return Ok(Err(DeskRefusal::UnitInactive));
            }
            if Desk::find_for_unit_by_name(conn, unit_id, &fields.name)
                .await?
                .is_some()
            {
                return Ok(Err(DeskRefusal::DuplicateName));
            }
            let (desk, code) = Desk::create(
                conn,
                &NewDesk {
                    unit_id,
                    name: &fields.name,
                    form_id: fields.form_id.as_deref(),
                },
            )
            .await?;
            let desk = match &fields.opening_hours {
                Some(hours) => Desk::set_opening_hours(conn, desk.id, hours).await?,
                None => desk,
            };
            let after = json!({ "desk": desk, "code": code });
            audit::record(
                conn,
                &NewAuditEntry::by(actor, "desk.create", "desk", desk.id, None, Some(after)),
            )
            .await?;
            Ok(Ok((desk, code)))
        })
        .await;
    refused_if_duplicate(result, DeskRefusal::DuplicateName)
}

/// Renames the desk `id`, sets its form and its opening hours (`fields.opening_hours` `None`:
/// kept), audited as "desk.update" (nothing is written when nothing changes). A name taken at
/// the same moment is refused as a duplicate. `Err(NotFound)` for an unknown desk.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i32,
    fields: &DeskFields,
) -> diesel::QueryResult<Result<Desk, DeskRefusal>> {
    let result = conn
        .transaction::<_, DbError, _>(async |conn| {
            let before = Desk::find_for_update(conn, id).await?;
            let opening_hours = fields
                .opening_hours
                .clone()
                .unwrap_or_else(|| before.opening_hours.clone());
            if before.name == fields.name
                && before.form_id == fields.form_id
                && before.opening_hours == opening_hours
            {
                return Ok(Ok(before));
            }
            if before.name != fields.name
                && Desk::find_for_unit_by_name(conn, before.unit_id, &fields.name)
                    .await?
                    .is_some()
            {
                return Ok(Err(DeskRefusal::DuplicateName));
            }
            let after = Desk::update(
                conn,
                id,
                &fields.name,
                fields.form_id.as_deref(),
                &opening_hours,
            )
            .await?;
            audit::record(
                conn,
                &NewAuditEntry::by(
                    actor,
                    "desk.update",
                    "desk",
                    id,
                    audit::snapshot(&before),
                    audit::snapshot(&after),
                ),
            )
            .await?;
            Ok(Ok(after))
        })
        .await;
    refused_if_duplicate(result, DeskRefusal::DuplicateName)
}

/// Deactivates or reactivates the desk `id` ("desk.deactivate" / "desk.activate"). Nothing is
/// written when the desk is already in that state. `Err(NotFound)` for an unknown desk.
pub async fn set_active(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i32,
    active: bool,
) -> diesel::QueryResult<Desk> {
    conn.transaction::<_, DbError, _>(async |conn| {
        let before = Desk::find_for_update(conn, id).await?;
        if before.active == active {
            return Ok(before);
        }
        let after = Desk::set_active(conn, id, active).await?;
        let action = if active {
            "desk.activate"
        } else {
            "desk.deactivate"
        };
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                action,
                "desk",
                id,
                audit::snapshot(&before),
                audit::snapshot(&after),
            ),
        )
        .await?;
        Ok(after)
    })
    .await
}

/// Gives the desk `id` a new public code (the old one stops accepting), audited as
/// "desk.rotate_code" with the old and new codes. The desk is locked meanwhile, so that two
/// rotations at once do not race for the active code. `Err(NotFound)` for an unknown desk.
pub async fn rotate_code(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i32,
) -> diesel::QueryResult<String> {
    conn.transaction::<_, DbError, _>(async |conn| {
        Desk::lock(conn, id).await?;
        let old = Desk::current_code(conn, id).await?;
        let new = Desk::rotate_code(conn, id).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "desk.rotate_code",
                "desk",
                id,
                Some(json!({ "code": old })),
                Some(json!({ "code": new })),
            ),
        )
        .await?;
        Ok(new)
    })
    .await
}
