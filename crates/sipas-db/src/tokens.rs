//! API tokens (see `sipas_web::auth::token`): only the SHA-256 of each token is stored.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::accounts::Account;
use super::schema::{accounts, api_tokens};

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

    /// Takes the transaction's advisory lock on token creation for `account_id`: one creation
    /// at a time per account, so that two equal names cannot both pass.
    pub async fn lock_creation(
        conn: &mut AsyncPgConnection,
        account_id: i32,
    ) -> diesel::QueryResult<()> {
        diesel::sql_query("SELECT pg_advisory_xact_lock(737373, $1)")
            .bind::<diesel::sql_types::Int4, _>(account_id)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Whether `account_id` has a token in use named `name`.
    pub async fn name_in_use(
        conn: &mut AsyncPgConnection,
        account_id: i32,
        name: &str,
    ) -> diesel::QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            api_tokens::table
                .filter(api_tokens::account_id.eq(account_id))
                .filter(api_tokens::revoked_at.is_null())
                .filter(api_tokens::name.eq(name)),
        ))
        .get_result(conn)
        .await
    }

    /// Inserts a token named `name` for `account_id`, storing only `sha256`.
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        account_id: i32,
        name: &str,
        sha256: &[u8; 32],
    ) -> diesel::QueryResult<ApiToken> {
        diesel::insert_into(api_tokens::table)
            .values(&NewApiToken {
                account_id,
                name,
                token_sha256: sha256.as_slice(),
            })
            .returning(ApiToken::as_returning())
            .get_result(conn)
            .await
    }

    /// The token `id`, locked (`FOR UPDATE`) until the transaction ends. `Err(NotFound)` for
    /// an unknown token.
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<ApiToken> {
        api_tokens::table
            .find(id)
            .select(ApiToken::as_select())
            .for_update()
            .get_result(conn)
            .await
    }

    /// Marks the token `id` revoked now; the token as it is after.
    pub async fn revoke(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<ApiToken> {
        diesel::update(api_tokens::table.find(id))
            .set(api_tokens::revoked_at.eq(diesel::dsl::now))
            .returning(ApiToken::as_returning())
            .get_result(conn)
            .await
    }
}
