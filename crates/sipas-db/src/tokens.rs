//! API tokens (see `crate::auth::token`): only the SHA-256 of each token is stored.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::accounts::Account;
use super::audit;
use super::schema::{accounts, api_tokens};
use crate::domain::access::Actor;

/// Longest token name, in characters (the table allows 100).
pub const MAX_NAME_CHARS: usize = 100;

/// A token as listed and audited: never its hash.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i32,
    pub account_id: i32,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
struct NewApiToken<'a> {
    account_id: i32,
    name: &'a str,
    token_sha256: &'a [u8],
}

/// A token with the account it belongs to, for the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub token: ApiToken,
    pub username: String,
    pub display_name: String,
}

/// Why a token was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// The account already has a token in use with this name.
    DuplicateName,
}

impl ApiToken {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// The token with this hash when it is not revoked, with its account.
    pub async fn find_usable(
        conn: &mut AsyncPgConnection,
        sha256: &[u8; 32],
    ) -> diesel::QueryResult<Option<(ApiToken, Account)>> {
        api_tokens::table
            .inner_join(accounts::table)
            .filter(api_tokens::token_sha256.eq(sha256.as_slice()))
            .filter(api_tokens::revoked_at.is_null())
            .select((ApiToken::as_select(), Account::as_select()))
            .get_result(conn)
            .await
            .optional()
    }

    /// Records a use now, unless one was recorded less than `resolution` ago (so that a busy
    /// client does not write on every request).
    pub async fn touch(
        conn: &mut AsyncPgConnection,
        id: i32,
        resolution: std::time::Duration,
    ) -> diesel::QueryResult<()> {
        diesel::sql_query(
            "UPDATE api_tokens SET last_used_at = now() WHERE id = $1 \
             AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))",
        )
        .bind::<diesel::sql_types::Int4, _>(id)
        .bind::<diesel::sql_types::Float8, _>(resolution.as_secs_f64())
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<Option<Self>> {
        api_tokens::table
            .find(id)
            .select(ApiToken::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// The tokens of `account_id` (or of every account), in use first, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        account_id: Option<i32>,
    ) -> diesel::QueryResult<Vec<TokenRow>> {
        let mut query = api_tokens::table
            .inner_join(accounts::table)
            .select((
                ApiToken::as_select(),
                accounts::username,
                accounts::display_name,
            ))
            .order((
                api_tokens::revoked_at.is_not_null(),
                api_tokens::created_at.desc(),
                api_tokens::id.desc(),
            ))
            .into_boxed();
        if let Some(id) = account_id {
            query = query.filter(api_tokens::account_id.eq(id));
        }
        let rows: Vec<(ApiToken, String, String)> = query.load(conn).await?;
        Ok(rows
            .into_iter()
            .map(|(token, username, display_name)| TokenRow {
                token,
                username,
                display_name,
            })
            .collect())
    }

    /// Creates a token named `name` for `staff`'s own account, storing only `sha256`, audited
    /// as "token.create".
    pub async fn create_audited(
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        name: &str,
        sha256: &[u8; 32],
    ) -> diesel::QueryResult<Result<ApiToken, TokenRefusal>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            // One creation at a time per account, so that two equal names cannot both pass.
            diesel::sql_query("SELECT pg_advisory_xact_lock(737373, $1)")
                .bind::<diesel::sql_types::Int4, _>(actor.account_id)
                .execute(conn)
                .await?;
            let taken: bool = diesel::select(diesel::dsl::exists(
                api_tokens::table
                    .filter(api_tokens::account_id.eq(actor.account_id))
                    .filter(api_tokens::revoked_at.is_null())
                    .filter(api_tokens::name.eq(name)),
            ))
            .get_result(conn)
            .await?;
            if taken {
                return Ok(Err(TokenRefusal::DuplicateName));
            }
            let token: ApiToken = diesel::insert_into(api_tokens::table)
                .values(&NewApiToken {
                    account_id: actor.account_id,
                    name,
                    token_sha256: sha256.as_slice(),
                })
                .returning(ApiToken::as_returning())
                .get_result(conn)
                .await?;
            audit::record(
                conn,
                &super::audit::NewAuditEntry::by(
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

    /// Revokes the token `id` (already revoked: nothing changes), audited as "token.revoke".
    /// Returns the token as it is after.
    pub async fn revoke_audited(
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        id: i32,
    ) -> diesel::QueryResult<ApiToken> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let before: ApiToken = api_tokens::table
                .find(id)
                .select(ApiToken::as_select())
                .for_update()
                .get_result(conn)
                .await?;
            if !before.is_active() {
                return Ok(before);
            }
            let after: ApiToken = diesel::update(api_tokens::table.find(id))
                .set(api_tokens::revoked_at.eq(diesel::dsl::now))
                .returning(ApiToken::as_returning())
                .get_result(conn)
                .await?;
            audit::record(
                conn,
                &super::audit::NewAuditEntry::by(
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
}
