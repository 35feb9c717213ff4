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
/// comments not yet marked handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct Waiting {
    #[diesel(sql_type = Int8)]
    pub flags_undecided: i64,
    #[diesel(sql_type = Int8)]
    pub comments_unhandled: i64,
    #[diesel(sql_type = Int8)]
    pub active_desks: i64,
}

pub async fn waiting(conn: &mut AsyncPgConnection, scope: &Scope) -> diesel::QueryResult<Waiting> {
    diesel::sql_query(
        "SELECT \
           (SELECT count(*) FROM response_reviews v JOIN responses r ON r.id = v.response_id \
             WHERE v.decision IS NULL AND ($1::int4[] IS NULL OR r.unit_id = ANY ($1))) \
             AS flags_undecided, \
           (SELECT count(*) FROM response_texts t JOIN responses r ON r.id = t.response_id \
             WHERE t.handled_at IS NULL AND ($1::int4[] IS NULL OR r.unit_id = ANY ($1))) \
             AS comments_unhandled, \
           (SELECT count(*) FROM desks d JOIN units u ON u.id = d.unit_id \
             WHERE d.active AND u.active AND ($1::int4[] IS NULL OR d.unit_id = ANY ($1))) \
             AS active_desks",
    )
    .bind::<Nullable<Array<Int4>>, _>(scope_ids(scope))
    .get_result(conn)
    .await
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
