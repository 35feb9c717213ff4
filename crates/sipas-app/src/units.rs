//! Administrative units: create one, change it, deactivate or reactivate it.

use diesel::result::Error as DbError;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::units::{self, NewUnit, Unit, UnitFields, UnitRefusal};
use crate::domain::access::Actor;
use crate::error::refused_if_duplicate;

/// Creates a unit with `code`, audited as "unit.create" by `actor`, under the unit tree's
/// lock. A code taken (before, or at the same moment) is [`UnitRefusal::DuplicateCode`].
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    code: &str,
    fields: &UnitFields,
) -> diesel::QueryResult<Result<Unit, UnitRefusal>> {
    let result = conn
        .transaction::<_, DbError, _>(async |conn| {
            units::lock_tree(conn).await?;
            if Unit::find_by_code(conn, code).await?.is_some() {
                return Ok(Err(UnitRefusal::DuplicateCode));
            }
            if let Some(parent) = fields.parent_id
                && Unit::find(conn, parent).await?.is_none()
            {
                return Ok(Err(UnitRefusal::UnknownParent));
            }
            if admin_code_taken(conn, fields, None).await? {
                return Ok(Err(UnitRefusal::DuplicateAdminCode));
            }
            let unit = Unit::insert(
                conn,
                &NewUnit {
                    parent_id: fields.parent_id,
                    code,
                    name: &fields.name,
                    kind: fields.kind.as_str(),
                    default_form_id: fields.default_form_id.as_deref(),
                    admin_code: fields.admin_code.as_deref(),
                    valid_from: fields.valid_from,
                    valid_until: fields.valid_until,
                },
            )
            .await?;
            audit::record(
                conn,
                &NewAuditEntry::by(
                    actor,
                    "unit.create",
                    "unit",
                    unit.id,
                    None,
                    audit::snapshot(&unit),
                ),
            )
            .await?;
            Ok(Ok(unit))
        })
        .await;
    refused_if_duplicate(result, UnitRefusal::DuplicateCode)
}

/// Whether `fields` give a current unit (no end date) an official code that another current
/// unit than `id` has.
async fn admin_code_taken(
    conn: &mut AsyncPgConnection,
    fields: &UnitFields,
    id: Option<i32>,
) -> diesel::QueryResult<bool> {
    match (&fields.admin_code, fields.valid_until) {
        (Some(code), None) => Ok(Unit::find_current_by_admin_code(conn, code, id)
            .await?
            .is_some()),
        _ => Ok(false),
    }
}

/// Renames, changes the kind, moves, sets the default form, the official code and the validity
/// dates of the unit `id`, under the unit tree's lock, audited as "unit.update" (nothing is
/// written when nothing changes). An official code that another current unit has is
/// [`UnitRefusal::DuplicateAdminCode`].
/// `Err(NotFound)` for an unknown unit.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i32,
    fields: &UnitFields,
) -> diesel::QueryResult<Result<Unit, UnitRefusal>> {
    let result = conn
        .transaction::<_, DbError, _>(async |conn| {
            units::lock_tree(conn).await?;
            let before = Unit::find(conn, id).await?.ok_or(DbError::NotFound)?;
            if let Some(parent) = fields.parent_id
                && parent != before.parent_id.unwrap_or(-1)
            {
                if Unit::find(conn, parent).await?.is_none() {
                    return Ok(Err(UnitRefusal::UnknownParent));
                }
                if Unit::subtree_ids(conn, id).await?.contains(&parent) {
                    return Ok(Err(UnitRefusal::IntoOwnSubtree));
                }
            }
            let unchanged = before.name == fields.name
                && before.kind == fields.kind.as_str()
                && before.parent_id == fields.parent_id
                && before.default_form_id == fields.default_form_id
                && before.admin_code == fields.admin_code
                && before.valid_from == fields.valid_from
                && before.valid_until == fields.valid_until;
            if unchanged {
                return Ok(Ok(before));
            }
            if admin_code_taken(conn, fields, Some(id)).await? {
                return Ok(Err(UnitRefusal::DuplicateAdminCode));
            }
            let after = Unit::update_fields(conn, id, fields).await?;
            audit::record(
                conn,
                &NewAuditEntry::by(
                    actor,
                    "unit.update",
                    "unit",
                    id,
                    audit::snapshot(&before),
                    audit::snapshot(&after),
                ),
            )
            .await?;
            Ok(Ok(after))
        })
        .await;
    refused_if_duplicate(result, UnitRefusal::DuplicateAdminCode)
}

/// Deactivates or reactivates the unit `id` ("unit.deactivate" / "unit.activate"); a
/// deactivated unit's desks stop accepting responses. Nothing is written when the unit is
/// already in that state. `Err(NotFound)` for an unknown unit.
pub async fn set_active(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i32,
    active: bool,
) -> diesel::QueryResult<Unit> {
    conn.transaction::<_, DbError, _>(async |conn| {
        let before = Unit::lock(conn, id).await?;
        if before.active == active {
            return Ok(before);
        }
        let after = Unit::set_active(conn, id, active).await?;
        let action = if active {
            "unit.activate"
        } else {
            "unit.deactivate"
        };
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                action,
                "unit",
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
