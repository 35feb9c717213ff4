//! Administrative units: a tree (province -> district -> department / commune / town).

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::units;
use crate::auth::Scope;

#[derive(diesel::QueryableByName)]
struct Counts {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    responses: i64,
    #[diesel(sql_type = diesel::sql_types::Int8)]
    today: i64,
    #[diesel(sql_type = diesel::sql_types::Int8)]
    desks: i64,
}

/// Responses in all, responses today (Vietnam's day) and active desks, within `scope`.
pub async fn dashboard_counts(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
) -> diesel::QueryResult<(i64, i64, i64)> {
    let counts: Counts = diesel::sql_query(include_str!("sql/dashboard_counts.sql"))
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Int4>>, _>(
            scope.unit_ids().map(<[i32]>::to_vec),
        )
        .get_result(conn)
        .await?;
    Ok((counts.responses, counts.today, counts.desks))
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: i32,
    pub parent_id: Option<i32>,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub default_form_id: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = units)]
pub struct NewUnit<'a> {
    pub parent_id: Option<i32>,
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub default_form_id: Option<&'a str>,
}

impl Unit {
    pub async fn find_by_code(
        conn: &mut AsyncPgConnection,
        code: &str,
    ) -> diesel::QueryResult<Option<Unit>> {
        units::table
            .filter(units::code.eq(code))
            .select(Unit::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Inserts the unit, or updates the name, parent, kind and default form of the unit with
    /// the same code.
    pub async fn upsert(
        conn: &mut AsyncPgConnection,
        new: &NewUnit<'_>,
    ) -> diesel::QueryResult<Unit> {
        diesel::insert_into(units::table)
            .values(new)
            .on_conflict(units::code)
            .do_update()
            .set((
                units::parent_id.eq(new.parent_id),
                units::name.eq(new.name),
                units::kind.eq(new.kind),
                units::default_form_id.eq(new.default_form_id),
            ))
            .returning(Unit::as_returning())
            .get_result(conn)
            .await
    }
}
