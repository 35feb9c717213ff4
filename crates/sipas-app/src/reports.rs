//! Building reports from the database: the unit tree and the rollups' figures, then the pure
//! statistics of [`sipas_core::reports`] (re-exported here).

pub use sipas_core::reports::*;

use crate::db::plans::Period;
use crate::db::units::Unit;
use crate::domain::tree::{selected_root, subtree};
use crate::small_cells::Disclosure;
use sipas_core::respondent_filter::{Withheld, withhold};
use std::collections::HashMap;

fn info(unit: &Unit) -> UnitInfo {
    UnitInfo {
        id: unit.id,
        code: unit.code.clone(),
        name: unit.name.clone(),
        kind: unit.kind.clone(),
    }
}

/// Builds the report for `query` within the account's `scope`: aggregation in PostgreSQL (the
/// rollups; with a filter by respondent attributes, the raw responses, and the groups too
/// small for a unit account withheld), then the statistics here. A root outside the scope is
/// not found.
pub async fn build(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &crate::forms::FormRegistry,
    scope: &crate::domain::access::Scope,
    query: &ReportQuery,
) -> Result<Report, crate::Error> {
    build_with(conn, forms, scope, query, None).await
}

/// Per unit: its figures and, when filtered, its responses by which conditions they meet.
type UnitsRead = (HashMap<i32, Figures>, HashMap<i32, Vec<u64>>);

/// [`build`], with the units' figures already read when `read` is given.
async fn build_with(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &crate::forms::FormRegistry,
    scope: &crate::domain::access::Scope,
    query: &ReportQuery,
    read: Option<UnitsRead>,
) -> Result<Report, crate::Error> {
    use crate::Error;

    let form = forms.latest(&query.form_id).ok_or(Error::NotFound)?;
    let all = Unit::all_by_name(conn).await?;
    let root = selected_root(&all, scope, query.root).ok_or(Error::NotFound)?;
    let root_id = root.id;
    let mut row_units: Vec<&Unit> = all
        .iter()
        .filter(|u| u.parent_id == Some(root_id) && u.active && scope.contains(u.id))
        .filter(|u| query.kind.as_deref().is_none_or(|k| u.kind == k))
        .collect();
    if row_units.is_empty() && query.kind.is_none() {
        row_units.push(root);
    }
    let in_scope: Vec<i32> = subtree(&all, root_id)
        .into_iter()
        .filter(|id| scope.contains(*id))
        .collect();
    let filter = crate::db::stats::StatsFilter {
        form_id: query.form_id.clone(),
        from: query.from,
        to: query.to,
        units: Some(in_scope.clone()),
        channel: query.channel.clone(),
    };
    let filtered = !query.respondents.is_empty();
    let (by_unit, patterns_by_unit): UnitsRead = if let Some(read) = read {
        read
    } else if filtered {
        let mut grouped =
            crate::db::stats::read_filtered(conn, &filter, &query.respondents, None, true, None)
                .await?;
        let units = grouped.pop().map(|(_, units)| units).unwrap_or_default();
        units_read(&units)
    } else {
        let figures = crate::db::stats::unit_figures(conn, &filter).await?;
        (
            figures
                .iter()
                .map(|f| (f.unit_id, Figures::from(f)))
                .collect(),
            HashMap::new(),
        )
    };
    // The forms left out as suspected fraud are told for unfiltered figures only: their
    // respondents' attributes are not counted.
    let excluded = if filtered {
        Default::default()
    } else {
        crate::db::flags::excluded_by_unit(
            conn,
            &query.form_id,
            query.from,
            query.to,
            Some(&in_scope),
            query.channel.as_deref(),
        )
        .await?
    };
    let excluded_over = |ids: &[i32]| -> u64 { ids.iter().filter_map(|id| excluded.get(id)).sum() };
    // A filtered report holds no target: the plan's targets count every respondent.
    let targets: HashMap<i32, u64> = match query.period_id {
        Some(period) if !filtered => Period::targets(conn, period)
            .await?
            .into_iter()
            .map(|t| (t.unit_id, t.target.max(0) as u64))
            .collect(),
        _ => Default::default(),
    };
    let sum_over = |ids: &[i32]| {
        let mut f = Figures::default();
        for id in ids {
            if let Some(g) = by_unit.get(id) {
                f.add(g);
            }
        }
        f
    };
    let patterns_over =
        |ids: &[i32]| sum_patterns(query, ids.iter().map(|id| patterns_by_unit.get(id)));
    let row_ids: Vec<Vec<i32>> = row_units
        .iter()
        .map(|u| {
            subtree(&all, u.id)
                .into_iter()
                .filter(|id| scope.contains(*id))
                .collect()
        })
        .collect();
    let total_ids: Vec<i32> = if row_units.len() == 1 && row_units[0].id == root_id {
        in_scope.clone()
    } else {
        row_ids.iter().flatten().copied().collect()
    };
    let disclosure = Disclosure::for_scope(scope);
    let withheld = if filtered {
        let rows: Vec<Vec<u64>> = row_ids.iter().map(|ids| patterns_over(ids)).collect();
        withhold(disclosure, &rows, &patterns_over(&total_ids))
    } else {
        Withheld {
            rows: vec![false; row_units.len()],
            total: false,
        }
    };
    let report_of = |unit: &Unit, ids: &[i32], withheld: bool| {
        if withheld {
            withheld_report(&form.form, info(unit))
        } else {
            UnitReport {
                excluded: excluded_over(ids),
                ..unit_report(
                    &form.form,
                    info(unit),
                    sum_over(ids),
                    targets.get(&unit.id).copied(),
                )
            }
        }
    };
    let mut rows: Vec<UnitReport> = row_units
        .iter()
        .zip(&row_ids)
        .zip(&withheld.rows)
        .map(|((u, ids), w)| report_of(u, ids, *w))
        .collect();
    rank(&mut rows);
    let total = report_of(root, &total_ids, withheld.total);
    let goals = goals_for(conn, scope, &all, root_id, query).await?;
    // Unit accounts (the only ones acting within some units) never get the exact small cells,
    // whichever page, API call or export asked.
    Ok(Report {
        form_id: query.form_id.clone(),
        form_title: form.form.title.clone(),
        form: form.clone(),
        query: query.clone(),
        root: info(root),
        total,
        rows,
        disclosure: Disclosure::Exact,
        goals,
        lineage: None,
    }
    .disclosed(disclosure))
}

/// The pattern counts of several units added up (see
/// `sipas_db::stats::FilteredFigures::patterns`), as long as `query`'s filter makes them.
fn sum_patterns<'a>(
    query: &ReportQuery,
    units: impl IntoIterator<Item = Option<&'a Vec<u64>>>,
) -> Vec<u64> {
    let mut sum = vec![0u64; query.respondents.patterns()];
    for patterns in units.into_iter().flatten() {
        for (s, n) in sum.iter_mut().zip(patterns) {
            *s = s.saturating_add(*n);
        }
    }
    sum
}

/// The figures and pattern counts of filtered units, by unit id, several periods of a unit
/// added up.
fn units_read<'a>(
    units: impl IntoIterator<Item = &'a crate::db::stats::FilteredFigures>,
) -> UnitsRead {
    let mut read: UnitsRead = Default::default();
    for u in units {
        read.0
            .entry(u.figures.unit_id)
            .or_default()
            .add(&Figures::from(&u.figures));
        let patterns = read
            .1
            .entry(u.figures.unit_id)
            .or_insert_with(|| vec![0; u.patterns.len()]);
        for (s, n) in patterns.iter_mut().zip(&u.patterns) {
            *s = s.saturating_add(*n);
        }
    }
    read
}

/// The report of `query` ([`build`]) and the trend of `units` from `from` to `to` per `grain`
/// ([`trend`]). With a filter by respondent attributes over the trend's own days (a whole
/// year, say), one read of the raw responses per period and unit serves both, which halves
/// the page's cost; otherwise each is built on its own.
#[allow(clippy::too_many_arguments)]
pub async fn build_with_trend(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &crate::forms::FormRegistry,
    scope: &crate::domain::access::Scope,
    query: &ReportQuery,
    units: Vec<i32>,
    grain: crate::db::stats::Grain,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<(Report, Vec<(chrono::NaiveDate, PeriodFigures)>), crate::Error> {
    let trend_query = ReportQuery {
        from,
        to,
        ..query.clone()
    };
    // A filter by one attribute over whole months reads rollups: the report (by unit) and the
    // trend (units added up per period) each read fewer rows on their own than one read by
    // unit and period.
    let from_rollups =
        crate::db::stats::FilteredSources::of(from, to, query.respondents.conditions().len())
            .raw
            .is_empty();
    if query.respondents.is_empty() || (query.from, query.to) != (from, to) || from_rollups {
        let report = build(conn, forms, scope, query).await?;
        let periods = trend(conn, scope, &trend_query, units, grain).await?;
        return Ok((report, periods));
    }
    let filter = crate::db::stats::StatsFilter {
        form_id: query.form_id.clone(),
        from,
        to,
        units: Some(units),
        channel: query.channel.clone(),
    };
    let grouped =
        crate::db::stats::read_filtered(conn, &filter, &query.respondents, Some(grain), true, None)
            .await?;
    let read = units_read(grouped.iter().flat_map(|(_, units)| units));
    let report = build_with(conn, forms, scope, query, Some(read)).await?;
    Ok((report, filtered_trend(scope, &trend_query, grouped)))
}

/// The figures of one period of a trend ([`trend`]).
#[derive(Debug, Clone, PartialEq)]
pub enum PeriodFigures {
    Shown(Figures),
    /// Withheld from the account (a filtered figure of too few respondents, see
    /// [`withhold`]).
    Withheld,
}

/// The figures of the units `units` added up per calendar month, quarter or year from
/// `from` to `to`, by the period's first day, as `query` (its form, channel and filter by
/// respondent attributes) asks and the account acting within `scope` may see them: from the
/// rollups, or with a filter from the raw responses, the periods of too few respondents
/// withheld from unit accounts (the periods are the rows of one table, [`withhold`]).
pub async fn trend(
    conn: &mut diesel_async::AsyncPgConnection,
    scope: &crate::domain::access::Scope,
    query: &ReportQuery,
    units: Vec<i32>,
    grain: crate::db::stats::Grain,
) -> Result<Vec<(chrono::NaiveDate, PeriodFigures)>, crate::Error> {
    let filter = crate::db::stats::StatsFilter {
        form_id: query.form_id.clone(),
        from: query.from,
        to: query.to,
        units: Some(units),
        channel: query.channel.clone(),
    };
    if query.respondents.is_empty() {
        // The units added up in PostgreSQL (one row per period), under the root's id.
        let periods = crate::db::stats::figures_by_period_together(
            conn,
            &filter,
            grain,
            query.root.unwrap_or_default(),
        )
        .await?;
        return Ok(periods
            .into_iter()
            .map(|p| {
                let mut figures = Figures::default();
                for unit in &p.units {
                    figures.add(&Figures::from(unit));
                }
                (p.start, PeriodFigures::Shown(figures))
            })
            .collect());
    }
    // A trend shows each period's index and forms: no scores needed.
    let grouped = crate::db::stats::read_filtered(
        conn,
        &filter,
        &query.respondents,
        Some(grain),
        false,
        Some(query.root.unwrap_or_default()),
    )
    .await?;
    Ok(filtered_trend(scope, query, grouped))
}

/// The periods of a filtered read, the units added up, those too small for the account
/// withheld.
fn filtered_trend(
    scope: &crate::domain::access::Scope,
    query: &ReportQuery,
    grouped: crate::db::stats::FilteredGrouped,
) -> Vec<(chrono::NaiveDate, PeriodFigures)> {
    let periods: Vec<(chrono::NaiveDate, Figures, Vec<u64>)> = grouped
        .into_iter()
        .filter_map(|(start, units)| {
            let mut figures = Figures::default();
            for unit in &units {
                figures.add(&Figures::from(&unit.figures));
            }
            let patterns = sum_patterns(query, units.iter().map(|u| Some(&u.patterns)));
            Some((start?, figures, patterns))
        })
        .collect();
    let rows: Vec<Vec<u64>> = periods.iter().map(|(_, _, p)| p.clone()).collect();
    let total = sum_patterns(query, rows.iter().map(Some));
    let withheld = withhold(Disclosure::for_scope(scope), &rows, &total);
    periods
        .into_iter()
        .zip(withheld.rows)
        .map(|((start, figures, _), withheld)| {
            (
                start,
                if withheld {
                    PeriodFigures::Withheld
                } else {
                    PeriodFigures::Shown(figures)
                },
            )
        })
        .collect()
}

/// The goals a report of `root` is held to: those of the plan its period belongs to, else of
/// the plan of its year for the unit or the nearest above it (`crate::selection::plan_for`),
/// else the national programme's ([`sipas_core::goals::national`]).
async fn goals_for(
    conn: &mut diesel_async::AsyncPgConnection,
    scope: &crate::domain::access::Scope,
    all: &[Unit],
    root_id: i32,
    query: &ReportQuery,
) -> Result<Vec<sipas_core::goals::Goal>, crate::Error> {
    use chrono::Datelike;
    let plan_id = match query.period_id {
        Some(period) => Period::plan_of(conn, period).await?,
        None => None,
    };
    let plan_id = match plan_id {
        Some(id) => Some(id),
        None => crate::selection::plan_for(conn, scope, all, root_id, query.from.year())
            .await?
            .map(|(plan, _)| plan.id),
    };
    Ok(match plan_id {
        Some(id) => crate::db::plans::Plan::goals(conn, id).await?,
        None => sipas_core::goals::national(),
    })
}

/// The figures of `plan`'s `period` as they are now, as published: the report of the
/// plan's unit over every unit (whatever the publishing account's scope), with the plan's
/// form, the period's dates and targets, every channel.
pub async fn published_snapshot(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &crate::forms::FormRegistry,
    plan: &crate::db::plans::Plan,
    period: &crate::db::plans::Period,
) -> Result<crate::db::published::Snapshot, crate::Error> {
    let report = build(
        conn,
        forms,
        &crate::domain::access::Scope::All,
        &ReportQuery {
            form_id: plan.form_id.clone(),
            from: period.starts_on,
            to: period.ends_on,
            root: Some(plan.unit_id),
            kind: None,
            channel: None,
            period_id: Some(period.id),
            respondents: Default::default(),
        },
    )
    .await?;
    Ok(crate::db::published::Snapshot::of(
        &report,
        plan,
        period,
        chrono::Utc::now(),
    ))
}

/// Why a figure filtered by respondent attributes is not regrouped by lineage (the filtered
/// figures come from the raw responses, the regrouping from the rollups).
pub const MSG_LINEAGE_FILTERED: &str = "Không so sánh được với kỳ trước sắp xếp khi lọc theo \
     đặc điểm người trả lời: hãy bỏ bộ lọc để so sánh theo đơn vị trước sắp xếp.";

/// Today's units a report of `root` is about (its subtree in the account's scope, those that
/// still exist) and every
/// recorded act: what [`sipas_core::lineage::regroup`] takes.
struct LineageInput {
    all: Vec<Unit>,
    targets: std::collections::BTreeSet<i32>,
    acts: Vec<sipas_core::lineage::Act>,
    links: Vec<sipas_core::lineage::Link>,
}

impl LineageInput {
    async fn load(
        conn: &mut diesel_async::AsyncPgConnection,
        scope: &crate::domain::access::Scope,
        root: i32,
        units: Option<&[i32]>,
    ) -> Result<LineageInput, crate::Error> {
        let all = Unit::all_by_name(conn).await?;
        // Today's units: an ended unit counts only through its successors (one closed without
        // any counts no more, as in the rows of a report); the root always counts.
        let today = crate::domain::time::today_in_vietnam();
        let exists = |id: i32| {
            id == root
                || all
                    .iter()
                    .find(|u| u.id == id)
                    .is_none_or(|u| u.valid_until.is_none_or(|until| until > today))
        };
        let targets = match units {
            Some(ids) => ids
                .iter()
                .copied()
                .filter(|id| scope.contains(*id) && exists(*id))
                .collect(),
            None => subtree(&all, root)
                .into_iter()
                .filter(|id| scope.contains(*id) && exists(*id))
                .collect(),
        };
        let (acts, links) = crate::db::lineage::acts_and_links(conn).await?;
        Ok(LineageInput {
            all,
            targets,
            acts,
            links,
        })
    }

    fn regroup(
        &self,
        earlier_from: chrono::NaiveDate,
        later_to: chrono::NaiveDate,
    ) -> Result<sipas_core::lineage::Regrouped, sipas_core::lineage::Refusal> {
        sipas_core::lineage::regroup(
            &self.targets,
            &self.acts,
            &self.links,
            earlier_from,
            later_to,
        )
    }

    /// [`Self::regroup`] for the part of today's units under `unit` (a row of a report).
    fn regroup_within(
        &self,
        unit: i32,
        earlier_from: chrono::NaiveDate,
        later_to: chrono::NaiveDate,
    ) -> Result<sipas_core::lineage::Regrouped, sipas_core::lineage::Refusal> {
        let targets = subtree(&self.all, unit)
            .into_iter()
            .filter(|id| self.targets.contains(id))
            .collect();
        sipas_core::lineage::regroup(&targets, &self.acts, &self.links, earlier_from, later_to)
    }

    fn note(&self, regrouped: &sipas_core::lineage::Regrouped) -> sipas_core::lineage::ByLineage {
        let predecessors = regrouped
            .predecessors
            .iter()
            .filter_map(|id| self.all.iter().find(|u| u.id == *id))
            .map(info)
            .collect();
        sipas_core::lineage::ByLineage::regrouped(predecessors, regrouped.former_names.clone())
    }
}

/// [`build`] for an earlier period compared with a later one ending on `later_to` (or drawn
/// in a series up to it): when acts lie between them, the total and each row are the earlier
/// period's figures regrouped into today's units by lineage ([`sipas_core::lineage`]: weighted
/// sums of the rollups in PostgreSQL, one read for the total and every row) and say so
/// (`lineage` for the total, each row's own `lineage`), or why the comparison is refused (the
/// figure then stays the unit's own and must not be compared; a refused row is emptied). The
/// predecessors may lie outside the account's scope: only their sum into units of the scope
/// is shown, never their own figures.
pub async fn build_by_lineage(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &crate::forms::FormRegistry,
    scope: &crate::domain::access::Scope,
    query: &ReportQuery,
    later_to: chrono::NaiveDate,
) -> Result<Report, crate::Error> {
    let mut report = build(conn, forms, scope, query).await?;
    let input = LineageInput::load(conn, scope, report.root.id, None).await?;
    let root = report.root.id;
    let regrouped = match input.regroup(query.from, later_to) {
        Ok(r) if !r.by_lineage() => return Ok(report),
        Ok(r) => r,
        Err(refusal) => {
            report.lineage = Some(sipas_core::lineage::ByLineage::refused(refusal.to_string()));
            return Ok(report);
        }
    };
    if !query.respondents.is_empty() {
        report.lineage = Some(sipas_core::lineage::ByLineage::refused(
            MSG_LINEAGE_FILTERED.into(),
        ));
        return Ok(report);
    }
    let ends = query.to.succ_opt().unwrap_or(query.to);
    let weight = |target: i32| {
        move |(unit_id, weight): &(i32, f64)| crate::db::lineage::Weight {
            unit_id: *unit_id,
            weight: *weight,
            starts: query.from,
            ends,
            target,
        }
    };
    let mut weights: Vec<crate::db::lineage::Weight> =
        regrouped.weights.iter().map(weight(root)).collect();
    // Each row (a unit of today under the root, with its subtree) regrouped on its own; a row
    // that is the root itself is the total.
    let mut rows_regrouped = std::collections::HashMap::new();
    for row in report.rows.iter_mut().filter(|r| r.unit.id != root) {
        match input.regroup_within(row.unit.id, query.from, later_to) {
            Ok(r) if !r.by_lineage() => {}
            Ok(r) => {
                weights.extend(r.weights.iter().map(weight(row.unit.id)));
                rows_regrouped.insert(row.unit.id, input.note(&r));
            }
            Err(refusal) => {
                *row = unit_report(
                    &report.form.form,
                    row.unit.clone(),
                    Figures::default(),
                    None,
                );
                row.lineage = Some(sipas_core::lineage::ByLineage::refused(refusal.to_string()));
            }
        }
    }
    let filter = crate::db::stats::StatsFilter {
        form_id: query.form_id.clone(),
        from: query.from,
        to: query.to,
        units: None,
        channel: query.channel.clone(),
    };
    let figures: HashMap<i32, Figures> =
        crate::db::lineage::weighted_figures(conn, &filter, &weights, None)
            .await?
            .into_iter()
            .map(|(_, f)| (f.unit_id, Figures::from(&f)))
            .collect();
    let regrouped_report = |unit: sipas_core::reports::UnitInfo| {
        let figures = figures.get(&unit.id).cloned().unwrap_or_default();
        let mut report_of = unit_report(&report.form.form, unit, figures, None);
        if report.disclosure.is_protected() {
            report_of.protect_small_cells();
        }
        report_of
    };
    let total = regrouped_report(report.root.clone());
    let mut rows = std::mem::take(&mut report.rows);
    for row in &mut rows {
        if row.unit.id == root {
            *row = total.clone();
        } else if let Some(note) = rows_regrouped.remove(&row.unit.id) {
            *row = regrouped_report(row.unit.clone());
            row.lineage = Some(note);
        }
    }
    rank(&mut rows);
    report.rows = rows;
    report.total = total;
    report.lineage = Some(input.note(&regrouped));
    Ok(report)
}

/// A trend regrouped by lineage ([`trend_by_lineage`]).
#[derive(Debug, Clone)]
pub struct TrendByLineage {
    /// Every period's figures (empty when refused: the caller keeps the units' own).
    pub periods: Vec<(chrono::NaiveDate, PeriodFigures)>,
    /// The first days of the periods regrouped (or refused).
    pub regrouped: Vec<chrono::NaiveDate>,
    pub lineage: sipas_core::lineage::ByLineage,
}

/// A trend of `units` (today's units, in the account's scope) whose periods (`starts`, first
/// days, with `to` the trend's last day) cross acts: each period's figures regrouped into
/// today's units by the acts after its first day ([`build_by_lineage`]'s rule), in one
/// weighted read of the rollups. `None` when no act lies in the trend.
#[allow(clippy::too_many_arguments)]
pub async fn trend_by_lineage(
    conn: &mut diesel_async::AsyncPgConnection,
    scope: &crate::domain::access::Scope,
    query: &ReportQuery,
    root: i32,
    units: &[i32],
    grain: crate::db::stats::Grain,
    starts: &[chrono::NaiveDate],
    to: chrono::NaiveDate,
) -> Result<Option<TrendByLineage>, crate::Error> {
    let input = LineageInput::load(conn, scope, root, Some(units)).await?;
    let mut weights = Vec::new();
    let mut predecessors = std::collections::BTreeSet::new();
    let mut former_names: Vec<String> = Vec::new();
    let mut regrouped_starts = Vec::new();
    let mut refused: Option<(Vec<chrono::NaiveDate>, String)> = None;
    for (i, start) in starts.iter().enumerate() {
        let ends = starts
            .get(i + 1)
            .copied()
            .unwrap_or_else(|| to.succ_opt().unwrap_or(to));
        match input.regroup(*start, to) {
            Ok(r) => {
                if r.by_lineage() {
                    regrouped_starts.push(*start);
                }
                predecessors.extend(r.predecessors.iter().copied());
                for name in &r.former_names {
                    if !former_names.contains(name) {
                        former_names.push(name.clone());
                    }
                }
                weights.extend(r.weights.iter().map(|(unit_id, weight)| {
                    crate::db::lineage::Weight {
                        unit_id: *unit_id,
                        weight: *weight,
                        starts: *start,
                        ends,
                        target: root,
                    }
                }));
            }
            Err(refusal) => {
                let (starts, _) = refused.get_or_insert_with(|| (Vec::new(), refusal.to_string()));
                starts.push(*start);
            }
        }
    }
    if let Some((starts, reason)) = refused {
        return Ok(Some(TrendByLineage {
            periods: Vec::new(),
            regrouped: starts,
            lineage: sipas_core::lineage::ByLineage::refused(reason),
        }));
    }
    let regrouped = sipas_core::lineage::Regrouped {
        weights: Vec::new(),
        predecessors: predecessors.into_iter().collect(),
        former_names,
    };
    if !regrouped.by_lineage() {
        return Ok(None);
    }
    if !query.respondents.is_empty() {
        return Ok(Some(TrendByLineage {
            periods: Vec::new(),
            regrouped: regrouped_starts,
            lineage: sipas_core::lineage::ByLineage::refused(MSG_LINEAGE_FILTERED.into()),
        }));
    }
    let filter = crate::db::stats::StatsFilter {
        form_id: query.form_id.clone(),
        from: query.from,
        to: query.to,
        units: None,
        channel: query.channel.clone(),
    };
    let periods = crate::db::lineage::weighted_figures(conn, &filter, &weights, Some(grain))
        .await?
        .into_iter()
        .filter_map(|(start, f)| Some((start?, PeriodFigures::Shown(Figures::from(&f)))))
        .collect();
    Ok(Some(TrendByLineage {
        periods,
        regrouped: regrouped_starts,
        lineage: input.note(&regrouped),
    }))
}
