//! The survey plan a selection falls under (see `sipas_core::selection` for the rules that
//! resolve it): the unit's own plan of the year, else the nearest one above it.

use diesel_async::AsyncPgConnection;

use crate::db::plans::{Period, Plan, PlanListing};
use crate::domain::access::Scope;
use crate::domain::tree::{TreeNode, ancestors};

/// The plan of `year` for `unit` (its own or the nearest above it among `units`, within
/// `scope`), with its periods in date order.
pub async fn plan_for<U: TreeNode>(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    units: &[U],
    unit: i32,
    year: i32,
) -> diesel::QueryResult<Option<(PlanListing, Vec<Period>)>> {
    let plans = Plan::list_for_scope(conn, scope).await?;
    for id in ancestors(units, unit) {
        if let Some(plan) = plans
            .iter()
            .find(|p| p.unit_id == id && i32::from(p.year) == year)
        {
            let periods = Period::for_plan(conn, plan.id).await?;
            return Ok(Some((plan.clone(), periods)));
        }
    }
    Ok(None)
}
