//! The statistics query: the counts and moments every figure of `crate::stats` is computed
//! from, per unit (and per month, quarter or year for trends), read from the rollups
//! ([`super::rollup`]) in SQL. Nothing here loads responses.
//!
//! ```text
//! let filter = StatsFilter {
//!     form_id: "sipas-1001-dich-vu".into(),
//!     from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
//!     to: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
//!     units: None,     // or Some(scope ∩ chosen subtree)
//!     channel: None,   // or Some("paper".into())
//! };
//! let units = stats::unit_figures(&mut conn, &filter).await?;          // one per unit
//! let months = stats::unit_figures_by_period(&mut conn, &filter, Grain::Month).await?;
//! ```
//!
//! What a page does with a [`UnitFigures`]:
//! - a criterion: `figures.counts("TC1")` are the valid answers per scale code (not applicable
//!   excluded) for `crate::stats::criterion(&counts, &scale.positive)`;
//!   `figures.not_applicable("PA1")` the "not applicable" answers;
//! - the unit's index interval: `crate::stats::index_interval(f.score_n, f.score_sum,
//!   f.score_sum_sq, CONFIDENCE)` (or `f.scores()` as `sipas_core::stats::Moments`);
//! - a district total: [`UnitFigures::sum`].
//!
//! Dates are days in Vietnam's time (`responses.submitted_at` in Asia/Ho_Chi_Minh), both ends
//! included. Answers are mapped from `answer_index` to the item code through `form_items` of
//! each form version, so the versions of one form add up item by item. A unit with no response
//! in the range has no [`UnitFigures`].

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Datelike, Months, NaiveDate};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Date, Float8, Int2, Int4, Int8, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::rollup;
use sipas_core::respondent_filter::RespondentFilter;

/// How long a statistics query waits for submissions in progress before reading the rollups
/// as they are (the background refresh folds them a few seconds later).
const QUERY_WRITER_WAIT: Duration = Duration::from_millis(250);

/// What to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsFilter {
    /// The form (all its versions).
    pub form_id: String,
    /// First day, in Vietnam's time.
    pub from: NaiveDate,
    /// Last day (included), in Vietnam's time.
    pub to: NaiveDate,
    /// `None`: every unit; else only these unit ids (the caller passes the account's scope
    /// intersected with the chosen subtree).
    pub units: Option<Vec<i32>>,
    /// `None`: every channel; else one (`qr`, `paper`, ...).
    pub channel: Option<String>,
}

/// The counts of one unit (over the filter's range, or over one period).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitFigures {
    pub unit_id: i32,
    /// Responses ("số phiếu").
    pub responses: u64,
    /// Respondents with a score (at least one valid criterion answer), and the sum and sum of
    /// squares of their scores (see `crate::stats::respondent_score`).
    pub score_n: u64,
    pub score_sum: f64,
    pub score_sum_sq: f64,
    /// Answers per item and value, sorted by item code then value. Value 0 = "not
    /// applicable"; unanswered items are not counted.
    pub answers: Vec<ItemCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemCount {
    pub item_code: String,
    /// The scale code answered; 0 = "not applicable".
    pub value: i16,
    pub n: u64,
}

/// Periods for trends: calendar months, quarters or years (of Vietnam's days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Grain {
    Month,
    Quarter,
    Year,
}

impl Grain {
    fn as_sql(self) -> &'static str {
        match self {
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }
}

/// The figures of one period: `start` is the first day of the calendar month, quarter or
/// year (the filter may cut the first and last periods short).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodFigures {
    pub start: NaiveDate,
    /// One per unit with responses in the period, by unit id.
    pub units: Vec<UnitFigures>,
}

impl UnitFigures {
    /// Valid answers to `item_code` per scale code (not applicable excluded), by code: what
    /// `crate::stats::criterion` takes.
    pub fn counts(&self, item_code: &str) -> Vec<(i16, u64)> {
        self.answers
            .iter()
            .filter(|a| {
                a.item_code == item_code && a.value != sipas_core::forms::NOT_APPLICABLE_CODE
            })
            .map(|a| (a.value, a.n))
            .collect()
    }

    /// "Not applicable" answers to `item_code`.
    pub fn not_applicable(&self, item_code: &str) -> u64 {
        self.answers
            .iter()
            .filter(|a| {
                a.item_code == item_code && a.value == sipas_core::forms::NOT_APPLICABLE_CODE
            })
            .map(|a| a.n)
            .sum()
    }

    /// The moments of the respondents' scores.
    pub fn scores(&self) -> sipas_core::stats::Moments {
        sipas_core::stats::Moments {
            n: self.score_n,
            sum: self.score_sum,
            sum_sq: self.score_sum_sq,
        }
    }

    /// The figures of several units added up (e.g. the district), under `unit_id`.
    pub fn sum<'a>(unit_id: i32, units: impl IntoIterator<Item = &'a UnitFigures>) -> Self {
        let mut total = UnitFigures {
            unit_id,
            responses: 0,
            score_n: 0,
            score_sum: 0.0,
            score_sum_sq: 0.0,
            answers: Vec::new(),
        };
        let mut answers: BTreeMap<(String, i16), u64> = BTreeMap::new();
        for unit in units {
            total.responses += unit.responses;
            total.score_n += unit.score_n;
            total.score_sum += unit.score_sum;
            total.score_sum_sq += unit.score_sum_sq;
            for a in &unit.answers {
                *answers.entry((a.item_code.clone(), a.value)).or_default() += a.n;
            }
        }
        total.answers = answers
            .into_iter()
            .map(|((item_code, value), n)| ItemCount {
                item_code,
                value,
                n,
            })
            .collect();
        total
    }
}

/// Refreshes the rollups (cheap when they are up to date; see [`rollup::refresh`]), then
/// aggregates them in SQL: one [`UnitFigures`] per unit with responses, by unit id.
pub async fn unit_figures(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
) -> diesel::QueryResult<Vec<UnitFigures>> {
    refresh_quickly(conn).await?;
    read_unit_figures(conn, filter).await
}

/// The same per calendar month, quarter or year, in date order (for trends).
pub async fn unit_figures_by_period(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
    grain: Grain,
) -> diesel::QueryResult<Vec<PeriodFigures>> {
    refresh_quickly(conn).await?;
    read_unit_figures_by_period(conn, filter, grain).await
}

/// The figures of the filter's units added up under `unit_id` (e.g. a district's trend), per
/// calendar month, quarter or year, in date order: one unit per period. Equal to summing
/// [`unit_figures_by_period`]'s units, without reading every unit's rows out of PostgreSQL.
pub async fn figures_by_period_together(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
    grain: Grain,
    unit_id: i32,
) -> diesel::QueryResult<Vec<PeriodFigures>> {
    refresh_quickly(conn).await?;
    Ok(read(conn, filter, Some(grain), Some(unit_id))
        .await?
        .into_iter()
        .filter_map(|(start, units)| start.map(|start| PeriodFigures { start, units }))
        .collect())
}

/// [`unit_figures`] without refreshing first (the rollups as they are).
pub async fn read_unit_figures(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
) -> diesel::QueryResult<Vec<UnitFigures>> {
    let mut periods = read(conn, filter, None, None).await?;
    Ok(periods.pop().map(|(_, units)| units).unwrap_or_default())
}

/// [`unit_figures_by_period`] without refreshing first.
pub async fn read_unit_figures_by_period(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
    grain: Grain,
) -> diesel::QueryResult<Vec<PeriodFigures>> {
    Ok(read(conn, filter, Some(grain), None)
        .await?
        .into_iter()
        .filter_map(|(start, units)| start.map(|start| PeriodFigures { start, units }))
        .collect())
}

/// [`refresh_quickly`], for the figures read from responses beside the rollups' watermark
/// (`crate::residence`).
pub async fn refresh_for_read(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    refresh_quickly(conn).await
}

/// A refresh that does not hold the page up: it waits little for submissions in progress
/// and skips when another session is refreshing.
async fn refresh_quickly(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    let report = rollup::refresh_waiting(conn, QUERY_WRITER_WAIT).await?;
    if let rollup::Outcome::WaitingForWriters(writers) = &report.outcome {
        tracing::debug!(
            ?writers,
            "statistics read from rollups up to response {}: transactions still writing",
            report.to_id
        );
    }
    Ok(())
}

#[derive(Debug, QueryableByName)]
struct AnswerRow {
    #[diesel(sql_type = Nullable<Date>)]
    period: Option<NaiveDate>,
    #[diesel(sql_type = Int4)]
    unit_id: i32,
    #[diesel(sql_type = Text)]
    item_code: String,
    #[diesel(sql_type = Int2)]
    value: i16,
    #[diesel(sql_type = Int8)]
    n: i64,
}

#[derive(Debug, QueryableByName)]
struct ResponseRow {
    #[diesel(sql_type = Nullable<Date>)]
    period: Option<NaiveDate>,
    #[diesel(sql_type = Int4)]
    unit_id: i32,
    #[diesel(sql_type = Int8)]
    responses: i64,
    #[diesel(sql_type = Int8)]
    score_n: i64,
    #[diesel(sql_type = Float8)]
    score_sum: f64,
    #[diesel(sql_type = Float8)]
    score_sum_sq: f64,
}

/// The whole calendar months inside `from..=to`: `[first, end)` as first days of months, or
/// an empty range (`from`, `from`) when there is none.
pub fn whole_months(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let month_of = |d: NaiveDate| d.with_day(1).expect("day 1 exists");
    let next_month = |d: NaiveDate| {
        month_of(d)
            .checked_add_months(Months::new(1))
            .unwrap_or(NaiveDate::MAX)
    };
    let first = if from.day() == 1 {
        from
    } else {
        next_month(from)
    };
    let end = if to.succ_opt().is_none_or(|next| next.day() == 1) {
        next_month(to)
    } else {
        month_of(to)
    };
    if first < end {
        (first, end)
    } else {
        (from, from)
    }
}

type Grouped = Vec<(Option<NaiveDate>, Vec<UnitFigures>)>;

/// Both queries in one read-only snapshot, so that counts and responses agree even while a
/// refresh commits; `together`: every unit added up under that id.
static STATS_ANSWERS: &str = include_str!("sql/stats_answers.sql");

/// `sql` without its part between the lines `-- days:begin` and `-- days:end` (the reading of
/// the day rollups, for days outside whole months): what a range of whole months reads.
pub fn months_only(sql: &str) -> String {
    match (sql.find("-- days:begin"), sql.find("-- days:end")) {
        (Some(begin), Some(end)) if begin < end => {
            format!("{}{}", &sql[..begin], &sql[end + "-- days:end".len()..])
        }
        _ => sql.to_string(),
    }
}

pub(crate) async fn read(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
    grain: Option<Grain>,
    together: Option<i32>,
) -> diesel::QueryResult<Grouped> {
    if filter.from > filter.to {
        return Ok(Vec::new());
    }
    let (month_from, month_to) = whole_months(filter.from, filter.to);
    let grain = grain.map(Grain::as_sql);
    let answers_sql = if (month_from, filter.to.succ_opt()) == (filter.from, Some(month_to)) {
        std::borrow::Cow::Owned(months_only(STATS_ANSWERS))
    } else {
        std::borrow::Cow::Borrowed(STATS_ANSWERS)
    };
    let (answers, responses) = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run::<_, diesel::result::Error, _>(async |conn| {
            let answers: Vec<AnswerRow> = diesel::sql_query(answers_sql.as_ref())
                .bind::<Text, _>(&filter.form_id)
                .bind::<Date, _>(filter.from)
                .bind::<Date, _>(filter.to)
                .bind::<Date, _>(month_from)
                .bind::<Date, _>(month_to)
                .bind::<Nullable<Array<Int4>>, _>(filter.units.as_deref())
                .bind::<Nullable<Text>, _>(filter.channel.as_deref())
                .bind::<Nullable<Text>, _>(grain)
                .bind::<Nullable<Int4>, _>(together)
                .load(conn)
                .await?;
            let responses: Vec<ResponseRow> =
                diesel::sql_query(include_str!("sql/stats_responses.sql"))
                    .bind::<Text, _>(&filter.form_id)
                    .bind::<Date, _>(filter.from)
                    .bind::<Date, _>(filter.to)
                    .bind::<Date, _>(month_from)
                    .bind::<Date, _>(month_to)
                    .bind::<Nullable<Array<Int4>>, _>(filter.units.as_deref())
                    .bind::<Nullable<Text>, _>(filter.channel.as_deref())
                    .bind::<Nullable<Text>, _>(grain)
                    .bind::<Nullable<Int4>, _>(together)
                    .load(conn)
                    .await?;
            Ok((answers, responses))
        })
        .await?;

    let figures: BTreeMap<(Option<NaiveDate>, i32), UnitFigures> = responses
        .into_iter()
        .map(|r| {
            (
                (r.period, r.unit_id),
                UnitFigures {
                    unit_id: r.unit_id,
                    responses: r.responses.max(0) as u64,
                    score_n: r.score_n.max(0) as u64,
                    score_sum: r.score_sum,
                    score_sum_sq: r.score_sum_sq,
                    answers: Vec::new(),
                },
            )
        })
        .collect();
    Ok(with_answers(figures, answers, |unit| &mut unit.answers))
}

/// Puts each answer row into its unit's figures (`answers_of`), then lists the figures per
/// period: the answers come sorted by period, unit, item code and value, and so do the lists.
fn with_answers<T>(
    mut figures: BTreeMap<(Option<NaiveDate>, i32), T>,
    answers: Vec<AnswerRow>,
    answers_of: impl Fn(&mut T) -> &mut Vec<ItemCount>,
) -> Vec<(Option<NaiveDate>, Vec<T>)> {
    for a in answers {
        if let Some(unit) = figures.get_mut(&(a.period, a.unit_id)) {
            answers_of(unit).push(ItemCount {
                item_code: a.item_code,
                value: a.value,
                n: a.n.max(0) as u64,
            });
        }
    }
    let mut grouped: Vec<(Option<NaiveDate>, Vec<T>)> = Vec::new();
    for ((period, _), unit) in figures {
        match grouped.last_mut() {
            Some((last, units)) if *last == period => units.push(unit),
            _ => grouped.push((period, vec![unit])),
        }
    }
    grouped
}

/// `sql` with the respondent score's rules and expression put in (`sql/score_rules.sql` in
/// its WITH clause at `{score_rules}`, `sql/score.sql` at `{score}`): the one text of the rule
/// for the rollups' fold and the filtered figures.
pub fn with_score(sql: &str) -> String {
    sql.replace(
        "{score_rules}",
        include_str!("sql/score_rules.sql").trim_end(),
    )
    .replace("{score}", include_str!("sql/score.sql").trim_end())
}

/// The figures of one unit under a filter by respondent attributes ([`read_filtered`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilteredFigures {
    /// Of the responses meeting every condition (a unit with responses but none meeting
    /// them has zeros here).
    pub figures: UnitFigures,
    /// All the unit's responses of the same days, form and channel, by in/out pattern:
    /// index = the bits of the conditions met (see
    /// `sipas_core::respondent_filter::RespondentFilter::patterns`); the last one is
    /// `figures.responses`.
    pub patterns: Vec<u64>,
}

/// [`FilteredFigures`] per period (`None`: the whole range), by unit id.
pub type FilteredGrouped = Vec<(Option<NaiveDate>, Vec<FilteredFigures>)>;

/// `template` with the picking of filtered_picked.sql put in, for `conditions` conditions:
/// the pattern of a response is a sum of one term per condition (the item's position and the
/// value are bound as arrays; only their number is written into the text).
fn filtered_sql(template: &str, conditions: usize) -> String {
    let pattern = if conditions == 0 {
        "0".to_string()
    } else {
        (1..=conditions)
            .map(|i| {
                format!(
                    "(coalesce(r.answers[k.positions[{i}]] = ($8::int2[])[{i}], false)::int4 << {})",
                    i - 1
                )
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    with_score(template).replace(
        "{picked}",
        &include_str!("sql/filtered_picked.sql")
            .trim_end()
            .replace("{excluded}", super::flags::EXCLUDED_SQL)
            .replace("{pattern}", &format!("({pattern})")),
    )
}

static FILTERED_ROLLUP_RESPONSES: &str = include_str!("sql/filtered_rollup_responses.sql");
static FILTERED_ROLLUP_ANSWERS: &str = include_str!("sql/filtered_rollup_answers.sql");

/// Where the figures of a filtered read come from: the rollups by attribute over whole
/// months (`rollup`, `[first, end)` as first days of months) and the raw responses over the
/// other days (`raw`, inclusive ranges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilteredSources {
    pub rollup: Option<(NaiveDate, NaiveDate)>,
    pub raw: Vec<(NaiveDate, NaiveDate)>,
}

impl FilteredSources {
    /// A filter by one attribute reads its whole months from the rollups by attribute and
    /// only the days at the edges from the raw responses; two attributes or more cross
    /// answers the rollups do not hold: every day from the raw responses.
    pub fn of(from: NaiveDate, to: NaiveDate, conditions: usize) -> Self {
        if from > to {
            return FilteredSources {
                rollup: None,
                raw: Vec::new(),
            };
        }
        let (first, end) = whole_months(from, to);
        if conditions != 1 || first >= end {
            return FilteredSources {
                rollup: None,
                raw: vec![(from, to)],
            };
        }
        let mut raw = Vec::new();
        if from < first {
            raw.push((from, first.pred_opt().expect("a day before a month")));
        }
        if end <= to {
            raw.push((end, to));
        }
        FilteredSources {
            rollup: Some((first, end)),
            raw,
        }
    }
}

#[derive(Debug, QueryableByName)]
struct PatternRow {
    #[diesel(sql_type = Nullable<Date>)]
    period: Option<NaiveDate>,
    #[diesel(sql_type = Int4)]
    unit_id: i32,
    #[diesel(sql_type = Int4)]
    pattern: i32,
    #[diesel(sql_type = Int8)]
    responses: i64,
    #[diesel(sql_type = Int8)]
    score_n: i64,
    #[diesel(sql_type = Float8)]
    score_sum: f64,
    #[diesel(sql_type = Float8)]
    score_sum_sq: f64,
}

/// The figures of the responses meeting every condition of `respondents`, per unit (and
/// per period with a `grain`), exactly those the rollups hold: after a quick refresh, the
/// responses folded (up to the watermark), never an excluded one. With each unit, the counts
/// of all its responses by which conditions they meet, for the small-cell rule. Conditions
/// are bound as parameters (item codes and values), never written into the SQL.
///
/// A filter by one attribute reads the whole months of its days from the rollups by
/// attribute (`rollup_attribute_*_month`) and only the days at their edges from the raw
/// responses; a filter by two attributes or more is computed from the raw responses (the
/// rollups do not cross answers), see [`FilteredSources`]. Both in one read-only snapshot.
///
/// `scores`: whether to compute the moments of the respondents' scores (the intervals and
/// tests need them; a trend does not: they are then 0). Scoring raw responses is the costly
/// part (see the README, "Filters by respondent attributes").
///
/// `together`: every unit added up under that id (a trend of units taken together: one row
/// per period instead of one per unit and period).
///
/// An empty filter gives what [`unit_figures`] gives, the long way; callers use the rollups
/// then.
pub async fn read_filtered(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
    respondents: &RespondentFilter,
    grain: Option<Grain>,
    scores: bool,
    together: Option<i32>,
) -> diesel::QueryResult<FilteredGrouped> {
    refresh_quickly(conn).await?;
    if filter.from > filter.to {
        return Ok(Vec::new());
    }
    let codes: Vec<String> = respondents
        .conditions()
        .iter()
        .map(|c| c.item_code.clone())
        .collect();
    let values: Vec<i16> = respondents.conditions().iter().map(|c| c.value).collect();
    let grain = grain.map(Grain::as_sql);
    let patterns = respondents.patterns();
    let all = patterns - 1;
    let sources = FilteredSources::of(filter.from, filter.to, codes.len());
    let responses_sql = filtered_sql(include_str!("sql/filtered_responses.sql"), codes.len());
    let answers_sql = filtered_sql(include_str!("sql/filtered_answers.sql"), codes.len());
    let (answers, rows) = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run::<_, diesel::result::Error, _>(async |conn| {
            let mut rows: Vec<PatternRow> = Vec::new();
            let mut answers: Vec<AnswerRow> = Vec::new();
            if let (Some((first, end)), [code], [value]) =
                (sources.rollup, codes.as_slice(), values.as_slice())
            {
                rows.extend(
                    diesel::sql_query(FILTERED_ROLLUP_RESPONSES)
                        .bind::<Text, _>(&filter.form_id)
                        .bind::<Date, _>(first)
                        .bind::<Date, _>(end)
                        .bind::<Nullable<Array<Int4>>, _>(filter.units.as_deref())
                        .bind::<Nullable<Text>, _>(filter.channel.as_deref())
                        .bind::<Nullable<Text>, _>(grain)
                        .bind::<Text, _>(code)
                        .bind::<Int2, _>(*value)
                        .bind::<diesel::sql_types::Bool, _>(scores)
                        .bind::<Nullable<Int4>, _>(together)
                        .load::<PatternRow>(conn)
                        .await?,
                );
                answers.extend(
                    diesel::sql_query(FILTERED_ROLLUP_ANSWERS)
                        .bind::<Text, _>(&filter.form_id)
                        .bind::<Date, _>(first)
                        .bind::<Date, _>(end)
                        .bind::<Nullable<Array<Int4>>, _>(filter.units.as_deref())
                        .bind::<Nullable<Text>, _>(filter.channel.as_deref())
                        .bind::<Nullable<Text>, _>(grain)
                        .bind::<Text, _>(code)
                        .bind::<Int2, _>(*value)
                        .bind::<Nullable<Int4>, _>(together)
                        .load::<AnswerRow>(conn)
                        .await?,
                );
            }
            if !sources.raw.is_empty() {
                // The planner's estimates of these queries are rough (arrays, per-row
                // subqueries) and high enough to start JIT compilation, which costs a quarter
                // of a second here and saves nothing.
                diesel::sql_query("SET LOCAL jit = off")
                    .execute(conn)
                    .await?;
            }
            for &(from, to) in &sources.raw {
                rows.extend(
                    diesel::sql_query(&responses_sql)
                        .bind::<Text, _>(&filter.form_id)
                        .bind::<Date, _>(from)
                        .bind::<Date, _>(to)
                        .bind::<Nullable<Array<Int4>>, _>(filter.units.as_deref())
                        .bind::<Nullable<Text>, _>(filter.channel.as_deref())
                        .bind::<Nullable<Text>, _>(grain)
                        .bind::<Array<Text>, _>(&codes)
                        .bind::<Array<Int2>, _>(&values)
                        .bind::<diesel::sql_types::Bool, _>(scores)
                        .load::<PatternRow>(conn)
                        .await?,
                );
                answers.extend(
                    diesel::sql_query(&answers_sql)
                        .bind::<Text, _>(&filter.form_id)
                        .bind::<Date, _>(from)
                        .bind::<Date, _>(to)
                        .bind::<Nullable<Array<Int4>>, _>(filter.units.as_deref())
                        .bind::<Nullable<Text>, _>(filter.channel.as_deref())
                        .bind::<Nullable<Text>, _>(grain)
                        .bind::<Array<Text>, _>(&codes)
                        .bind::<Array<Int2>, _>(&values)
                        .load::<AnswerRow>(conn)
                        .await?,
                );
            }
            Ok((answers, rows))
        })
        .await?;
    // The raw reads give units one by one: added up here under `together`.
    let (rows, answers) = match together {
        None => (rows, answers),
        Some(id) => (
            rows.into_iter()
                .map(|r| PatternRow { unit_id: id, ..r })
                .collect(),
            answers
                .into_iter()
                .map(|a| AnswerRow { unit_id: id, ..a })
                .collect(),
        ),
    };
    let mut figures: BTreeMap<(Option<NaiveDate>, i32), FilteredFigures> = BTreeMap::new();
    for row in rows {
        let unit = figures
            .entry((row.period, row.unit_id))
            .or_insert_with(|| FilteredFigures {
                figures: UnitFigures {
                    unit_id: row.unit_id,
                    responses: 0,
                    score_n: 0,
                    score_sum: 0.0,
                    score_sum_sq: 0.0,
                    answers: Vec::new(),
                },
                patterns: vec![0; patterns],
            });
        let n = row.responses.max(0) as u64;
        if let Some(slot) = usize::try_from(row.pattern)
            .ok()
            .and_then(|p| unit.patterns.get_mut(p))
        {
            *slot += n;
        }
        if row.pattern as usize == all {
            unit.figures.responses += n;
            unit.figures.score_n += row.score_n.max(0) as u64;
            unit.figures.score_sum += row.score_sum;
            unit.figures.score_sum_sq += row.score_sum_sq;
        }
    }
    Ok(with_answers(figures, added_up(answers), |unit| {
        &mut unit.figures.answers
    }))
}

/// Answer rows of several reads (the rollups' months and the raw edge days) added up per
/// period, unit, item code and value, in that order (what [`with_answers`] takes).
fn added_up(rows: Vec<AnswerRow>) -> Vec<AnswerRow> {
    let mut sums: BTreeMap<(Option<NaiveDate>, i32, String, i16), i64> = BTreeMap::new();
    for row in rows {
        *sums
            .entry((row.period, row.unit_id, row.item_code, row.value))
            .or_default() += row.n;
    }
    sums.into_iter()
        .map(|((period, unit_id, item_code, value), n)| AnswerRow {
            period,
            unit_id,
            item_code,
            value,
            n,
        })
        .collect()
}

impl From<&UnitFigures> for crate::reports::Figures {
    fn from(u: &UnitFigures) -> Self {
        crate::reports::Figures {
            responses: u.responses,
            scores: sipas_core::stats::Moments {
                n: u.score_n,
                sum: u.score_sum,
                sum_sq: u.score_sum_sq,
            },
            answers: u
                .answers
                .iter()
                .map(|a| ((a.item_code.clone(), a.value), a.n))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn whole_months_inside_a_range() {
        assert_eq!(
            whole_months(d(2026, 1, 1), d(2026, 12, 31)),
            (d(2026, 1, 1), d(2027, 1, 1))
        );
        assert_eq!(
            whole_months(d(2026, 1, 15), d(2026, 3, 31)),
            (d(2026, 2, 1), d(2026, 4, 1))
        );
        assert_eq!(
            whole_months(d(2026, 1, 1), d(2026, 3, 30)),
            (d(2026, 1, 1), d(2026, 3, 1))
        );
        assert_eq!(
            whole_months(d(2024, 2, 1), d(2024, 2, 29)),
            (d(2024, 2, 1), d(2024, 3, 1))
        );
        // No whole month: an empty month range, every day from the day rollups.
        assert_eq!(
            whole_months(d(2026, 1, 2), d(2026, 1, 31)),
            (d(2026, 1, 2), d(2026, 1, 2))
        );
        assert_eq!(
            whole_months(d(2026, 1, 15), d(2026, 2, 14)),
            (d(2026, 1, 15), d(2026, 1, 15))
        );
        assert_eq!(
            whole_months(d(2026, 3, 5), d(2026, 3, 5)),
            (d(2026, 3, 5), d(2026, 3, 5))
        );
    }

    #[test]
    fn a_range_of_whole_months_reads_no_day_rollup() {
        let sql = months_only(STATS_ANSWERS);
        assert!(!sql.contains("rollup_answers d"), "{sql}");
        assert!(!sql.contains("d.day"), "{sql}");
        assert!(sql.contains("FROM rollup_answers_month_total m"), "{sql}");
        assert!(sql.contains("FROM rollup_answers_month m"), "{sql}");
        assert!(sql.trim_end().ends_with("fi.code, g.value"), "{sql}");
        // Without both markers, the text is left whole.
        assert_eq!(months_only("SELECT 1 -- days:end"), "SELECT 1 -- days:end");
    }

    #[test]
    fn one_attribute_reads_whole_months_from_the_rollups_and_the_edges_raw() {
        // A year: every month from the rollups.
        assert_eq!(
            FilteredSources::of(d(2026, 1, 1), d(2026, 12, 31), 1),
            FilteredSources {
                rollup: Some((d(2026, 1, 1), d(2027, 1, 1))),
                raw: vec![],
            }
        );
        // Two attributes: every day raw.
        assert_eq!(
            FilteredSources::of(d(2026, 1, 1), d(2026, 12, 31), 2),
            FilteredSources {
                rollup: None,
                raw: vec![(d(2026, 1, 1), d(2026, 12, 31))],
            }
        );
        // Edges on both sides.
        assert_eq!(
            FilteredSources::of(d(2026, 1, 15), d(2026, 4, 10), 1),
            FilteredSources {
                rollup: Some((d(2026, 2, 1), d(2026, 4, 1))),
                raw: vec![
                    (d(2026, 1, 15), d(2026, 1, 31)),
                    (d(2026, 4, 1), d(2026, 4, 10))
                ],
            }
        );
        // No whole month.
        assert_eq!(
            FilteredSources::of(d(2026, 1, 15), d(2026, 2, 14), 1),
            FilteredSources {
                rollup: None,
                raw: vec![(d(2026, 1, 15), d(2026, 2, 14))],
            }
        );
        assert_eq!(
            FilteredSources::of(d(2026, 2, 1), d(2026, 1, 31), 1).raw,
            vec![]
        );
    }

    #[test]
    fn figures_add_up_by_item_and_value() {
        let a = UnitFigures {
            unit_id: 1,
            responses: 2,
            score_n: 2,
            score_sum: 1.5,
            score_sum_sq: 1.25,
            answers: vec![
                ItemCount {
                    item_code: "PA1".into(),
                    value: 0,
                    n: 1,
                },
                ItemCount {
                    item_code: "PA1".into(),
                    value: 4,
                    n: 1,
                },
            ],
        };
        let b = UnitFigures {
            unit_id: 2,
            responses: 1,
            score_n: 0,
            score_sum: 0.0,
            score_sum_sq: 0.0,
            answers: vec![ItemCount {
                item_code: "PA1".into(),
                value: 4,
                n: 3,
            }],
        };
        let total = UnitFigures::sum(0, [&a, &b]);
        assert_eq!(total.responses, 3);
        assert_eq!(total.score_n, 2);
        assert_eq!(total.counts("PA1"), vec![(4, 4)]);
        assert_eq!(total.not_applicable("PA1"), 1);
        assert_eq!(total.scores().sum, 1.5);
    }
}

/// The responses a desk of a unit received in a filter's days ([`desk_counts`]).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName, Serialize)]
pub struct DeskCount {
    #[diesel(sql_type = Int4)]
    pub desk_id: i32,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Int8)]
    pub responses: i64,
}

/// The responses received by each desk of `unit` from `from` to `to` (Vietnam's days,
/// included), by desk name: every form and channel, those the figures leave out as suspected
/// fraud included. Counted from `responses` by an index-only scan of its (desk_id,
/// submitted_at) index, since the rollups do not carry the desk (about 50 ms for the busiest
/// demo desk over a year at 1,000,000 responses; with a form or channel filter, which reads
/// the rows, 540 ms).
pub async fn desk_counts(
    conn: &mut AsyncPgConnection,
    unit: i32,
    from: NaiveDate,
    to: NaiveDate,
) -> diesel::QueryResult<Vec<DeskCount>> {
    if from > to {
        return Ok(Vec::new());
    }
    diesel::sql_query(include_str!("sql/stats_desks.sql"))
        .bind::<Int4, _>(unit)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .load(conn)
        .await
}
