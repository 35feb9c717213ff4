//! Reading reorganisations for results across them (issue 19): the recorded acts and the
//! lineage of units as [`sipas_core::lineage`] takes them, and the figures regrouped "by
//! lineage" — a weighted sum of the rollup rows of today's units and their predecessors,
//! aggregated in PostgreSQL (`sql/lineage_*.sql`), never by loading rows here.
//!
//! Recording acts is another module's business; this one only reads them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{Array, Date, Float8, Int4, Int8, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sipas_core::lineage::{Act, ActKind, Link};

use crate::stats::{Grain, ItemCount, StatsFilter, UnitFigures, whole_months};

#[derive(Debug, QueryableByName)]
struct ActRow {
    #[diesel(sql_type = Int4)]
    id: i32,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Date)]
    effective_date: NaiveDate,
    #[diesel(sql_type = Nullable<Int4>)]
    renamed_unit: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    former_name: Option<String>,
}

#[derive(Debug, QueryableByName)]
struct LinkRow {
    #[diesel(sql_type = Int4)]
    reorganisation_id: i32,
    #[diesel(sql_type = Int4)]
    predecessor_id: i32,
    #[diesel(sql_type = Int4)]
    successor_id: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    share_points: Option<i32>,
}

/// Every recorded act and lineage row (a few hundred at most: read whole).
pub async fn acts_and_links(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<(Vec<Act>, Vec<Link>)> {
    let acts: Vec<ActRow> = diesel::sql_query(include_str!("sql/lineage_acts.sql"))
        .load(conn)
        .await?;
    let links: Vec<LinkRow> = diesel::sql_query(
        "SELECT reorganisation_id, predecessor_id, successor_id, share_points \
         FROM unit_lineage ORDER BY reorganisation_id, predecessor_id, successor_id",
    )
    .load(conn)
    .await?;
    Ok((
        acts.into_iter()
            .filter_map(|a| {
                Some(Act {
                    id: a.id,
                    kind: ActKind::parse(&a.kind)?,
                    title: a.title,
                    effective: a.effective_date,
                    renamed: a.renamed_unit.zip(a.former_name),
                })
            })
            .collect(),
        links
            .into_iter()
            .map(|l| Link {
                act: l.reorganisation_id,
                predecessor: l.predecessor_id,
                successor: l.successor_id,
                share_points: l.share_points,
            })
            .collect(),
    ))
}

/// The weights of one segment of days: the rollup rows of `unit` on days in `starts..ends`
/// count `weight` times in the figures added up under `target` (a unit of today, or any id
/// the caller adds them up under).
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    pub unit_id: i32,
    pub weight: f64,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    pub target: i32,
}

/// When every weight is 1, all for one target, and the segments tile the filter's days: the
/// runs of consecutive segments with the same units, as `(first day, end day (exclusive),
/// units)`; each run's figures are then the plain sum of its units' rollup rows.
pub fn plain_runs(
    filter: &StatsFilter,
    weights: &[Weight],
) -> Option<Vec<(NaiveDate, NaiveDate, Vec<i32>)>> {
    let target = weights.first()?.target;
    if weights
        .iter()
        .any(|w| w.target != target || (w.weight - 1.0).abs() > 1e-12)
    {
        return None;
    }
    let mut segments: BTreeMap<(NaiveDate, NaiveDate), std::collections::BTreeSet<i32>> =
        BTreeMap::new();
    for w in weights {
        segments
            .entry((w.starts, w.ends))
            .or_default()
            .insert(w.unit_id);
    }
    let mut runs: Vec<(NaiveDate, NaiveDate, Vec<i32>)> = Vec::new();
    let mut reached = filter.from;
    for ((starts, ends), units) in segments {
        // Segments must follow one another from the first day on, without a gap or overlap.
        if starts > reached || ends <= starts {
            return None;
        }
        if !runs.is_empty() && starts != reached {
            return None;
        }
        let units: Vec<i32> = units.into_iter().collect();
        match runs.last_mut() {
            Some(run) if run.2 == units => run.1 = ends,
            _ => runs.push((starts.max(filter.from), ends, units)),
        }
        reached = ends;
    }
    (reached > filter.to).then_some(runs)
}

#[derive(Debug, QueryableByName)]
struct ResponseRow {
    #[diesel(sql_type = Nullable<Date>)]
    period: Option<NaiveDate>,
    #[diesel(sql_type = Int4)]
    target: i32,
    #[diesel(sql_type = Int8)]
    responses: i64,
    #[diesel(sql_type = Int8)]
    score_n: i64,
    #[diesel(sql_type = Float8)]
    score_sum: f64,
    #[diesel(sql_type = Float8)]
    score_sum_sq: f64,
}

#[derive(Debug, QueryableByName)]
struct AnswerRow {
    #[diesel(sql_type = Nullable<Date>)]
    period: Option<NaiveDate>,
    #[diesel(sql_type = Int4)]
    target: i32,
    #[diesel(sql_type = Text)]
    item_code: String,
    #[diesel(sql_type = diesel::sql_types::Int2)]
    value: i16,
    #[diesel(sql_type = Int8)]
    n: i64,
}

/// The weighted sum of the rollup rows of `weights` over the filter's days (its `units` are
/// not used: the weights say which units count), added up under each weight's `target` (the
/// figures' `unit_id`), per period with a `grain` (else one entry per target, `None`), in the
/// order of period and target. Reads the rollups as they are: the caller has just built the
/// units' own figures, which refreshes them.
pub async fn weighted_figures(
    conn: &mut AsyncPgConnection,
    filter: &StatsFilter,
    weights: &[Weight],
    grain: Option<Grain>,
) -> diesel::QueryResult<Vec<(Option<NaiveDate>, UnitFigures)>> {
    if filter.from > filter.to || weights.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(runs) = plain_runs(filter, weights).filter(|r| grain.is_some() || r.len() == 1) {
        // Weights of 1 only (a merge seen from its successor, a district's trend): the plain
        // read of the rollups over each run of days with the same units, which costs a
        // fraction of the weighted join (a province's trend across a merge: 750 → 150 ms).
        let target = weights[0].target;
        let mut figures = Vec::new();
        for (from, ends, units) in runs {
            let run = StatsFilter {
                from,
                to: ends.pred_opt().unwrap_or(ends),
                units: Some(units),
                ..filter.clone()
            };
            for (period, units) in crate::stats::read(conn, &run, grain, Some(target)).await? {
                figures.extend(units.into_iter().map(|u| (period, u)));
            }
        }
        return Ok(figures);
    }
    let (month_from, month_to) = whole_months(filter.from, filter.to);
    let units: Vec<i32> = weights.iter().map(|w| w.unit_id).collect();
    let values: Vec<f64> = weights.iter().map(|w| w.weight).collect();
    let starts: Vec<NaiveDate> = weights.iter().map(|w| w.starts).collect();
    let ends: Vec<NaiveDate> = weights.iter().map(|w| w.ends).collect();
    let targets: Vec<i32> = weights.iter().map(|w| w.target).collect();
    let grain = grain.map(|g| match g {
        Grain::Month => "month",
        Grain::Quarter => "quarter",
        Grain::Year => "year",
    });
    // Both queries take the same parameters.
    let query = |sql: &'static str| {
        diesel::sql_query(sql)
            .into_boxed::<diesel::pg::Pg>()
            .bind::<Text, _>(&filter.form_id)
            .bind::<Date, _>(filter.from)
            .bind::<Date, _>(filter.to)
            .bind::<Date, _>(month_from)
            .bind::<Date, _>(month_to)
            .bind::<Array<Int4>, _>(&units)
            .bind::<Array<Float8>, _>(&values)
            .bind::<Array<Date>, _>(&starts)
            .bind::<Array<Date>, _>(&ends)
            .bind::<Nullable<Text>, _>(filter.channel.as_deref())
            .bind::<Nullable<Text>, _>(grain)
            .bind::<Array<Int4>, _>(&targets)
    };
    let (responses, answers) = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run::<_, diesel::result::Error, _>(async |conn| {
            let responses: Vec<ResponseRow> = query(include_str!("sql/lineage_responses.sql"))
                .load(conn)
                .await?;
            let answers: Vec<AnswerRow> = query(include_str!("sql/lineage_answers.sql"))
                .load(conn)
                .await?;
            Ok((responses, answers))
        })
        .await?;
    let mut figures: BTreeMap<(Option<NaiveDate>, i32), UnitFigures> = responses
        .into_iter()
        .map(|r| {
            (
                (r.period, r.target),
                UnitFigures {
                    unit_id: r.target,
                    responses: r.responses.max(0) as u64,
                    score_n: r.score_n.max(0) as u64,
                    score_sum: r.score_sum,
                    score_sum_sq: r.score_sum_sq,
                    answers: Vec::new(),
                },
            )
        })
        .collect();
    for a in answers {
        if let Some(f) = figures.get_mut(&(a.period, a.target)) {
            f.answers.push(ItemCount {
                item_code: a.item_code,
                value: a.value,
                n: a.n.max(0) as u64,
            });
        }
    }
    Ok(figures
        .into_iter()
        .map(|((period, _), f)| (period, f))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, day).unwrap()
    }

    fn w(unit_id: i32, weight: f64, starts: NaiveDate, ends: NaiveDate) -> Weight {
        Weight {
            unit_id,
            weight,
            starts,
            ends,
            target: 1,
        }
    }

    fn year() -> StatsFilter {
        StatsFilter {
            form_id: "f".into(),
            from: d(1, 1),
            to: d(12, 31),
            units: None,
            channel: None,
        }
    }

    #[test]
    fn weights_of_one_read_as_runs_of_the_same_units() {
        let end = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        // A merge on 1 July seen from the successor 5, by quarter: predecessors 3 and 4
        // before it, 5 alone after.
        let weights = [
            w(3, 1.0, d(1, 1), d(4, 1)),
            w(4, 1.0, d(1, 1), d(4, 1)),
            w(5, 1.0, d(1, 1), d(4, 1)),
            w(3, 1.0, d(4, 1), d(7, 1)),
            w(4, 1.0, d(4, 1), d(7, 1)),
            w(5, 1.0, d(4, 1), d(7, 1)),
            w(5, 1.0, d(7, 1), d(10, 1)),
            w(5, 1.0, d(10, 1), end),
        ];
        assert_eq!(
            plain_runs(&year(), &weights),
            Some(vec![
                (d(1, 1), d(7, 1), vec![3, 4, 5]),
                (d(7, 1), end, vec![5]),
            ])
        );
        // A share of a split is weighted: no plain read.
        let mut split = weights.to_vec();
        split[0].weight = 0.4;
        assert_eq!(plain_runs(&year(), &split), None);
        // Several targets, a gap, or days left uncovered: no plain read either.
        let mut two = weights.to_vec();
        two[7].target = 2;
        assert_eq!(plain_runs(&year(), &two), None);
        assert_eq!(plain_runs(&year(), &weights[..6]), None);
        let gap = [w(5, 1.0, d(1, 1), d(4, 1)), w(5, 1.0, d(5, 1), end)];
        assert_eq!(plain_runs(&year(), &gap), None);
    }
}
