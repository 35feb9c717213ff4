//! Throttling of wrong passwords, through the database so that the limits hold across
//! instances. A client (a keyed hash of its address, see `sipas::web::client_limit_key`) that guesses
//! a user name's password is slowed down for that name, and for all names after more failures;
//! the name itself is locked for everyone only past a generous ceiling of failures from many
//! clients. So an attacker locks themselves out, not the account's owner signing in from
//! elsewhere. Every rule counts user names whether or not they exist.

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::schema::sign_in_failures;

/// Failures counted within this many minutes.
pub const WINDOW_MINUTES: i64 = 15;
/// Failures for one user name (existing or not) from one client that lock that name for that
/// client for the window.
pub const MAX_PER_USERNAME_AND_CLIENT: i64 = 5;
/// Failures from one client, whatever the names, that lock it for the window.
pub const MAX_PER_CLIENT: i64 = 20;
/// Failures for one user name from all clients together that lock it for everyone for the
/// window: a ceiling against guessing spread over many addresses, far above what one client
/// may try (at least five clients, each at its own limit, must join to reach it).
pub const MAX_PER_USERNAME: i64 = 100;

/// HMAC-SHA256 of the client address under the installation's secret: comparable, but the
/// address cannot be read back.
pub fn client_key(secret: &[u8], address: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(address.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn window_start() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::minutes(WINDOW_MINUTES)
}

/// Whether sign-in is locked for this user name from this client: too many failures for the
/// name from this client, from this client at all, or for the name from everywhere (the three
/// counts in one statement).
pub async fn is_locked(
    conn: &mut AsyncPgConnection,
    username: &str,
    client: &[u8],
) -> diesel::QueryResult<bool> {
    use diesel::sql_types::{BigInt, Bytea, Text, Timestamptz};
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        by_name_here: i64,
        #[diesel(sql_type = BigInt)]
        by_client: i64,
        #[diesel(sql_type = BigInt)]
        by_name: i64,
    }
    let counts: Counts = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE username = $1 AND client_key = $2) AS by_name_here, \
                count(*) FILTER (WHERE client_key = $2) AS by_client, \
                count(*) FILTER (WHERE username = $1) AS by_name \
         FROM sign_in_failures \
         WHERE at > $3 AND (username = $1 OR client_key = $2)",
    )
    .bind::<Text, _>(username)
    .bind::<Bytea, _>(client)
    .bind::<Timestamptz, _>(window_start())
    .get_result(conn)
    .await?;
    Ok(counts.by_name_here >= MAX_PER_USERNAME_AND_CLIENT
        || counts.by_client >= MAX_PER_CLIENT
        || counts.by_name >= MAX_PER_USERNAME)
}

pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    username: &str,
    client: &[u8],
) -> diesel::QueryResult<()> {
    diesel::insert_into(sign_in_failures::table)
        .values((
            sign_in_failures::username.eq(username),
            sign_in_failures::client_key.eq(client),
        ))
        .execute(conn)
        .await?;
    // Old rows are of no use: keep the table small.
    diesel::delete(
        sign_in_failures::table
            .filter(sign_in_failures::at.lt(window_start() - chrono::Duration::days(1))),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A successful sign-in clears the user name's failures from this client (those of other
/// clients still count against them).
pub async fn clear(
    conn: &mut AsyncPgConnection,
    username: &str,
    client: &[u8],
) -> diesel::QueryResult<()> {
    diesel::delete(
        sign_in_failures::table
            .filter(sign_in_failures::username.eq(username))
            .filter(sign_in_failures::client_key.eq(client)),
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys_depend_on_the_secret_and_hide_the_address() {
        let a = client_key(b"secret-1", "203.0.113.7");
        assert_eq!(a, client_key(b"secret-1", "203.0.113.7"));
        assert_ne!(a, client_key(b"secret-2", "203.0.113.7"));
        assert_ne!(a, client_key(b"secret-1", "203.0.113.8"));
        assert_eq!(a.len(), 32);
    }
}
