//! Building reports from the database: the unit tree and the rollups' figures, then the pure
//! statistics of [`sipas_core::reports`] (re-exported here).

pub use sipas_core::reports::*;

use crate::db::plans::Period;
use crate::db::units::Unit;
use crate::domain::tree::{default_root, subtree};
use crate::small_cells::Disclosure;

fn info(unit: &Unit) -> UnitInfo {
    UnitInfo {
        id: unit.id,
        code: unit.code.clone(),
        name: unit.name.clone(),
        kind: unit.kind.clone(),
    }
}

/// Builds the report for `query` within the account's `scope`: aggregation in PostgreSQL (the
/// rollups), then the statistics here. A root outside the scope is not found.
pub async fn build(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &crate::forms::FormRegistry,
    scope: &crate::domain::access::Scope,
    query: &ReportQuery,
) -> Result<Report, crate::Error> {
    use crate::Error;

    let form = forms.latest(&query.form_id).ok_or(Error::NotFound)?;
    let all = Unit::all_by_name(conn).await?;
    let root_id = match query.root {
        Some(id) if scope.contains(id) && all.iter().any(|u| u.id == id) => id,
        Some(_) => return Err(Error::NotFound),
        None => default_root(&all, scope).ok_or(Error::NotFound)?,
    };
    let root = all
        .iter()
        .find(|u| u.id == root_id)
        .ok_or(Error::NotFound)?;
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
    let figures = crate::db::stats::unit_figures(
        conn,
        &crate::db::stats::StatsFilter {
            form_id: query.form_id.clone(),
            from: query.from,
            to: query.to,
            units: Some(in_scope.clone()),
            channel: query.channel.clone(),
        },
    )
    .await?;
    let by_unit: std::collections::HashMap<i32, Figures> = figures
        .iter()
        .map(|f| (f.unit_id, Figures::from(f)))
        .collect();
    let excluded = crate::db::flags::excluded_by_unit(
        conn,
        &query.form_id,
        query.from,
        query.to,
        Some(&in_scope),
        query.channel.as_deref(),
    )
    .await?;
    let excluded_over = |ids: &[i32]| -> u64 { ids.iter().filter_map(|id| excluded.get(id)).sum() };
    let targets: std::collections::HashMap<i32, u64> = match query.period_id {
        Some(period) => Period::targets(conn, period)
            .await?
            .into_iter()
            .map(|t| (t.unit_id, t.target.max(0) as u64))
            .collect(),
        None => Default::default(),
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
    let mut rows: Vec<UnitReport> = row_units
        .iter()
        .map(|u| {
            let ids: Vec<i32> = subtree(&all, u.id)
                .into_iter()
                .filter(|id| scope.contains(*id))
                .collect();
            UnitReport {
                excluded: excluded_over(&ids),
                ..unit_report(
                    &form.form,
                    info(u),
                    sum_over(&ids),
                    targets.get(&u.id).copied(),
                )
            }
        })
        .collect();
    rank(&mut rows);
    let total_ids: Vec<i32> = if row_units.len() == 1 && row_units[0].id == root_id {
        in_scope.clone()
    } else {
        row_units
            .iter()
            .flat_map(|u| subtree(&all, u.id))
            .filter(|id| scope.contains(*id))
            .collect()
    };
    let total = UnitReport {
        excluded: excluded_over(&total_ids),
        ..unit_report(
            &form.form,
            info(root),
            sum_over(&total_ids),
            targets.get(&root_id).copied(),
        )
    };
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
    }
    .disclosed(Disclosure::for_scope(scope)))
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
