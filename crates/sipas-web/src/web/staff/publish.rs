//! Staff area: publishing results ("công khai kết quả"), admins only (404 to everyone else).
//! Publishing a period computes its figures now, with `reports::build` (the plan's unit as the
//! root, every unit, the plan's form, the period's dates and targets), and stores them as a
//! snapshot that the public pages read; publishing again replaces the snapshot; unpublishing
//! withdraws it. Both are audited ("results.publish", "results.unpublish").

use actix_web::{HttpRequest, HttpResponse, web};

use super::{Empty, html, parse_id, resource, see_other};
use crate::auth::{CsrfForm, Scope, Staff};
use crate::db::plans::{Period, Plan, PlanListing};
use crate::db::published::{Published, plan_period};
use crate::error::AppError;
use crate::views::staff::publish::{self as views, PATH, PeriodPage, PlanPeriods};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/publish").route(web::get().to(list)))
        .service(
            resource("/publish/{period}")
                .route(web::get().to(show))
                .route(web::post().to(publish)),
        )
        .service(resource("/publish/{period}/unpublish").route(web::post().to(unpublish)));
}

/// The flash message named by `?ok=` after a redirect (unreadable queries: none).
fn notice(request: &HttpRequest) -> Option<&'static str> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    match pairs.iter().find(|(k, _)| k == "ok")?.1.as_str() {
        "published" => Some("Đã công khai kết quả của đợt khảo sát."),
        "unpublished" => Some("Đã thôi công khai kết quả của đợt khảo sát."),
        _ => None,
    }
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut conn = state.pool.get().await?;
    let published: std::collections::HashMap<i32, chrono::DateTime<chrono::Utc>> =
        Published::list(&mut conn)
            .await?
            .into_iter()
            .map(|p| (p.period_id, p.published_at))
            .collect();
    let mut plans = Vec::new();
    for plan in Plan::list_for_scope(&mut conn, &Scope::All).await? {
        let periods = Period::for_plan(&mut conn, plan.id)
            .await?
            .into_iter()
            .map(|period| {
                let at = published.get(&period.id).copied();
                (period, at)
            })
            .collect();
        plans.push(PlanPeriods { plan, periods });
    }
    Ok(html(views::list(&staff, &plans, notice(&request)), 200))
}

/// The period of the path with its plan (and the plan as listed), or 404.
async fn find(
    conn: &mut crate::db::Connection,
    segment: &str,
) -> Result<(Plan, Period, PlanListing), AppError> {
    let (plan, period) = plan_period(conn, parse_id(segment)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let listing = Plan::find_for_scope(conn, plan.id, &Scope::All)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((plan, period, listing))
}

async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut conn = state.pool.get().await?;
    let (plan, period, listing) = find(&mut conn, &path).await?;
    let live = crate::reports::published_snapshot(&mut conn, &state.forms, &plan, &period).await?;
    let published = Published::snapshot_of(&mut conn, period.id).await?;
    let today = chrono::Utc::now()
        .with_timezone(&crate::views::vietnam_offset())
        .date_naive();
    Ok(html(
        views::period(
            &staff,
            &PeriodPage {
                plan: &listing,
                period: &period,
                live: &live,
                published: published.as_ref(),
                today,
                notice: notice(&request),
            },
        ),
        200,
    ))
}

async fn publish(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut conn = state.pool.get().await?;
    let (plan, period, _) = find(&mut conn, &path).await?;
    crate::app::publish::publish(&mut conn, &state.forms, &staff, &plan, &period).await?;
    tracing::info!(
        period = period.id,
        by = staff.account.id,
        "results published"
    );
    Ok(see_other(&format!("{PATH}/{}?ok=published", period.id)))
}

async fn unpublish(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut conn = state.pool.get().await?;
    let (_, period, _) = find(&mut conn, &path).await?;
    if crate::app::publish::unpublish(&mut conn, &staff, period.id)
        .await?
        .is_some()
    {
        tracing::info!(
            period = period.id,
            by = staff.account.id,
            "results unpublished"
        );
    }
    Ok(see_other(&format!("{PATH}/{}?ok=unpublished", period.id)))
}
