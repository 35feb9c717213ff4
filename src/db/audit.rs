//! The audit log: every change by staff, append-only (a trigger refuses updates and deletes).

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, Insertable, QueryDsl, Queryable, Selectable, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::schema::audit_log;

/// One change, written in the same transaction as the change itself.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub account_id: Option<i32>,
    /// What was done, e.g. "unit.rename", "desk.rotate_code", "account.create".
    pub action: &'a str,
    /// The kind of thing changed, e.g. "unit", "desk", "account", "plan", "response".
    pub entity: &'a str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub account_id: Option<i32>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record(
    conn: &mut AsyncPgConnection,
    entry: &NewAuditEntry<'_>,
) -> diesel::QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .await?;
    Ok(())
}

/// The newest entries first, `limit` at most, older than `before_id` when given.
pub async fn list(
    conn: &mut AsyncPgConnection,
    before_id: Option<i64>,
    limit: i64,
) -> diesel::QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table
        .select(AuditEntry::as_select())
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = before_id {
        query = query.filter(audit_log::id.lt(id));
    }
    query.load(conn).await
}
