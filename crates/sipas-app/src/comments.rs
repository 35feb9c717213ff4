//! Comments ("góp ý"): marking one as handled, or re-opening it.

use diesel::result::Error as DbError;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::comments::{self, CommentKey, HandleRefusal, Handling};
use crate::domain::access::Actor;

/// Marks the comment `key` as handled by `actor` now (the database's clock) with `note`, its
/// row locked, audited as "comment.handle". A comment already handled is left as it is
/// ([`HandleRefusal::AlreadyHandled`]). `Err(NotFound)` for an unknown comment.
pub async fn handle(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: CommentKey,
    note: &str,
) -> diesel::QueryResult<Result<Handling, HandleRefusal>> {
    conn.transaction::<_, DbError, _>(async |conn| {
        let before = comments::lock(conn, key).await?;
        if before.handled_at.is_some() {
            return Ok(Err(HandleRefusal::AlreadyHandled(before)));
        }
        let after = comments::mark_handled(conn, key, actor.account_id, note).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "comment.handle",
                "comment",
                key.path(),
                audit::snapshot(&before),
                audit::snapshot(&after),
            ),
        )
        .await?;
        Ok(Ok(after))
    })
    .await
}

/// Clears the handling of the comment `key` ("Mở lại"), its row locked, audited as
/// "comment.reopen". Nothing is written when it is not handled. `Err(NotFound)` for an unknown
/// comment.
pub async fn reopen(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: CommentKey,
) -> diesel::QueryResult<Handling> {
    conn.transaction::<_, DbError, _>(async |conn| {
        let before = comments::lock(conn, key).await?;
        if before.handled_at.is_none() {
            return Ok(before);
        }
        let after = comments::clear_handling(conn, key).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "comment.reopen",
                "comment",
                key.path(),
                audit::snapshot(&before),
                audit::snapshot(&after),
            ),
        )
        .await?;
        Ok(after)
    })
    .await
}
