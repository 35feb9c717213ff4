//! API tokens: creating one for one's own account, revoking one.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::tokens::{ApiToken, TokenRefusal};
use crate::domain::access::Actor;

/// Creates a token named `name` for `actor`'s own account, storing only `sha256`, audited as
/// "token.create". Creations of one account are taken one at a time (an advisory lock), so
/// that two equal names cannot both pass.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    name: &str,
    sha256: &[u8; 32],
) -> diesel::QueryResult<Result<ApiToken, TokenRefusal>> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        ApiToken::lock_creation(conn, actor.account_id).await?;
        if ApiToken::name_in_use(conn, actor.account_id, name).await? {
            return Ok(Err(TokenRefusal::DuplicateName));
        }
        let token = ApiToken::insert(conn, actor.account_id, name, sha256).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "token.create",
                "api_token",
                token.id,
                None,
                audit::snapshot(&token),
            ),
        )
        .await?;
        Ok(Ok(token))
    })
    .await
}

/// Revokes the token `id` (already revoked: nothing changes, nothing written), audited as
/// "token.revoke". Returns the token as it is after. `Err(NotFound)` for an unknown token.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i32,
) -> diesel::QueryResult<ApiToken> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let before = ApiToken::find_for_update(conn, id).await?;
        if !before.is_active() {
            return Ok(before);
        }
        let after = ApiToken::revoke(conn, id).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "token.revoke",
                "api_token",
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
