//! The annual survey plans: periods, targets per unit and period, and progress.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Array, Bool, Float8, Int2, Int4, Int8, Nullable, Text, Timestamptz};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{plan_goals, plan_periods, plan_targets, survey_plans, units};
use crate::domain::access::Scope;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = survey_plans)]
pub struct Plan {
    pub id: i32,
    pub unit_id: i32,
    pub year: i16,
    pub title: String,
    pub form_id: String,
    pub margin_of_error: f64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable, Serialize)]
#[diesel(table_name = survey_plans)]
pub struct NewPlan<'a> {
    pub unit_id: i32,
    pub year: i16,
    pub title: &'a str,
    pub form_id: &'a str,
    pub margin_of_error: f64,
}

/// A plan with the name of its unit, for lists.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct PlanListing {
    #[diesel(sql_type = Int4)]
    pub id: i32,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Int2)]
    pub year: i16,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub form_id: String,
    #[diesel(sql_type = Float8)]
    pub margin_of_error: f64,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = plan_periods)]
pub struct Period {
    pub id: i32,
    pub plan_id: i32,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

impl From<&Period> for crate::periods::PlanPeriod {
    fn from(p: &Period) -> Self {
        crate::periods::PlanPeriod {
            id: p.id,
            name: p.name.clone(),
            starts_on: p.starts_on,
            ends_on: p.ends_on,
        }
    }
}

#[derive(Debug, Clone, Insertable, Serialize)]
#[diesel(table_name = plan_periods)]
pub struct NewPeriod<'a> {
    pub plan_id: i32,
    pub name: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = plan_targets)]
pub struct Target {
    pub period_id: i32,
    pub unit_id: i32,
    pub target: i32,
    pub expected_dossiers: Option<i32>,
}

/// A unit that can own a plan (a province or a district).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct PlanOwner {
    pub id: i32,
    pub name: String,
    pub kind: String,
}

/// A unit in a plan's table.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PlanUnit {
    #[diesel(sql_type = Int4)]
    pub id: i32,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Bool)]
    pub active: bool,
}

/// A unit's progress in a period.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ProgressRow {
    #[diesel(sql_type = Int4)]
    pub id: i32,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Bool)]
    pub active: bool,
    #[diesel(sql_type = Nullable<Int4>)]
    pub target: Option<i32>,
    #[diesel(sql_type = Nullable<Int4>)]
    pub expected_dossiers: Option<i32>,
    #[diesel(sql_type = Int8)]
    pub received: i64,
}

fn scope_ids(scope: &Scope) -> Option<Vec<i32>> {
    scope.unit_ids().map(<[i32]>::to_vec)
}

impl Plan {
    /// The plans visible within `scope`, newest year first.
    pub async fn list_for_scope(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
    ) -> diesel::QueryResult<Vec<PlanListing>> {
        diesel::sql_query(include_str!("sql/plans_list.sql"))
            .bind::<Nullable<Array<Int4>>, _>(scope_ids(scope))
            .load(conn)
            .await
    }

    /// The plan `id` when it is visible within `scope`.
    pub async fn find_for_scope(
        conn: &mut AsyncPgConnection,
        id: i32,
        scope: &Scope,
    ) -> diesel::QueryResult<Option<PlanListing>> {
        Ok(Self::list_for_scope(conn, scope)
            .await?
            .into_iter()
            .find(|p| p.id == id))
    }

    /// The plan `id`, locked until the end of the transaction (changes to one plan's periods
    /// are serialised, so that two overlapping periods cannot be added at the same moment).
    pub async fn lock(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<Option<Plan>> {
        survey_plans::table
            .find(id)
            .select(Plan::as_select())
            .for_update()
            .get_result(conn)
            .await
            .optional()
    }

    pub async fn exists_for(
        conn: &mut AsyncPgConnection,
        unit_id: i32,
        year: i16,
    ) -> diesel::QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            survey_plans::table
                .filter(survey_plans::unit_id.eq(unit_id))
                .filter(survey_plans::year.eq(year)),
        ))
        .get_result(conn)
        .await
    }

    /// Inserts the plan and its periods.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: &NewPlan<'_>,
        periods: &[sipas_core::plans::PeriodSpec],
    ) -> diesel::QueryResult<(Plan, Vec<Period>)> {
        let plan: Plan = diesel::insert_into(survey_plans::table)
            .values(new)
            .returning(Plan::as_returning())
            .get_result(conn)
            .await?;
        let rows: Vec<NewPeriod> = periods
            .iter()
            .map(|p| NewPeriod {
                plan_id: plan.id,
                name: &p.name,
                starts_on: p.starts_on,
                ends_on: p.ends_on,
            })
            .collect();
        let periods = diesel::insert_into(plan_periods::table)
            .values(&rows)
            .returning(Period::as_returning())
            .get_results(conn)
            .await?;
        Plan::set_goals(conn, plan.id, &sipas_core::goals::national()).await?;
        Ok((plan, periods))
    }

    /// The plan's satisfaction goals, in their order.
    pub async fn goals(
        conn: &mut AsyncPgConnection,
        plan_id: i32,
    ) -> diesel::QueryResult<Vec<sipas_core::goals::Goal>> {
        let rows: Vec<(String, i32, String)> = plan_goals::table
            .filter(plan_goals::plan_id.eq(plan_id))
            .order(plan_goals::position)
            .select((plan_goals::label, plan_goals::points, plan_goals::basis))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(label, points, basis)| sipas_core::goals::Goal {
                label,
                points: points.clamp(0, 10_000) as u32,
                basis,
            })
            .collect())
    }

    /// Replaces the plan's goals (at most [`sipas_core::goals::MAX_GOALS`], checked by the
    /// table too).
    pub async fn set_goals(
        conn: &mut AsyncPgConnection,
        plan_id: i32,
        goals: &[sipas_core::goals::Goal],
    ) -> diesel::QueryResult<()> {
        diesel::delete(plan_goals::table.filter(plan_goals::plan_id.eq(plan_id)))
            .execute(conn)
            .await?;
        let rows: Vec<_> = goals
            .iter()
            .zip(1i16..)
            .map(|(g, position)| {
                (
                    plan_goals::plan_id.eq(plan_id),
                    plan_goals::position.eq(position),
                    plan_goals::label.eq(&g.label),
                    plan_goals::points.eq(g.points as i32),
                    plan_goals::basis.eq(&g.basis),
                )
            })
            .collect();
        if !rows.is_empty() {
            diesel::insert_into(plan_goals::table)
                .values(&rows)
                .execute(conn)
                .await?;
        }
        Ok(())
    }

    /// The units that may own a plan: active provinces and districts, provinces first.
    pub async fn owners(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<PlanOwner>> {
        units::table
            .filter(units::kind.eq_any(["province", "district"]))
            .filter(units::active.eq(true))
            .select((units::id, units::name, units::kind))
            .order((units::kind.desc(), units::name, units::id))
            .load(conn)
            .await
    }

    /// The units of the plan's table within `scope`, in unit-tree order.
    pub async fn units(
        conn: &mut AsyncPgConnection,
        plan_id: i32,
        scope: &Scope,
    ) -> diesel::QueryResult<Vec<PlanUnit>> {
        diesel::sql_query(include_str!("sql/plans_units.sql"))
            .bind::<Int4, _>(plan_id)
            .bind::<Nullable<Array<Int4>>, _>(scope_ids(scope))
            .load(conn)
            .await
    }

    /// Every target of the plan.
    pub async fn targets(
        conn: &mut AsyncPgConnection,
        plan_id: i32,
    ) -> diesel::QueryResult<Vec<Target>> {
        plan_targets::table
            .inner_join(plan_periods::table)
            .filter(plan_periods::plan_id.eq(plan_id))
            .select(Target::as_select())
            .load(conn)
            .await
    }

    /// Forms received against target per unit in `period_id`, within `scope`, aggregated in
    /// the database.
    pub async fn progress(
        conn: &mut AsyncPgConnection,
        plan_id: i32,
        period_id: i32,
        scope: &Scope,
    ) -> diesel::QueryResult<Vec<ProgressRow>> {
        diesel::sql_query(include_str!("sql/plans_progress.sql"))
            .bind::<Int4, _>(plan_id)
            .bind::<Int4, _>(period_id)
            .bind::<Nullable<Array<Int4>>, _>(scope_ids(scope))
            .load(conn)
            .await
    }
}

impl Period {
    /// The plan a period belongs to.
    pub async fn plan_of(
        conn: &mut AsyncPgConnection,
        period_id: i32,
    ) -> diesel::QueryResult<Option<i32>> {
        plan_periods::table
            .find(period_id)
            .select(plan_periods::plan_id)
            .get_result(conn)
            .await
            .optional()
    }

    /// The periods of a plan, in date order.
    pub async fn for_plan(
        conn: &mut AsyncPgConnection,
        plan_id: i32,
    ) -> diesel::QueryResult<Vec<Period>> {
        plan_periods::table
            .filter(plan_periods::plan_id.eq(plan_id))
            .select(Period::as_select())
            .order((plan_periods::starts_on, plan_periods::id))
            .load(conn)
            .await
    }

    pub async fn add(
        conn: &mut AsyncPgConnection,
        new: &NewPeriod<'_>,
    ) -> diesel::QueryResult<Period> {
        diesel::insert_into(plan_periods::table)
            .values(new)
            .returning(Period::as_returning())
            .get_result(conn)
            .await
    }

    /// The period's targets.
    pub async fn targets(
        conn: &mut AsyncPgConnection,
        period_id: i32,
    ) -> diesel::QueryResult<Vec<Target>> {
        plan_targets::table
            .filter(plan_targets::period_id.eq(period_id))
            .select(Target::as_select())
            .order(plan_targets::unit_id)
            .load(conn)
            .await
    }

    /// Deletes the period (its targets go with it).
    pub async fn remove(conn: &mut AsyncPgConnection, period_id: i32) -> diesel::QueryResult<()> {
        diesel::delete(plan_periods::table.find(period_id))
            .execute(conn)
            .await?;
        Ok(())
    }
}

impl Target {
    /// Sets (Some) or clears (None) the target of each (unit, value) of the period.
    pub async fn save(
        conn: &mut AsyncPgConnection,
        period_id: i32,
        changes: &[(i32, Option<Target>)],
    ) -> diesel::QueryResult<()> {
        for (unit_id, value) in changes {
            match value {
                Some(target) => {
                    diesel::insert_into(plan_targets::table)
                        .values(target)
                        .on_conflict((plan_targets::period_id, plan_targets::unit_id))
                        .do_update()
                        .set((
                            plan_targets::target.eq(target.target),
                            plan_targets::expected_dossiers.eq(target.expected_dossiers),
                        ))
                        .execute(conn)
                        .await?;
                }
                None => {
                    diesel::delete(
                        plan_targets::table
                            .filter(plan_targets::period_id.eq(period_id))
                            .filter(plan_targets::unit_id.eq(unit_id)),
                    )
                    .execute(conn)
                    .await?;
                }
            }
        }
        Ok(())
    }
}
