//! API tokens: a bearer secret that acts for its account (its role and its scope of units) on
//! the JSON API.
//!
//! A token is 32 random bytes, shown once as `sipas_` followed by 64 lowercase hex digits.
//! Only the SHA-256 of that text is stored (`api_tokens.token_sha256`): a copy of the database
//! gives no usable token. The hash of a 256-bit random secret needs no salt nor slow hashing,
//! and the lookup by hash leaks nothing useful through its timing.
//!
//! A token stops working when it is revoked, when its account is disabled or deleted; it keeps
//! the account's current role and units (a change of role applies at once). Signing out or
//! changing one's password does not revoke tokens: they are revoked on the tokens page.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{SignedIn, Staff};
use crate::db::accounts::Account;
use crate::db::tokens::ApiToken;
use crate::error::AppError;

/// What every token starts with (it tells secret scanners and people what it is).
pub const PREFIX: &str = "sipas_";
/// Random bytes in a token.
const SECRET_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token, not on every request.
pub const LAST_USED_RESOLUTION: Duration = Duration::from_secs(60);

/// A new token: the text to show once, and the hash to store.
pub struct NewSecret {
    pub text: String,
    pub sha256: [u8; 32],
}

/// Draws a new token from the operating system's random generator.
pub fn generate() -> NewSecret {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    let text = format!("{PREFIX}{}", hex::encode(bytes));
    NewSecret {
        sha256: hash(&text),
        text,
    }
}

/// The stored form of a token text.
pub fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether `text` has the shape of a token (checked before any database lookup).
pub fn well_formed(text: &str) -> bool {
    text.strip_prefix(PREFIX).is_some_and(|hex| {
        hex.len() == SECRET_BYTES * 2
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// What an `Authorization` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Bearer <token>` (the scheme is case-insensitive).
    Bearer(&'a str),
    /// Another scheme, or no token after `Bearer`.
    Unusable,
}

/// Reads an `Authorization` header value.
pub fn parse_authorization(value: &str) -> Credentials<'_> {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() || token.contains(char::is_whitespace) {
                Credentials::Unusable
            } else {
                Credentials::Bearer(token)
            }
        }
        _ => Credentials::Unusable,
    }
}

/// The account a token acts for, as a [`Staff`] (without a CSRF token: the API only reads),
/// or `None` when the token is unknown, revoked, or its account disabled. Records the use
/// (at most once per [`LAST_USED_RESOLUTION`]).
pub async fn authenticate(
    conn: &mut diesel_async::AsyncPgConnection,
    text: &str,
) -> Result<Option<Staff>, AppError> {
    if !well_formed(text) {
        return Ok(None);
    }
    let Some((token, account)) = ApiToken::find_usable(conn, &hash(text)).await? else {
        return Ok(None);
    };
    if !account.active {
        return Ok(None);
    }
    let stale = token.last_used_at.is_none_or(|at| {
        chrono::Utc::now().signed_duration_since(at)
            >= chrono::Duration::from_std(LAST_USED_RESOLUTION).expect("a small duration")
    });
    if stale {
        ApiToken::touch(conn, token.id, LAST_USED_RESOLUTION).await?;
    }
    let actor = Account::actor(conn, &account)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown role {}", account.role)))?;
    Ok(Some(Staff(SignedIn {
        account,
        actor,
        csrf: String::new(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_hex_and_only_their_hash_is_kept() {
        let a = generate();
        let b = generate();
        assert_ne!(a.text, b.text);
        assert!(well_formed(&a.text), "{}", a.text);
        assert_eq!(a.text.len(), PREFIX.len() + 64);
        assert_eq!(a.sha256, hash(&a.text));
        assert_eq!(
            hex::encode(hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_lookup() {
        let good = format!("{PREFIX}{}", "0a".repeat(32));
        assert!(well_formed(&good));
        for bad in [
            "",
            "sipas_",
            &good[..good.len() - 1],
            &format!("{good}0"),
            &good.to_uppercase(),
            &good.replace("sipas_", "sipaz_"),
            &format!("{PREFIX}{}", "zz".repeat(32)),
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn authorization_headers() {
        assert_eq!(
            parse_authorization("Bearer sipas_x"),
            Credentials::Bearer("sipas_x")
        );
        assert_eq!(
            parse_authorization("bearer   sipas_x "),
            Credentials::Bearer("sipas_x")
        );
        assert_eq!(
            parse_authorization("Basic dXNlcjpwdw=="),
            Credentials::Unusable
        );
        assert_eq!(parse_authorization("Bearer"), Credentials::Unusable);
        assert_eq!(parse_authorization("Bearer a b"), Credentials::Unusable);
        assert_eq!(parse_authorization(""), Credentials::Unusable);
    }
}
