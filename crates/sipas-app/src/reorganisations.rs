//! Reorganisation acts (issue 19): preview an act, then apply it. Both compute the act's plan
//! with the same pure rule ([`crate::domain::reorganisation::plan`]) over the rows loaded from
//! the database; applying does it again under the unit tree's lock, executes exactly that plan
//! in one transaction and records one audit entry ("unit.reorganise"), so what was previewed
//! is what is applied (or, when the units changed in between, a refusal).

use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::audit::{self, NewAuditEntry};
use crate::db::reorganisations::{self, Executed};
use crate::db::units;
use crate::domain::access::Actor;
use crate::domain::fields::FieldErrors;
use crate::domain::reorganisation::{Act, ActPlan, World, plan};

/// What an act will do, with the rows it was computed from (for the names on the page).
#[derive(Debug, Clone)]
pub struct Preview {
    pub plan: ActPlan,
    pub world: World,
}

/// What `act` would do now, or why it is refused. Nothing is written.
pub async fn preview(
    conn: &mut AsyncPgConnection,
    act: &Act,
) -> diesel::QueryResult<Result<Preview, FieldErrors>> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(async |conn| {
            let world = reorganisations::load_world(conn).await?;
            Ok(plan(act, &world).map(|plan| Preview { plan, world }))
        })
        .await
}

/// An applied act.
#[derive(Debug, Clone)]
pub struct Applied {
    pub executed: Executed,
    pub plan: ActPlan,
}

/// Applies `act` by `actor` (an admin: the caller checks), in one transaction under the unit
/// tree's lock, audited as "unit.reorganise" with what it did; or the refusals, with nothing
/// stored.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    act: &Act,
) -> diesel::QueryResult<Result<Applied, FieldErrors>> {
    let result = conn
        .transaction::<_, DbError, _>(async |conn| {
            units::lock_tree(conn).await?;
            let world = reorganisations::load_world(conn).await?;
            let plan = match plan(act, &world) {
                Ok(plan) => plan,
                Err(refusals) => return Ok(Err(refusals)),
            };
            let executed = reorganisations::execute(conn, &plan, actor.account_id).await?;
            let mut after = plan.details(&executed.new_unit_ids);
            if let Some(object) = after.as_object_mut() {
                object.insert("kind".into(), plan.kind.as_str().into());
                object.insert("title".into(), plan.title.clone().into());
                object.insert("legal_basis".into(), plan.legal_basis.clone().into());
                object.insert(
                    "effective_date".into(),
                    plan.effective_date.to_string().into(),
                );
            }
            audit::record(
                conn,
                &NewAuditEntry::by(
                    actor,
                    "unit.reorganise",
                    "reorganisation",
                    executed.id,
                    None,
                    Some(after),
                ),
            )
            .await?;
            Ok(Ok(Applied { executed, plan }))
        })
        .await;
    match result {
        // A code stored at the same moment outside the tree's lock.
        Err(DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            let mut errors = FieldErrors::new();
            errors.insert(
                "code",
                "Mã đơn vị hoặc mã đơn vị hành chính vừa được dùng cho một đơn vị khác. Vui lòng \
                 xem trước lại."
                    .to_string(),
            );
            Ok(Err(errors))
        }
        other => other,
    }
}
