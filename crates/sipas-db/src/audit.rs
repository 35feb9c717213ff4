//! The audit log: every change by staff, append-only (a trigger refuses updates and deletes).

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, Insertable, NullableExpressionMethods, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::schema::{accounts, audit_log};
use crate::domain::access::Actor;

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

impl<'a> NewAuditEntry<'a> {
    /// An entry by `actor`.
    pub fn by(
        actor: &Actor,
        action: &'a str,
        entity: &'a str,
        entity_id: impl ToString,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        NewAuditEntry {
            account_id: Some(actor.account_id),
            action,
            entity,
            entity_id: Some(entity_id.to_string()),
            before,
            after,
        }
    }
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

/// A value as it goes into `before` / `after`.
pub fn snapshot<T: serde::Serialize>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok()
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

/// Whose changes to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Account(i32),
    /// Changes made from the command line (no account).
    CommandLine,
}

/// What the audit page shows: all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries older than this id (keyset pagination, newest first).
    pub before: Option<i64>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub author: Option<Author>,
}

/// An entry with its author's user name and display name (None: the command line).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub entry: AuditEntry,
    pub author: Option<(String, String)>,
}

/// The newest entries matching `filter` first, `limit` at most.
pub async fn find(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    limit: i64,
) -> diesel::QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table
        .left_join(accounts::table)
        .select((
            AuditEntry::as_select(),
            (accounts::username, accounts::display_name).nullable(),
        ))
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = filter.before {
        query = query.filter(audit_log::id.lt(id));
    }
    if let Some(entity) = &filter.entity {
        query = query.filter(audit_log::entity.eq(entity.clone()));
    }
    if let Some(entity_id) = &filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(entity_id.clone()));
    }
    match filter.author {
        Some(Author::Account(id)) => query = query.filter(audit_log::account_id.eq(id)),
        Some(Author::CommandLine) => query = query.filter(audit_log::account_id.is_null()),
        None => {}
    }
    let rows: Vec<(AuditEntry, Option<(String, String)>)> = query.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(entry, author)| AuditRow { entry, author })
        .collect())
}

/// The kinds of things the log mentions, for the filter.
pub async fn entities(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<String>> {
    audit_log::table
        .select(audit_log::entity)
        .distinct()
        .order(audit_log::entity)
        .load(conn)
        .await
}

/// A thing the audit log's sentences name: (kind, id, name, two numbers). Kinds: "unit";
/// "desk" (a = unit id); "plan" (a = year, b = unit id); "period" (a = plan id); "account"
/// (its username).
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct NameRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    pub id: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Int4>)]
    pub a: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Int4>)]
    pub b: Option<i32>,
}

/// Every unit, desk, plan, period and account by id, for the audit log's sentences (a few
/// hundred rows in an installation).
pub async fn names(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<NameRow>> {
    diesel::sql_query(
        "SELECT 'unit' AS kind, id, name, NULL::int4 AS a, NULL::int4 AS b FROM units \
         UNION ALL SELECT 'desk', id, name, unit_id, NULL FROM desks \
         UNION ALL SELECT 'plan', id, title, year::int4, unit_id FROM survey_plans \
         UNION ALL SELECT 'period', id, name, plan_id, NULL FROM plan_periods \
         UNION ALL SELECT 'account', id, username, NULL, NULL FROM accounts",
    )
    .load(conn)
    .await
}
