//! Reception desks and their public codes.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Bool, Int4, Int8, Nullable, Text};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::Rng;
use serde::Serialize;

use super::schema::{desk_codes, desks, units};
use crate::domain::access::Scope;

/// Letters and digits that cannot be mistaken for each other when typed from a poster.
const CODE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
pub const CODE_LENGTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = desks)]
pub struct Desk {
    pub id: i32,
    pub unit_id: i32,
    pub name: String,
    pub form_id: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// See `crate::flags::opening_hours`; None: no fixed hours.
    pub opening_hours: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = desks)]
pub struct NewDesk<'a> {
    pub unit_id: i32,
    pub name: &'a str,
    pub form_id: Option<&'a str>,
}

/// What the survey page needs to know about the desk behind a public code.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DeskContext {
    #[diesel(sql_type = Int4)]
    pub desk_id: i32,
    #[diesel(sql_type = Text)]
    pub desk_name: String,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    /// The desk's own form, else the nearest default up the unit tree; `None`: the installation
    /// default.
    #[diesel(sql_type = Nullable<Text>)]
    pub form_id: Option<String>,
}

/// One desk with its unit and current public code, for posters and listings.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DeskListing {
    #[diesel(sql_type = Int4)]
    pub desk_id: i32,
    #[diesel(sql_type = Text)]
    pub desk_name: String,
    #[diesel(sql_type = Text)]
    pub unit_code: String,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub parent_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub code: String,
}

/// A fresh random public code.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LENGTH)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Whether `code` could be a desk code at all (checked before touching the database).
pub fn is_plausible_code(code: &str) -> bool {
    (4..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl Desk {
    /// The active desk behind an active public code, with its unit and form.
    ///
    /// The same answer as `sql/desk_context.sql`, through statements diesel prepares once per
    /// connection: the desk with its unit and the unit's parent (one round trip for a desk whose
    /// form is named by the desk, its unit or the parent), then one unit at a time further up
    /// the tree while no form is named. It runs on every page of the citizen's path, twice per
    /// submission; the recursive query, planned anew on each call, cost PostgreSQL more than
    /// storing the response did (`cargo bench --bench load`).
    pub async fn find_by_code(
        conn: &mut AsyncPgConnection,
        code: &str,
    ) -> diesel::QueryResult<Option<DeskContext>> {
        use diesel::{JoinOnDsl, NullableExpressionMethods};
        let parent = diesel::alias!(units as parent);
        type Found = (
            (i32, String, Option<String>),
            (i32, String, Option<String>, Option<i32>),
            Option<(Option<String>, Option<i32>)>,
        );
        let found: Option<Found> = desk_codes::table
            .inner_join(desks::table.inner_join(units::table))
            .left_join(parent.on(units::parent_id.eq(parent.field(units::id).nullable())))
            .filter(desk_codes::code.eq(code))
            .filter(desk_codes::retired_at.is_null())
            .filter(desks::active)
            .filter(units::active)
            .select((
                (desks::id, desks::name, desks::form_id),
                (
                    units::id,
                    units::name,
                    units::default_form_id,
                    units::parent_id,
                ),
                (
                    parent.field(units::default_form_id),
                    parent.field(units::parent_id),
                )
                    .nullable(),
            ))
            .first(conn)
            .await
            .optional()?;
        let Some(((desk_id, desk_name, desk_form), (unit_id, unit_name, unit_form, _), above)) =
            found
        else {
            return Ok(None);
        };
        // The desk's own form, else the nearest unit up the tree that names a default (at
        // most 32 levels above the desk's unit, as the recursive query).
        let (parent_form, mut next) = above.unwrap_or((None, None));
        let mut form_id = desk_form.or(unit_form).or(parent_form);
        let mut depth = 1;
        while form_id.is_none()
            && depth < 32
            && let Some(id) = next
        {
            let up: Option<(Option<String>, Option<i32>)> = units::table
                .find(id)
                .select((units::default_form_id, units::parent_id))
                .first(conn)
                .await
                .optional()?;
            (form_id, next) = up.unwrap_or((None, None));
            depth += 1;
        }
        Ok(Some(DeskContext {
            desk_id,
            desk_name,
            unit_id,
            unit_name,
            form_id,
        }))
    }

    /// The active desk `desk_id` of an active unit, with its unit and form, as for the QR
    /// path. The caller checks the account's scope.
    pub async fn find_context(
        conn: &mut AsyncPgConnection,
        desk_id: i32,
    ) -> diesel::QueryResult<Option<DeskContext>> {
        diesel::sql_query(include_str!("sql/desk_context.sql"))
            .bind::<Nullable<Text>, _>(None::<&str>)
            .bind::<Nullable<Int4>, _>(Some(desk_id))
            .get_result(conn)
            .await
            .optional()
    }

    /// Creates a desk with a fresh public code.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: &NewDesk<'_>,
    ) -> diesel::QueryResult<(Desk, String)> {
        conn.transaction(async |conn| {
            let desk: Desk = diesel::insert_into(desks::table)
                .values(new)
                .returning(Desk::as_returning())
                .get_result(conn)
                .await?;
            let code = insert_code(conn, desk.id).await?;
            Ok((desk, code))
        })
        .await
    }

    pub async fn find_for_unit_by_name(
        conn: &mut AsyncPgConnection,
        unit_id: i32,
        name: &str,
    ) -> diesel::QueryResult<Option<Desk>> {
        desks::table
            .filter(desks::unit_id.eq(unit_id))
            .filter(desks::name.eq(name))
            .select(Desk::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Retires the desk's current code and gives it a new one. Responses keep the code they
    /// came through; the old code stops accepting.
    pub async fn rotate_code(
        conn: &mut AsyncPgConnection,
        desk_id: i32,
    ) -> diesel::QueryResult<String> {
        conn.transaction(async |conn| {
            diesel::update(desk_codes::table)
                .filter(desk_codes::desk_id.eq(desk_id))
                .filter(desk_codes::retired_at.is_null())
                .set(desk_codes::retired_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
            insert_code(conn, desk_id).await
        })
        .await
    }

    /// Every active desk of active units with its current code, in unit-tree order.
    pub async fn list_active(
        conn: &mut AsyncPgConnection,
    ) -> diesel::QueryResult<Vec<DeskListing>> {
        diesel::sql_query(include_str!("sql/desk_listing.sql"))
            .load(conn)
            .await
    }
}

/// One desk of the staff listing: its unit, the forms involved, its current public code and
/// the number of responses it received.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DeskRow {
    #[diesel(sql_type = Int4)]
    pub desk_id: i32,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Text)]
    pub desk_name: String,
    /// The desk's own form; `None`: the one its unit passes down.
    #[diesel(sql_type = Nullable<Text>)]
    pub form_id: Option<String>,
    #[diesel(sql_type = Bool)]
    pub active: bool,
    #[diesel(sql_type = Text)]
    pub unit_code: String,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    #[diesel(sql_type = Bool)]
    pub unit_active: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub parent_name: Option<String>,
    /// The form the unit passes down (its default, else the nearest up the tree); `None`: the
    /// installation default.
    #[diesel(sql_type = Nullable<Text>)]
    pub unit_form_id: Option<String>,
    /// The current public code (every desk has one).
    #[diesel(sql_type = Nullable<Text>)]
    pub code: Option<String>,
    #[diesel(sql_type = Int8)]
    pub responses: i64,
    /// See `crate::flags::opening_hours`; None: no fixed hours.
    #[diesel(sql_type = Nullable<diesel::sql_types::Jsonb>)]
    pub opening_hours: Option<serde_json::Value>,
}

impl DeskRow {
    /// Whether the desk's link accepts responses now.
    pub fn accepting(&self) -> bool {
        self.active && self.unit_active && self.code.is_some()
    }
}

/// What can be changed on a desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskFields {
    pub name: String,
    /// `None`: the form the unit passes down.
    pub form_id: Option<String>,
    /// Opening hours (`crate::flags::opening_hours`): `None` leaves them as they are (a
    /// new desk gets the default), `Some(None)`: no fixed hours.
    pub opening_hours: Option<Option<serde_json::Value>>,
}

/// Why a desk was not saved (nothing was stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskRefusal {
    /// The unit already has a desk with this name.
    DuplicateName,
    /// The unit is deactivated: no new desks there.
    UnitInactive,
}

impl Desk {
    pub async fn find(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<Option<Desk>> {
        desks::table
            .find(id)
            .select(Desk::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// The desks of the units in `scope`, in unit-tree order.
    pub async fn find_for_scope(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
    ) -> diesel::QueryResult<Vec<DeskRow>> {
        diesel::sql_query(include_str!("sql/desks_in_scope.sql"))
            .bind::<Nullable<Array<Int4>>, _>(scope.unit_ids().map(<[i32]>::to_vec))
            .bind::<Nullable<Int4>, _>(None::<i32>)
            .load(conn)
            .await
    }

    /// One desk with its unit, code and counts (whatever the scope: callers check it).
    pub async fn find_row(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<Option<DeskRow>> {
        diesel::sql_query(include_str!("sql/desks_in_scope.sql"))
            .bind::<Nullable<Array<Int4>>, _>(None::<Vec<i32>>)
            .bind::<Nullable<Int4>, _>(Some(id))
            .get_result(conn)
            .await
            .optional()
    }

    /// Whether unit `unit_id` is active, the unit locked (`FOR SHARE`) until the transaction
    /// ends so that it is not deactivated while a desk is added. `Err(NotFound)` for an
    /// unknown unit.
    pub async fn lock_unit(
        conn: &mut AsyncPgConnection,
        unit_id: i32,
    ) -> diesel::QueryResult<bool> {
        units::table
            .find(unit_id)
            .select(units::active)
            .for_share()
            .get_result(conn)
            .await
    }

    /// Sets the opening hours of desk `id` (`None`: no fixed hours); the desk as it is after.
    pub async fn set_opening_hours(
        conn: &mut AsyncPgConnection,
        id: i32,
        hours: &Option<serde_json::Value>,
    ) -> diesel::QueryResult<Desk> {
        diesel::update(desks::table.find(id))
            .set(desks::opening_hours.eq(hours))
            .returning(Desk::as_returning())
            .get_result(conn)
            .await
    }

    /// The desk `id`, locked (`FOR UPDATE`) until the transaction ends. `Err(NotFound)` for an
    /// unknown desk.
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<Desk> {
        desks::table
            .find(id)
            .select(Desk::as_select())
            .for_update()
            .get_result(conn)
            .await
    }

    /// Locks the desk `id` (`FOR UPDATE`, reading only its id) until the transaction ends, so
    /// that two rotations at once do not race for the active code. `Err(NotFound)` for an
    /// unknown desk.
    pub async fn lock(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<()> {
        desks::table
            .find(id)
            .select(desks::id)
            .for_update()
            .get_result::<i32>(conn)
            .await?;
        Ok(())
    }

    /// Saves the name, form and opening hours of desk `id`; the desk as it is after.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i32,
        name: &str,
        form_id: Option<&str>,
        opening_hours: &Option<serde_json::Value>,
    ) -> diesel::QueryResult<Desk> {
        diesel::update(desks::table.find(id))
            .set((
                desks::name.eq(name),
                desks::form_id.eq(form_id),
                desks::opening_hours.eq(opening_hours),
            ))
            .returning(Desk::as_returning())
            .get_result(conn)
            .await
    }

    /// Every desk, by id.
    pub async fn all(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<Desk>> {
        desks::table
            .select(Desk::as_select())
            .order(desks::id)
            .load(conn)
            .await
    }

    /// Sets the form and the state of desk `id` (the unit import); the desk as it is after.
    pub async fn set_form_and_active(
        conn: &mut AsyncPgConnection,
        id: i32,
        form_id: Option<&str>,
        active: bool,
    ) -> diesel::QueryResult<Desk> {
        diesel::update(desks::table.find(id))
            .set((desks::form_id.eq(form_id), desks::active.eq(active)))
            .returning(Desk::as_returning())
            .get_result(conn)
            .await
    }

    /// Deactivates or reactivates desk `id`; the desk as it is after.
    pub async fn set_active(
        conn: &mut AsyncPgConnection,
        id: i32,
        active: bool,
    ) -> diesel::QueryResult<Desk> {
        diesel::update(desks::table.find(id))
            .set(desks::active.eq(active))
            .returning(Desk::as_returning())
            .get_result(conn)
            .await
    }

    /// The current public code of desk `id`, if it has one.
    pub async fn current_code(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<Option<String>> {
        desk_codes::table
            .filter(desk_codes::desk_id.eq(id))
            .filter(desk_codes::retired_at.is_null())
            .select(desk_codes::code)
            .get_result(conn)
            .await
            .optional()
    }
}

/// Inserts a new active code for the desk (retrying on the rare collision).
async fn insert_code(conn: &mut AsyncPgConnection, desk_id: i32) -> diesel::QueryResult<String> {
    for _ in 0..5 {
        let code = new_code();
        let inserted = diesel::insert_into(desk_codes::table)
            .values((desk_codes::code.eq(&code), desk_codes::desk_id.eq(desk_id)))
            .on_conflict(desk_codes::code)
            .do_nothing()
            .execute(conn)
            .await?;
        if inserted == 1 {
            return Ok(code);
        }
    }
    Err(diesel::result::Error::RollbackTransaction)
}

/// Every active public code with its desk (the desk directory's snapshot).
pub async fn all_contexts(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<Vec<(String, DeskContext)>> {
    #[derive(QueryableByName)]
    struct CodedDesk {
        #[diesel(sql_type = Text)]
        code: String,
        #[diesel(embed)]
        desk: DeskContext,
    }
    let rows: Vec<CodedDesk> = diesel::sql_query(include_str!("sql/desk_contexts_all.sql"))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.code, r.desk)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_LENGTH);
            assert!(is_plausible_code(&code));
            assert!(!code.contains(['0', '1', 'i', 'l', 'o']), "{code}");
        }
        assert!(!is_plausible_code("ABC123"));
        assert!(!is_plausible_code("../etc"));
    }
}
