//! The staff home page's figures ("Tổng quan"): the year's responses in parts that add up,
//! today's responses, what waits for someone, the plan's progress. Everything within the
//! account's units, aggregated in PostgreSQL from the rollups and small index ranges (never a
//! scan of the responses: the page stays fast with a million of them).

use std::collections::BTreeMap;

use diesel::QueryableByName;
use diesel::sql_types::{Array, Int4, Int8, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::access::Scope;

fn scope_ids(scope: &Scope) -> Option<Vec<i32>> {
    scope.unit_ids().map(<[i32]>::to_vec)
}

/// One form's share of a year's responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FormCounts {
    /// Counted in the figures (the statistics pages show this number for the form).
    pub counted: i64,
    /// Excluded from the figures as suspected fraud.
    pub excluded: i64,
    /// Received but not yet folded into the figures (seconds behind, normally 0).
    pub pending: i64,
}

impl FormCounts {
    pub fn total(&self) -> i64 {
        self.counted + self.excluded + self.pending
    }
}

/// A year's responses by form (form id → its parts). The parts of all forms add up to every
/// response received in the year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearCounts {
    pub forms: BTreeMap<String, FormCounts>,
}

impl YearCounts {
    pub fn total(&self) -> i64 {
        self.forms.values().map(FormCounts::total).sum()
    }

    pub fn excluded(&self) -> i64 {
        self.forms.values().map(|f| f.excluded).sum()
    }

    pub fn pending(&self) -> i64 {
        self.forms.values().map(|f| f.pending).sum()
    }

    /// The counted responses of `form_id` (0 when it has none).
    pub fn counted(&self, form_id: &str) -> i64 {
        self.forms.get(form_id).map_or(0, |f| f.counted)
    }
}

#[derive(QueryableByName)]
struct Part {
    #[diesel(sql_type = Text)]
    part: String,
    #[diesel(sql_type = Text)]
    form_id: String,
    #[diesel(sql_type = Int8)]
    responses: i64,
}

/// The responses of `year` (Vietnam's calendar) within `scope`, by form, in parts.
pub async fn year_counts(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    year: i32,
) -> diesel::QueryResult<YearCounts> {
    let parts: Vec<Part> = diesel::sql_query(include_str!("sql/home_counts.sql"))
        .bind::<Nullable<Array<Int4>>, _>(scope_ids(scope))
        .bind::<Int4, _>(year)
        .load(conn)
        .await?;
    let mut counts = YearCounts::default();
    for part in parts {
        let form = counts.forms.entry(part.form_id).or_default();
        match part.part.as_str() {
            "counted" => form.counted += part.responses,
            "excluded" => form.excluded += part.responses,
            _ => form.pending += part.responses,
        }
    }
    Ok(counts)
}

/// Responses received today (Vietnam's day) within `scope`.
pub async fn today(conn: &mut AsyncPgConnection, scope: &Scope) -> diesel::QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Today {
        #[diesel(sql_type = Int8)]
        today: i64,
    }
    let row: Today = diesel::sql_query(include_str!("sql/home_today.sql"))
        .bind::<Nullable<Array<Int4>>, _>(scope_ids(scope))
        .get_result(conn)
        .await?;
    Ok(row.today)
}

/// What waits for someone within `scope`: flagged responses without an admin's decision, and
/// comments not yet marked handled; and the active desks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waiting {
    pub flags_undecided: i64,
    pub comments_unhandled: i64,
    pub active_desks: i64,
}

#[derive(QueryableByName)]
struct Undone {
    #[diesel(sql_type = Int8)]
    flags_undecided: i64,
    #[diesel(sql_type = Int8)]
    comments_unhandled: i64,
}

/// Undecided flags and unhandled comments of the responses of `units` (None: all). The ids of
/// the units' responses come from the index (unit_id, id) alone; the whole installation needs
/// no join at all.
async fn undone(
    conn: &mut AsyncPgConnection,
    units: Option<Vec<i32>>,
) -> diesel::QueryResult<(i64, i64)> {
    let row: Undone = diesel::sql_query(include_str!("sql/home_waiting.sql"))
        .bind::<Nullable<Array<Int4>>, _>(units)
        .get_result(conn)
        .await?;
    Ok((row.flags_undecided, row.comments_unhandled))
}

pub async fn waiting(conn: &mut AsyncPgConnection, scope: &Scope) -> diesel::QueryResult<Waiting> {
    #[derive(QueryableByName)]
    struct Desks {
        #[diesel(sql_type = Int8)]
        active_desks: i64,
        #[diesel(sql_type = Array<Int4>)]
        all_units: Vec<i32>,
    }
    let desks: Desks = diesel::sql_query(
        "SELECT (SELECT count(*) FROM desks d JOIN units u ON u.id = d.unit_id \
                  WHERE d.active AND u.active AND ($1::int4[] IS NULL OR d.unit_id = ANY ($1))) \
                 AS active_desks, \
                (SELECT coalesce(array_agg(id), '{}') FROM units) AS all_units",
    )
    .bind::<Nullable<Array<Int4>>, _>(scope_ids(scope))
    .get_result(conn)
    .await?;
    let (flags_undecided, comments_unhandled) = match scope.unit_ids() {
        None => undone(conn, None).await?,
        Some(ids) => {
            // A scope holding most units (a district's account) is counted as everything
            // minus the few units outside it: the work follows the smaller side.
            let outside: Vec<i32> = desks
                .all_units
                .iter()
                .copied()
                .filter(|u| !ids.contains(u))
                .collect();
            if outside.len() < ids.len() {
                let (all_flags, all_comments) = undone(conn, None).await?;
                let (out_flags, out_comments) = undone(conn, Some(outside)).await?;
                (all_flags - out_flags, all_comments - out_comments)
            } else {
                undone(conn, Some(ids.to_vec())).await?
            }
        }
    };
    Ok(Waiting {
        flags_undecided,
        comments_unhandled,
        active_desks: desks.active_desks,
    })
}

/// A unit's responses against its target in one period of a plan (from the rollups).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PeriodProgress {
    #[diesel(sql_type = Int4)]
    pub period_id: i32,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Int4>)]
    pub target: Option<i32>,
    #[diesel(sql_type = Int8)]
    pub received: i64,
}

/// Every period of plan `plan_id`, for the units of its table within `scope`.
pub async fn plan_progress(
    conn: &mut AsyncPgConnection,
    plan_id: i32,
    scope: &Scope,
) -> diesel::QueryResult<Vec<PeriodProgress>> {
    diesel::sql_query(include_str!("sql/home_plan_progress.sql"))
        .bind::<Int4, _>(plan_id)
        .bind::<Nullable<Array<Int4>>, _>(scope_ids(scope))
        .load(conn)
        .await
}
