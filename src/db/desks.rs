//! Reception desks and their public codes.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Int4, Nullable, Text};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::Rng;

use super::schema::{desk_codes, desks};

/// Letters and digits that cannot be mistaken for each other when typed from a poster.
const CODE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
pub const CODE_LENGTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = desks)]
pub struct Desk {
    pub id: i32,
    pub unit_id: i32,
    pub name: String,
    pub form_id: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
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
    pub async fn find_by_code(
        conn: &mut AsyncPgConnection,
        code: &str,
    ) -> diesel::QueryResult<Option<DeskContext>> {
        diesel::sql_query(include_str!("sql/desk_by_code.sql"))
            .bind::<Text, _>(code)
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
