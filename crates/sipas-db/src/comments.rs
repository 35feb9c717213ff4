//! Comments ("góp ý"): the open answers of responses (`response_texts`), listed for the staff
//! of their units and marked as handled with a note (who, when), or re-opened.

use chrono::{DateTime, Utc};
use diesel::result::Error as DbError;
use diesel::sql_types::{Array, Bool, Int4, Int8, Nullable, Text, Timestamptz};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, Queryable,
    QueryableByName, Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::response_texts;
use crate::domain::access::Scope;

/// Longest handling note, in characters (as the table's CHECK).
pub const MAX_NOTE_CHARS: usize = 2000;

/// A comment: one open answer of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommentKey {
    pub response_id: i64,
    pub item_id: i32,
}

impl CommentKey {
    /// "123/45": the comment's path segments and its id in the audit log.
    pub fn path(&self) -> String {
        format!("{}/{}", self.response_id, self.item_id)
    }
}

/// Which comments to show; every part optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommentFilter {
    /// Only the responses of these units (a chosen unit and everything below it).
    pub units: Option<Vec<i32>>,
    /// Only the handled comments (true) or only the others (false).
    pub handled: Option<bool>,
    /// Submitted at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Submitted before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only the responses to (any version of) this form.
    pub form_id: Option<String>,
    /// Text the body contains, case-insensitively; `%` and `_` are literal.
    pub search: Option<String>,
}

/// The keyset position after which a page continues (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last comment of the page before (its time is looked up, never carried in a link).
    pub key: CommentKey,
}

/// A comment with what the list shows of it. Nothing about the respondent beyond what they
/// wrote (no address, no submission key).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CommentRow {
    #[diesel(sql_type = Int8)]
    pub response_id: i64,
    #[diesel(sql_type = Int4)]
    pub item_id: i32,
    #[diesel(sql_type = Text)]
    pub item_code: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub handled_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Int4>)]
    pub handled_by: Option<i32>,
    /// The display name of the account that handled it.
    #[diesel(sql_type = Nullable<Text>)]
    pub handled_by_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub handling_note: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub submitted_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Int4)]
    pub form_version_id: i32,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub desk_name: Option<String>,
    /// Its response is flagged and left out of the official figures (`crate::flags`).
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub excluded: bool,
}

impl CommentRow {
    pub fn key(&self) -> CommentKey {
        CommentKey {
            response_id: self.response_id,
            item_id: self.item_id,
        }
    }

    pub fn cursor(&self) -> Cursor {
        Cursor { key: self.key() }
    }
}

/// Comments and handled comments of one unit (its own responses, not those of the units
/// below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct UnitHandling {
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Int8)]
    pub total: i64,
    #[diesel(sql_type = Int8)]
    pub handled: i64,
}

/// A `LIKE` pattern matching `text` anywhere, its metacharacters (`%`, `_` and the escape
/// character `\`) taken literally.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The comments of `scope` matching `filter`, newest first, after `after` when given, `limit`
/// at most.
pub async fn find_for_scope(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    filter: &CommentFilter,
    after: Option<Cursor>,
    limit: i64,
) -> diesel::QueryResult<Vec<CommentRow>> {
    list_query(conn, scope, filter, after, None, limit).await
}

/// The comment `key` as written, before its personal data was masked, when the office keeps
/// originals (`response_text_originals`). Only for admins' pages: the caller checks the role.
pub async fn original_of(
    conn: &mut AsyncPgConnection,
    key: CommentKey,
) -> diesel::QueryResult<Option<String>> {
    use super::schema::response_text_originals as o;
    o::table
        .filter(o::response_id.eq(key.response_id))
        .filter(o::item_id.eq(key.item_id))
        .select(o::body)
        .get_result(conn)
        .await
        .optional()
}

/// One comment with what the list shows of it, whatever its unit (the caller checks the
/// scope).
pub async fn find(
    conn: &mut AsyncPgConnection,
    key: CommentKey,
) -> diesel::QueryResult<Option<CommentRow>> {
    let rows = list_query(
        conn,
        &Scope::All,
        &CommentFilter::default(),
        None,
        Some(key),
        1,
    )
    .await?;
    Ok(rows.into_iter().next())
}

async fn list_query(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    filter: &CommentFilter,
    after: Option<Cursor>,
    only: Option<CommentKey>,
    limit: i64,
) -> diesel::QueryResult<Vec<CommentRow>> {
    diesel::sql_query(include_str!("sql/comments_list.sql"))
        .bind::<Nullable<Array<Int4>>, _>(scope.unit_ids().map(<[i32]>::to_vec))
        .bind::<Nullable<Array<Int4>>, _>(filter.units.clone())
        .bind::<Nullable<Bool>, _>(filter.handled)
        .bind::<Nullable<Timestamptz>, _>(filter.from)
        .bind::<Nullable<Timestamptz>, _>(filter.until)
        .bind::<Nullable<Text>, _>(filter.form_id.clone())
        .bind::<Nullable<Text>, _>(filter.search.as_deref().map(contains_pattern))
        .bind::<Nullable<Int8>, _>(after.map(|c| c.key.response_id))
        .bind::<Nullable<Int4>, _>(after.map(|c| c.key.item_id))
        .bind::<Nullable<Array<Int8>>, _>(only.map(|k| vec![k.response_id, i64::from(k.item_id)]))
        .bind::<Int8, _>(limit)
        .load(conn)
        .await
}

/// Comments and handled comments per unit, within `scope` and matching `filter`: what the
/// handling rates ("tiếp nhận, xử lý phản ánh, kiến nghị") are computed from. Units without
/// a comment are absent.
pub async fn handling_summary(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    filter: &CommentFilter,
) -> diesel::QueryResult<Vec<UnitHandling>> {
    diesel::sql_query(include_str!("sql/comments_summary.sql"))
        .bind::<Nullable<Array<Int4>>, _>(scope.unit_ids().map(<[i32]>::to_vec))
        .bind::<Nullable<Array<Int4>>, _>(filter.units.clone())
        .bind::<Nullable<Bool>, _>(filter.handled)
        .bind::<Nullable<Timestamptz>, _>(filter.from)
        .bind::<Nullable<Timestamptz>, _>(filter.until)
        .bind::<Nullable<Text>, _>(filter.form_id.clone())
        .bind::<Nullable<Text>, _>(filter.search.as_deref().map(contains_pattern))
        .load(conn)
        .await
}

/// (comments, handled comments) in all, from [`handling_summary`].
pub fn totals(summary: &[UnitHandling]) -> (i64, i64) {
    summary
        .iter()
        .fold((0, 0), |(t, h), u| (t + u.total, h + u.handled))
}

/// A unit in the choices of the unit filter.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct UnitChoice {
    #[diesel(sql_type = Int4)]
    pub id: i32,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// 0 for a unit without a parent.
    #[diesel(sql_type = Int4)]
    pub depth: i32,
}

/// The units of `scope`, in tree order.
pub async fn unit_choices(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
) -> diesel::QueryResult<Vec<UnitChoice>> {
    diesel::sql_query(include_str!("sql/comments_units.sql"))
        .bind::<Nullable<Array<Int4>>, _>(scope.unit_ids().map(<[i32]>::to_vec))
        .load(conn)
        .await
}

/// The handling of a comment, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = response_texts)]
pub struct Handling {
    pub handled_at: Option<DateTime<Utc>>,
    pub handled_by: Option<i32>,
    pub handling_note: Option<String>,
}

/// Why a comment was not marked as handled (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleRefusal {
    /// Someone marked it as handled already (this is how it stands).
    AlreadyHandled(Handling),
}

/// Locks the comment's row until the end of the transaction and reads its handling; `Err(NotFound)` for an unknown comment.
pub async fn lock(conn: &mut AsyncPgConnection, key: CommentKey) -> diesel::QueryResult<Handling> {
    response_texts::table
        .find((key.response_id, key.item_id))
        .select(Handling::as_select())
        .for_update()
        .get_result(conn)
        .await
        .optional()?
        .ok_or(DbError::NotFound)
}

/// Marks the comment `key` as handled by the account `account_id` now (the database's clock)
/// with `note`.
pub async fn mark_handled(
    conn: &mut AsyncPgConnection,
    key: CommentKey,
    account_id: i32,
    note: &str,
) -> diesel::QueryResult<Handling> {
    diesel::update(response_texts::table.find((key.response_id, key.item_id)))
        .set((
            response_texts::handled_at.eq(diesel::dsl::now),
            response_texts::handled_by.eq(account_id),
            response_texts::handling_note.eq(note),
        ))
        .returning(Handling::as_returning())
        .get_result(conn)
        .await
}

/// Clears the handling of the comment `key`.
pub async fn clear_handling(
    conn: &mut AsyncPgConnection,
    key: CommentKey,
) -> diesel::QueryResult<Handling> {
    diesel::update(response_texts::table.find((key.response_id, key.item_id)))
        .set((
            response_texts::handled_at.eq(None::<DateTime<Utc>>),
            response_texts::handled_by.eq(None::<i32>),
            response_texts::handling_note.eq(None::<String>),
        ))
        .returning(Handling::as_returning())
        .get_result(conn)
        .await
}

/// The latest `limit` comments of the units `unit_ids` submitted in `[from, until)`, newest
/// first. Its cost grows with the number of units, not of responses (see the SQL file): for
/// the dashboards, where the list query would read every comment of the range.
pub async fn latest(
    conn: &mut diesel_async::AsyncPgConnection,
    unit_ids: Vec<i32>,
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> diesel::QueryResult<Vec<CommentRow>> {
    let mut groups = latest_by_group(conn, &[(0, unit_ids)], from, until, limit).await?;
    Ok(groups.pop().map(|(_, rows)| rows).unwrap_or_default())
}

/// A comment of [`latest_by_group`] with its group.
#[derive(QueryableByName)]
struct GroupedComment {
    #[diesel(sql_type = Int4)]
    group_id: i32,
    #[diesel(embed)]
    row: CommentRow,
}

/// For each group `(id, unit ids)`, the latest `limit` comments of its units submitted in
/// `[from, until)`, newest first, in one query (a report's rows: planning the query once
/// instead of once per row). Groups without a comment are left out; the others come in the
/// order of their ids.
pub async fn latest_by_group(
    conn: &mut diesel_async::AsyncPgConnection,
    groups: &[(i32, Vec<i32>)],
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> diesel::QueryResult<Vec<(i32, Vec<CommentRow>)>> {
    use diesel::sql_types::{Array, Int4, Int8, Timestamptz};
    use diesel_async::RunQueryDsl;
    let (group_ids, unit_ids): (Vec<i32>, Vec<i32>) = groups
        .iter()
        .flat_map(|(group, units)| units.iter().map(move |unit| (*group, *unit)))
        .unzip();
    let rows: Vec<GroupedComment> = diesel::sql_query(include_str!("sql/comments_latest.sql"))
        .bind::<Array<Int4>, _>(group_ids)
        .bind::<Array<Int4>, _>(unit_ids)
        .bind::<Timestamptz, _>(from)
        .bind::<Timestamptz, _>(until)
        .bind::<Int8, _>(limit)
        .load(conn)
        .await?;
    let mut grouped: Vec<(i32, Vec<CommentRow>)> = Vec::new();
    for GroupedComment { group_id, row } in rows {
        match grouped.last_mut() {
            Some((group, rows)) if *group == group_id => rows.push(row),
            _ => grouped.push((group_id, vec![row])),
        }
    }
    Ok(grouped)
}

/// Up to `limit` stored comments in key order after `after` (from the first when None), with
/// their text (`sipas_app::comments::mask_stored` reads them in batches).
pub async fn stored_after(
    conn: &mut AsyncPgConnection,
    after: Option<CommentKey>,
    limit: i64,
) -> diesel::QueryResult<Vec<(CommentKey, String)>> {
    let mut query = response_texts::table
        .select((
            response_texts::response_id,
            response_texts::item_id,
            response_texts::body,
        ))
        .order((response_texts::response_id, response_texts::item_id))
        .limit(limit)
        .into_boxed();
    if let Some(CommentKey {
        response_id: r,
        item_id: i,
    }) = after
    {
        query = query.filter(
            response_texts::response_id
                .gt(r)
                .or(response_texts::response_id
                    .eq(r)
                    .and(response_texts::item_id.gt(i))),
        );
    }
    let rows: Vec<(i64, i32, String)> = query.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(response_id, item_id, body)| {
            (
                CommentKey {
                    response_id,
                    item_id,
                },
                body,
            )
        })
        .collect())
}

/// Replaces the text of the comment `key` by `new` if it is still `read`; false when it
/// changed meanwhile (or is gone), and then nothing is written.
pub async fn replace_text(
    conn: &mut AsyncPgConnection,
    key: CommentKey,
    read: &str,
    new: &str,
) -> diesel::QueryResult<bool> {
    let updated = diesel::update(response_texts::table.find((key.response_id, key.item_id)))
        .filter(response_texts::body.eq(read))
        .set(response_texts::body.eq(new))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_take_metacharacters_literally() {
        assert_eq!(contains_pattern("50%"), "%50\\%%");
        assert_eq!(contains_pattern("a_b\\c"), "%a\\_b\\\\c%");
        assert_eq!(contains_pattern("Cán bộ"), "%Cán bộ%");
    }

    #[test]
    fn totals_add_up() {
        let summary = [
            UnitHandling {
                unit_id: 1,
                total: 3,
                handled: 1,
            },
            UnitHandling {
                unit_id: 2,
                total: 4,
                handled: 4,
            },
        ];
        assert_eq!(totals(&summary), (7, 5));
        assert_eq!(totals(&[]), (0, 0));
    }
}
