//! Domain steps of the staff side that are shared between the web and the command line.

use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use crate::db::accounts::{Account, NewAccount, UnitChoice};
use crate::db::audit::{self, NewAuditEntry};
use crate::db::units::Unit;
use crate::domain::access::Role;
use crate::domain::fields::FieldErrors;
use crate::password;

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

/// An account request checked against the database, all but its password: the user name in
/// its stored form, the role and the assigned units' ids.
pub struct CheckedAccount {
    pub username: String,
    pub role: Role,
    pub unit_ids: Vec<i32>,
}

/// Checks the user name, role and units of an account to be created from the command line,
/// with precise errors naming the option, so that the command line can refuse them before it
/// asks for a password.
pub async fn check_account_request(
    conn: &mut AsyncPgConnection,
    username: &str,
    role: &str,
    unit_codes: &[String],
) -> anyhow::Result<CheckedAccount> {
    let username = username.trim().to_lowercase();
    if !valid_username(&username) {
        anyhow::bail!(
            "--username: \"{username}\" must be 3 to 32 characters of a-z, 0-9, '.', '_' or '-'"
        );
    }
    let role = Role::parse(role)
        .ok_or_else(|| anyhow::anyhow!("--role: must be admin, unit or viewer"))?;
    if role == Role::Unit && unit_codes.is_empty() {
        anyhow::bail!("--unit: an account with role unit needs at least one unit");
    }
    if role != Role::Unit && !unit_codes.is_empty() {
        anyhow::bail!("--unit: only accounts with role unit are tied to units");
    }
    let mut unit_ids = Vec::new();
    for code in unit_codes {
        let unit = Unit::find_by_code(conn, code)
            .await?
            .ok_or_else(|| anyhow::anyhow!("--unit: no unit with code \"{code}\""))?;
        unit_ids.push(unit.id);
    }
    if Account::find_by_username(conn, &username).await?.is_some() {
        anyhow::bail!("--username: an account \"{username}\" already exists");
    }
    Ok(CheckedAccount {
        username,
        role,
        unit_ids,
    })
}

/// Creates an account (from the command line: the audit entry has no author), with precise
/// errors for the command line.
pub async fn create_account(
    conn: &mut AsyncPgConnection,
    request: &AccountRequest<'_>,
) -> anyhow::Result<Account> {
    let CheckedAccount {
        username,
        role,
        unit_ids,
    } = check_account_request(conn, request.username, request.role, request.unit_codes).await?;
    if let Some(problem) = password::weakness(request.password, &username) {
        anyhow::bail!("password: {problem}");
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

/// The fields of an account an admin sets, validated in form (not yet against the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFields {
    pub display_name: String,
    pub role: Role,
    /// Assigned units: some for role unit, none otherwise.
    pub unit_ids: Vec<i32>,
}

/// A new account from the administration pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccountFields {
    pub username: String,
    pub fields: AccountFields,
}

/// Why an account change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Refused, with a Vietnamese message per field; nothing was stored.
    #[error("refused")]
    Refused(FieldErrors),
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AccountError {
    fn field(name: &'static str, message: &str) -> Self {
        AccountError::Refused(FieldErrors::from([(name, message.to_string())]))
    }
}

pub const MSG_UNKNOWN_UNITS: &str = "Đơn vị được chọn không tồn tại. Vui lòng chọn lại.";
pub const MSG_DUPLICATE_USERNAME: &str = "Tên đăng nhập này đã được dùng cho một tài khoản khác.";
pub const MSG_OWN_ADMIN_ROLE: &str = "Anh/Chị không thể tự bỏ vai trò quản trị của chính mình. \
     Nếu cần, hãy nhờ một quản trị viên khác thực hiện.";
pub const MSG_OWN_DISABLE: &str = "Anh/Chị không thể tự khóa tài khoản của chính mình.";
pub const MSG_LAST_ADMIN: &str = "Đây là tài khoản quản trị cuối cùng đang hoạt động. \
     Cần có ít nhất một quản trị viên khác đang hoạt động trước khi thực hiện thao tác này.";
pub const MSG_OWN_RESET: &str =
    "Để đổi mật khẩu của chính mình, Anh/Chị dùng trang «Đổi mật khẩu».";

/// What the audit log keeps of an account (never its password hash).
fn account_snapshot(account: &Account, unit_ids: &[i32]) -> serde_json::Value {
    json!({
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "units": unit_ids,
        "active": account.active,
    })
}

fn audit_entry<'a>(
    actor: Option<i32>,
    action: &'a str,
    account_id: i32,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        account_id: actor,
        action,
        entity: "account",
        entity_id: Some(account_id.to_string()),
        before,
        after,
    }
}

/// Refuses unit ids that name no unit.
async fn check_units(conn: &mut AsyncPgConnection, ids: &[i32]) -> Result<(), AccountError> {
    let existing = UnitChoice::existing(conn, ids).await?;
    if ids.iter().all(|id| existing.contains(id)) {
        Ok(())
    } else {
        Err(AccountError::field("units", MSG_UNKNOWN_UNITS))
    }
}

/// A unit removed between the check and the write is still an unknown unit, not a crash.
fn unknown_unit_on_violation(e: DbError) -> AccountError {
    match e {
        DbError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
            AccountError::field("units", MSG_UNKNOWN_UNITS)
        }
        other => other.into(),
    }
}

/// A generated password the account's own rules accept (it never contains the user name).
fn temporary_password(username: &str) -> String {
    loop {
        let candidate = password::generate();
        if password::weakness(&candidate, username).is_none() {
            return candidate;
        }
    }
}

/// Creates an account from the administration pages, with a generated password, which is
/// returned (to be shown once) and stored only as its hash. `actor` is the admin doing it.
pub async fn create_account_with_temporary_password(
    conn: &mut AsyncPgConnection,
    actor: Option<i32>,
    new: &NewAccountFields,
) -> Result<(Account, String), AccountError> {
    let mut errors = FieldErrors::new();
    if Account::find_by_username(conn, &new.username)
        .await?
        .is_some()
    {
        errors.insert("username", MSG_DUPLICATE_USERNAME.into());
    }
    if let Err(AccountError::Refused(unit_errors)) = check_units(conn, &new.fields.unit_ids).await {
        errors.extend(unit_errors);
    }
    if !errors.is_empty() {
        return Err(AccountError::Refused(errors));
    }
    let temporary = temporary_password(&new.username);
    let hash = password::hash_off_thread(temporary.clone()).await?;
    let account = conn
        .transaction::<_, AccountError, _>(async |conn| {
            let account = Account::create(
                conn,
                &NewAccount {
                    username: &new.username,
                    display_name: &new.fields.display_name,
                    role: new.fields.role.as_str(),
                    password_hash: &hash,
                },
                &new.fields.unit_ids,
            )
            .await
            .map_err(|e| match e {
                // Created by someone else since the check.
                DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    AccountError::field("username", MSG_DUPLICATE_USERNAME)
                }
                other => unknown_unit_on_violation(other),
            })?;
            audit::record(
                conn,
                &audit_entry(
                    actor,
                    "account.create",
                    account.id,
                    None,
                    Some(account_snapshot(&account, &new.fields.unit_ids)),
                ),
            )
            .await?;
            Ok(account)
        })
        .await?;
    Ok((account, temporary))
}

/// Refuses to leave the installation without an active admin: `account` (locked) is about to
/// stop being one.
async fn keep_an_admin(
    conn: &mut AsyncPgConnection,
    account: &Account,
    field: &'static str,
) -> Result<(), AccountError> {
    if account.role == Role::Admin.as_str()
        && account.active
        && Account::other_active_admins(conn, account.id).await? == 0
    {
        return Err(AccountError::field(field, MSG_LAST_ADMIN));
    }
    Ok(())
}

/// Changes an account's display name, role and units. Returns the account and whether
/// anything changed (no audit entry when nothing did).
pub async fn update_account(
    conn: &mut AsyncPgConnection,
    actor: Option<i32>,
    account_id: i32,
    fields: &AccountFields,
) -> Result<(Account, bool), AccountError> {
    conn.transaction::<_, AccountError, _>(async |conn| {
        let account = Account::find_for_update(conn, account_id)
            .await?
            .ok_or(AccountError::NotFound)?;
        check_units(conn, &fields.unit_ids).await?;
        if fields.role != Role::Admin {
            if actor == Some(account.id) && account.role == Role::Admin.as_str() {
                return Err(AccountError::field("role", MSG_OWN_ADMIN_ROLE));
            }
            keep_an_admin(conn, &account, "role").await?;
        }
        let units_before = Account::assigned_units(conn, account.id).await?;
        let before = account_snapshot(&account, &units_before);
        let updated =
            Account::update_profile(conn, account.id, &fields.display_name, fields.role.as_str())
                .await?;
        let mut units_after = fields.unit_ids.clone();
        units_after.sort_unstable();
        units_after.dedup();
        if units_after != units_before {
            Account::set_units(conn, account.id, &units_after)
                .await
                .map_err(unknown_unit_on_violation)?;
        }
        let after = account_snapshot(&updated, &units_after);
        let changed = before != after;
        if changed {
            audit::record(
                conn,
                &audit_entry(
                    actor,
                    "account.update",
                    account.id,
                    Some(before),
                    Some(after),
                ),
            )
            .await?;
        }
        Ok((updated, changed))
    })
    .await
}

/// Enables or disables an account. Disabling ends its sessions at their next request. An
/// admin cannot disable themselves, nor the last active admin. Returns the account and
/// whether anything changed.
pub async fn set_account_active(
    conn: &mut AsyncPgConnection,
    actor: Option<i32>,
    account_id: i32,
    active: bool,
) -> Result<(Account, bool), AccountError> {
    conn.transaction::<_, AccountError, _>(async |conn| {
        let account = Account::find_for_update(conn, account_id)
            .await?
            .ok_or(AccountError::NotFound)?;
        if account.active == active {
            return Ok((account, false));
        }
        if !active {
            if actor == Some(account.id) {
                return Err(AccountError::field("active", MSG_OWN_DISABLE));
            }
            keep_an_admin(conn, &account, "active").await?;
        }
        let updated = Account::set_active(conn, account.id, active).await?;
        audit::record(
            conn,
            &audit_entry(
                actor,
                if active {
                    "account.enable"
                } else {
                    "account.disable"
                },
                account.id,
                Some(json!({ "username": account.username, "active": account.active })),
                Some(json!({ "username": updated.username, "active": updated.active })),
            ),
        )
        .await?;
        Ok((updated, true))
    })
    .await
}

/// Gives an account a new generated password, returned to be shown once. Its sessions end at
/// their next request (the password's date changes). An admin changes their own password on
/// the password page instead, which asks for the current one.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    actor: Option<i32>,
    account_id: i32,
) -> Result<(Account, String), AccountError> {
    if actor == Some(account_id) {
        return Err(AccountError::field("password", MSG_OWN_RESET));
    }
    let account = Account::find(conn, account_id)
        .await?
        .ok_or(AccountError::NotFound)?;
    let temporary = temporary_password(&account.username);
    let hash = password::hash_off_thread(temporary.clone()).await?;
    let account = conn
        .transaction::<_, AccountError, _>(async |conn| {
            let account = Account::set_password_hash(conn, account.id, &hash).await?;
            audit::record(
                conn,
                &audit_entry(
                    actor,
                    "account.reset_password",
                    account.id,
                    None,
                    Some(json!({ "username": account.username, "password": "reset" })),
                ),
            )
            .await?;
            Ok(account)
        })
        .await?;
    Ok((account, temporary))
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
