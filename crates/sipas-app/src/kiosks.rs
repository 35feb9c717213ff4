//! Kiosks: enrolling a desk's rating device, revoking one.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::kiosks::{self, DeviceCookie, Kiosk, KioskLabel};
use crate::domain::access::Actor;

/// Enrols a new kiosk for `desk_id` (the caller checked the account may change the desk),
/// audited as "kiosk.enrol", in one transaction. Returns the kiosk and the cookie for the
/// device.
pub async fn enrol(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    desk_id: i32,
    label: &KioskLabel,
) -> diesel::QueryResult<(Kiosk, DeviceCookie)> {
    conn.transaction(async |conn| {
        let (kiosk, cookie) = kiosks::insert(conn, desk_id, label, actor.account_id).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "kiosk.enrol",
                "kiosk",
                kiosk.id,
                None,
                Some(json!({ "desk": desk_id, "label": label.as_str() })),
            ),
        )
        .await?;
        Ok((kiosk, cookie))
    })
    .await
}

/// Revokes kiosk `id` of `desk_id`, audited as "kiosk.revoke"; one already revoked is left as
/// it is (no second entry). `false`: the desk has no such kiosk.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    desk_id: i32,
    id: i32,
) -> diesel::QueryResult<bool> {
    conn.transaction(async |conn| {
        let Some(kiosk) = kiosks::revoke(conn, desk_id, id, actor.account_id).await? else {
            return kiosks::exists(conn, desk_id, id).await;
        };
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "kiosk.revoke",
                "kiosk",
                kiosk.id,
                Some(json!({ "desk": desk_id, "label": kiosk.label })),
                None,
            ),
        )
        .await?;
        Ok(true)
    })
    .await
}
