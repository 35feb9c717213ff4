//! Domain steps of the staff side that are shared between the web and the command line.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::auth::{Role, password};
use crate::db::accounts::{Account, NewAccount};
use crate::db::audit::{self, NewAuditEntry};
use crate::db::units::Unit;

/// A new account as asked for.
pub struct AccountRequest<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password: &'a str,
    pub unit_codes: &'a [String],
}

/// Whether a user name is acceptable: 3 to 32 of a-z, 0-9, '.', '_', '-', starting with a
/// letter or digit.
pub fn valid_username(username: &str) -> bool {
    let mut bytes = username.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'0'..=b'9'))
        && (3..=32).contains(&username.len())
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
}

/// Creates an account (from the command line: the audit entry has no author), with precise
/// errors for the command line.
pub async fn create_account(
    conn: &mut AsyncPgConnection,
    request: &AccountRequest<'_>,
) -> anyhow::Result<Account> {
    let username = request.username.trim().to_lowercase();
    if !valid_username(&username) {
        anyhow::bail!(
            "--username: \"{username}\" must be 3 to 32 characters of a-z, 0-9, '.', '_' or '-'"
        );
    }
    let role = Role::parse(request.role)
        .ok_or_else(|| anyhow::anyhow!("--role: must be admin, unit or viewer"))?;
    if let Some(problem) = password::weakness(request.password, &username) {
        anyhow::bail!("password: {problem}");
    }
    if role == Role::Unit && request.unit_codes.is_empty() {
        anyhow::bail!("--unit: an account with role unit needs at least one unit");
    }
    if role != Role::Unit && !request.unit_codes.is_empty() {
        anyhow::bail!("--unit: only accounts with role unit are tied to units");
    }
    let mut unit_ids = Vec::new();
    for code in request.unit_codes {
        let unit = Unit::find_by_code(conn, code)
            .await?
            .ok_or_else(|| anyhow::anyhow!("--unit: no unit with code \"{code}\""))?;
        unit_ids.push(unit.id);
    }
    if Account::find_by_username(conn, &username).await?.is_some() {
        anyhow::bail!("--username: an account \"{username}\" already exists");
    }
    let hash = password::hash_off_thread(request.password.to_string()).await?;
    let display_name = request.display_name.trim();
    let account = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let account = Account::create(
                conn,
                &NewAccount {
                    username: &username,
                    display_name: if display_name.is_empty() {
                        &username
                    } else {
                        display_name
                    },
                    role: role.as_str(),
                    password_hash: &hash,
                },
                &unit_ids,
            )
            .await?;
            audit::record(
                conn,
                &NewAuditEntry {
                    account_id: None,
                    action: "account.create",
                    entity: "account",
                    entity_id: Some(account.id.to_string()),
                    before: None,
                    after: Some(serde_json::json!({
                        "username": account.username,
                        "display_name": account.display_name,
                        "role": account.role,
                        "units": unit_ids,
                        "by": "command line",
                    })),
                },
            )
            .await?;
            Ok(account)
        })
        .await?;
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert!(valid_username("an.nguyen"));
        assert!(valid_username("xuanbac-01"));
        assert!(!valid_username("ab"));
        assert!(!valid_username("An"));
        assert!(!valid_username(".an"));
        assert!(!valid_username("nguyễn"));
    }
}
