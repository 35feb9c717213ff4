//! Survey plans: create one, add or remove a period, save a period's targets.

use diesel::result::Error as DbError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::plans::{NewPeriod, NewPlan, Period, Plan, Target};
use crate::domain::access::Actor;
use sipas_core::goals::Goal;
use sipas_core::plans::{PeriodSpec, ranges_overlap};

/// Creates `new` with its `periods`, audited as "plan.create". A plan of the same unit and
/// year made at the same moment is the database's unique violation.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    new: &NewPlan<'_>,
    periods: &[PeriodSpec],
) -> diesel::QueryResult<Plan> {
    conn.transaction(async |conn| {
        let (created, periods) = Plan::create(conn, new, periods).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "plan.create",
                "plan",
                created.id,
                None,
                Some(json!({
                    "unit_id": created.unit_id,
                    "year": created.year,
                    "title": created.title,
                    "form_id": created.form_id,
                    "margin_of_error": created.margin_of_error,
                    "periods": periods,
                })),
            ),
        )
        .await?;
        Ok(created)
    })
    .await
}

/// Why a new period does not fit its plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PeriodClash {
    /// Another period has the same name (letter case aside).
    SameName,
    /// It shares days with this period.
    Overlaps(Period),
}

/// The clashes of a new period with the plan's `periods` (pure).
pub fn clashes(spec: &PeriodSpec, periods: &[Period]) -> Vec<PeriodClash> {
    let mut found = Vec::new();
    if periods
        .iter()
        .any(|p| p.name.trim().to_lowercase() == spec.name.to_lowercase())
    {
        found.push(PeriodClash::SameName);
    }
    if let Some(other) = periods
        .iter()
        .find(|p| ranges_overlap(spec.starts_on, spec.ends_on, p.starts_on, p.ends_on))
    {
        found.push(PeriodClash::Overlaps(other.clone()));
    }
    found
}

/// Adds the period `spec` to plan `plan_id` (locked, so that two additions are checked one
/// after the other), audited as "plan.add_period". `None`: no such plan; `Some(Err)`: it
/// clashes with the plan's periods. A name taken at the same moment is the database's unique
/// violation.
pub async fn add_period(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    plan_id: i32,
    spec: &PeriodSpec,
) -> diesel::QueryResult<Option<Result<Period, Vec<PeriodClash>>>> {
    conn.transaction(async |conn| {
        if Plan::lock(conn, plan_id).await?.is_none() {
            return Ok(None);
        }
        let periods = Period::for_plan(conn, plan_id).await?;
        let found = clashes(spec, &periods);
        if !found.is_empty() {
            return Ok(Some(Err(found)));
        }
        let period = Period::add(
            conn,
            &NewPeriod {
                plan_id,
                name: &spec.name,
                starts_on: spec.starts_on,
                ends_on: spec.ends_on,
            },
        )
        .await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "plan.add_period",
                "plan",
                plan_id,
                None,
                Some(json!({ "period": period })),
            ),
        )
        .await?;
        Ok(Some(Ok(period)))
    })
    .await
}

/// Removes period `period_id` of plan `plan_id` with its targets, audited as
/// "plan.remove_period" (the period and its targets kept in the entry). False: no such plan or
/// period.
pub async fn remove_period(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    plan_id: i32,
    period_id: i32,
) -> diesel::QueryResult<bool> {
    conn.transaction(async |conn| {
        if Plan::lock(conn, plan_id).await?.is_none() {
            return Ok(false);
        }
        let Some(period) = Period::for_plan(conn, plan_id)
            .await?
            .into_iter()
            .find(|p| p.id == period_id)
        else {
            return Ok(false);
        };
        let targets = Period::targets(conn, period.id).await?;
        Period::remove(conn, period.id).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "plan.remove_period",
                "plan",
                plan_id,
                Some(json!({ "period": period, "targets": targets })),
                None,
            ),
        )
        .await?;
        Ok(true)
    })
    .await
}

fn target_json(unit_id: i32, target: Option<&Target>) -> serde_json::Value {
    json!({
        "unit_id": unit_id,
        "target": target.map(|t| t.target),
        "expected_dossiers": target.and_then(|t| t.expected_dossiers),
    })
}

/// Saves the targets of `period` (of plan `plan_id`) that differ from the stored ones (`None`:
/// cleared), audited as "plan.update_targets" with the rows before and after. `Ok(None)`: no
/// such plan; `Ok(Some(false))`: nothing changed, nothing written.
pub async fn save_targets(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    plan_id: i32,
    period: &Period,
    targets: Vec<(i32, Option<Target>)>,
) -> diesel::QueryResult<Option<bool>> {
    conn.transaction::<_, DbError, _>(async |conn| {
        if Plan::lock(conn, plan_id).await?.is_none() {
            return Ok(None);
        }
        let current: std::collections::HashMap<i32, Target> = Period::targets(conn, period.id)
            .await?
            .into_iter()
            .map(|t| (t.unit_id, t))
            .collect();
        let changes: Vec<(i32, Option<Target>)> = targets
            .into_iter()
            .filter(|(unit_id, new)| current.get(unit_id) != new.as_ref())
            .collect();
        if changes.is_empty() {
            return Ok(Some(false));
        }
        Target::save(conn, period.id, &changes).await?;
        let before: Vec<_> = changes
            .iter()
            .map(|(unit_id, _)| target_json(*unit_id, current.get(unit_id)))
            .collect();
        let after: Vec<_> = changes
            .iter()
            .map(|(unit_id, new)| target_json(*unit_id, new.as_ref()))
            .collect();
        let period_json = json!({ "id": period.id, "name": period.name });
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "plan.update_targets",
                "plan",
                plan_id,
                Some(json!({ "period": period_json, "rows": before })),
                Some(json!({ "period": period_json, "rows": after })),
            ),
        )
        .await?;
        Ok(Some(true))
    })
    .await
}

/// Replaces the satisfaction goals of plan `plan_id`, audited as "plan.update_goals" with the
/// goals before and after. `Ok(None)`: no such plan; `Ok(Some(false))`: the same goals, nothing
/// written.
pub async fn save_goals(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    plan_id: i32,
    goals: &[Goal],
) -> diesel::QueryResult<Option<bool>> {
    conn.transaction::<_, DbError, _>(async |conn| {
        if Plan::lock(conn, plan_id).await?.is_none() {
            return Ok(None);
        }
        let before = Plan::goals(conn, plan_id).await?;
        if before == goals {
            return Ok(Some(false));
        }
        Plan::set_goals(conn, plan_id, goals).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "plan.update_goals",
                "plan",
                plan_id,
                Some(json!({ "goals": before })),
                Some(json!({ "goals": goals })),
            ),
        )
        .await?;
        Ok(Some(true))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    #[test]
    fn a_new_period_clashes_by_name_or_by_days() {
        let q1 = Period {
            id: 1,
            plan_id: 9,
            name: "Quý I".into(),
            starts_on: day(1, 1),
            ends_on: day(3, 31),
        };
        let spec = |name: &str, from, to| PeriodSpec {
            name: name.into(),
            starts_on: from,
            ends_on: to,
        };
        let periods = [q1.clone()];
        assert!(clashes(&spec("Quý II", day(4, 1), day(6, 30)), &periods).is_empty());
        assert_eq!(
            clashes(&spec("quý i", day(4, 1), day(6, 30)), &periods),
            [PeriodClash::SameName]
        );
        assert_eq!(
            clashes(&spec("Đợt 1", day(3, 31), day(4, 30)), &periods),
            [PeriodClash::Overlaps(q1.clone())]
        );
        assert_eq!(
            clashes(&spec("Quý I", day(2, 1), day(2, 28)), &periods).len(),
            2
        );
    }
}
