//! Staff accounts: the use cases an account does on itself.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::accounts::Account;
use crate::db::audit::{self, NewAuditEntry};
use crate::domain::access::Actor;

/// Sets the acting account's own password hash (hashed off the async threads by the caller),
/// audited as "account.change_own_password" (that it changed, never the hash).
pub async fn change_own_password(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    hash: &str,
) -> diesel::QueryResult<Account> {
    conn.transaction(async |conn| {
        let account = Account::set_password_hash(conn, actor.account_id, hash).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "account.change_own_password",
                "account",
                actor.account_id,
                None,
                Some(serde_json::json!({ "password": "changed" })),
            ),
        )
        .await?;
        Ok(account)
    })
    .await
}
