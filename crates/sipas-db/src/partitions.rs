//! The yearly partitions of `responses` (migration 30, docs/deployment.md section 3): one per
//! calendar year in Vietnam's time, `responses_y2026` holding [2026-01-01 00:00+07,
//! 2027-01-01 00:00+07), and `responses_default` for a response dated in a year that has none.
//! The service creates this year's and the coming year's partition at start-up (and so in
//! `sipas migrate`) and every hour after ([`ensure_ahead`]).

use chrono::{Datelike, NaiveDate};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Int4, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// What [`ensure_year`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// The partition was there already.
    Existed,
    /// Created; `moved` rows of that year were moved into it from the default partition.
    Created { moved: i64 },
}

#[derive(QueryableByName)]
struct EnsureRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    moved: Option<i64>,
}

/// Creates the partition of `year` unless it exists, moving into it the rows of that year that
/// sit in the default partition, in one transaction (`responses_ensure_year`, under an advisory
/// lock: safe with several instances at once).
pub async fn ensure_year(conn: &mut AsyncPgConnection, year: i32) -> diesel::QueryResult<Ensured> {
    let row: EnsureRow = diesel::sql_query("SELECT responses_ensure_year($1) AS moved")
        .bind::<Int4, _>(year)
        .get_result(conn)
        .await?;
    Ok(match row.moved {
        None => Ensured::Existed,
        Some(moved) => Ensured::Created { moved },
    })
}

/// The years whose partitions the service keeps ready on `today` (Vietnam's date): this year
/// and the next.
pub fn years_ahead(today: NaiveDate) -> [i32; 2] {
    [today.year(), today.year() + 1]
}

/// [`ensure_year`] for [`years_ahead`]; returns the partitions it created, with the rows moved.
pub async fn ensure_ahead(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
) -> diesel::QueryResult<Vec<(i32, i64)>> {
    let mut created = Vec::new();
    for year in years_ahead(today) {
        if let Ensured::Created { moved } = ensure_year(conn, year).await? {
            created.push((year, moved));
        }
    }
    Ok(created)
}

/// One partition of `responses`.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Partition {
    #[diesel(sql_type = Text)]
    pub name: String,
    /// `FOR VALUES FROM (...) TO (...)`, or `DEFAULT`.
    #[diesel(sql_type = Text)]
    pub bounds: String,
    /// PostgreSQL's estimate (`pg_class.reltuples`; -1 before the first ANALYZE).
    #[diesel(sql_type = BigInt)]
    pub estimated_rows: i64,
}

/// The partitions of `responses`, by name.
pub async fn list(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<Partition>> {
    diesel::sql_query(
        "SELECT c.relname::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds, \
                c.reltuples::int8 AS estimated_rows \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'responses'::regclass \
         ORDER BY c.relname",
    )
    .load(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_year_and_the_next_are_kept_ready() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(years_ahead(today), [2026, 2027]);
    }
}
