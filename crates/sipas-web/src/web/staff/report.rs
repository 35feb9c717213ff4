//! Staff area: the printable report (`GET /staff/report`), with the filters of the statistics
//! overview (the same query string, read by the same code: [`super::stats::resolve_overview`])
//! and the figures of its report. Everyone reads the report of their scope; a unit account's
//! report holds its units only.
//!
//! What the document shows besides the figures is gathered by [`crate::report_document`].

use actix_web::{HttpRequest, HttpResponse, web};

use super::html;
use super::stats::resolve_overview;
use crate::auth::Staff;
use crate::error::AppError;
use crate::plans::today_in_vietnam;
use crate::report_document::{About, prepare};
use crate::views::staff::report::{self as views, Filters, ReportDoc, overview_link};
use crate::views::staff::stats::{OVERVIEW_PATH, PeriodChoice, StatsQuery};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/report").route(web::get().to(report_page)));
}

async fn report_page(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = StatsQuery::from_query_string(request.query_string());
    let mut conn = state.pool.get().await?;
    let resolved = resolve_overview(&mut conn, &state, &staff, &query).await?;
    let filters = Filters {
        query: &resolved.query,
        choices: resolved.choices(),
        errors: &resolved.errors,
    };
    let Some(selection) = &resolved.selection else {
        return Ok(html(
            views::page(&staff, &filters, OVERVIEW_PATH, None),
            422,
        ));
    };
    let report = resolved
        .report(&mut conn, &state, &staff, selection)
        .await?;
    let about = About {
        year: selection.year,
        period: (selection.period != PeriodChoice::Year).then(|| selection.period_label.clone()),
        form_title: selection.form_title.clone(),
        kind: selection.kind.map(|k| k.label().to_string()),
    };
    let prepared = prepare(&mut conn, &staff.scope, report, about, today_in_vietnam()).await?;
    let back = overview_link(&selection.query(selection.unit, true));
    Ok(html(
        views::page(&staff, &filters, &back, Some(&ReportDoc::of(&prepared))),
        200,
    ))
}
