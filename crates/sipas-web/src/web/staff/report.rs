//! Staff area: the printable report (`GET /staff/report`), with the filters of the statistics
//! overview (the same query string, read by the same code: [`super::stats::resolve_overview`])
//! and the figures of its report. Everyone reads the report of their scope; a unit account's
//! report holds its units only.
//!
//! The same document as files an office can finish: `GET /staff/report.pdf` (printed by
//! headless Chromium, [`crate::export::pdf`], when the server has it) and
//! `GET /staff/report.docx` (an editable Word file, [`crate::export::docx`]). The document's
//! number, place and date, signer and recipients come from the page's small form
//! ("Thông tin văn bản"): GET parameters carried on the links, checked
//! ([`crate::report_document::DocumentInput::resolve`]), never stored.
//!
//! What the document shows besides the figures is gathered by [`crate::report_document`].

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};

use super::html;
use super::stats::{Resolved, resolve_overview};
use crate::auth::Staff;
use crate::error::AppError;
use crate::export::{docx, pdf};
use crate::plans::today_in_vietnam;
use crate::report_document::{About, DocumentFields, DocumentInput, Prepared, prepare};
use crate::views::staff::FieldErrors;
use crate::views::staff::report::{self as views, DocForm, Filters, ReportDoc, overview_link};
use crate::views::staff::stats::{OVERVIEW_PATH, PeriodChoice, Selection, StatsQuery};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/report").route(web::get().to(report_page)))
        .service(super::resource("/report.pdf").route(web::get().to(report_pdf)))
        .service(super::resource("/report.docx").route(web::get().to(report_docx)));
}

/// Everything the page and the files need, once the filters and the fields are accepted.
struct Gathered {
    resolved: Resolved,
    input: DocumentInput,
    pairs: Vec<(String, String)>,
    defaults: DocumentFields,
    fields: DocumentFields,
    prepared: Prepared,
    back: String,
    /// "bao-cao-sipas-2026-q1".
    file_stem: String,
}

/// The filters and the fields, or the page that says what was refused (422).
async fn gather(
    state: &AppState,
    staff: &Staff,
    request: &HttpRequest,
) -> Result<Result<Gathered, HttpResponse>, AppError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let input = DocumentInput::from_pairs(&pairs);
    // The report counts every respondent: filters by respondent attributes (`attr`) are not
    // read, and not offered.
    let query = StatsQuery {
        attrs: Vec::new(),
        ..StatsQuery::from_query_string(request.query_string())
    };
    let mut conn = state.pool.get().await?;
    let mut resolved = resolve_overview(&mut conn, state, staff, &query).await?;
    resolved.attributes.clear();
    let filters = Filters {
        query: &resolved.query,
        choices: resolved.choices(),
        errors: &resolved.errors,
    };
    let Some(selection) = &resolved.selection else {
        return Ok(Err(html(
            views::page(staff, &filters, OVERVIEW_PATH, None, None),
            422,
        )));
    };
    let report = resolved.report(&mut conn, state, staff, selection).await?;
    let about = About {
        year: selection.year,
        period: (selection.period != PeriodChoice::Year).then(|| selection.period_label.clone()),
        form_title: selection.form_title.clone(),
        kind: selection.kind.map(|k| k.label().to_string()),
    };
    let prepared = prepare(&mut conn, &staff.scope, report, about, today_in_vietnam()).await?;
    drop(conn);
    let back = overview_link(&selection.query(selection.unit, true));
    let filter_pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&selection.query(selection.unit, true)).unwrap_or_default();
    let defaults = DocumentFields::defaults(&prepared.issuer, prepared.date);
    let fields = match input.resolve(&defaults) {
        Ok(fields) => fields,
        Err(errors) => {
            let form = DocForm {
                input: &input,
                errors: &errors,
                defaults: &defaults,
                filters: filter_pairs,
                pdf: pdf_available(state),
            };
            return Ok(Err(html(
                views::page(staff, &filters, &back, Some(&form), None),
                422,
            )));
        }
    };
    let file_stem = file_stem(selection);
    Ok(Ok(Gathered {
        resolved,
        input,
        pairs: filter_pairs,
        defaults,
        fields,
        prepared,
        back,
        file_stem,
    }))
}

/// "bao-cao-sipas-2026", "bao-cao-sipas-2026-q1", "bao-cao-sipas-2026-p12".
fn file_stem(selection: &Selection) -> String {
    let period: String = selection
        .period
        .as_value()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if period.is_empty() {
        format!("bao-cao-sipas-{}", selection.year)
    } else {
        format!("bao-cao-sipas-{}-{period}", selection.year)
    }
}

fn pdf_available(state: &AppState) -> bool {
    pdf::find_chromium(state.config.chromium.as_deref()).is_ok()
}

async fn report_page(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let g = match gather(&state, &staff, &request).await? {
        Ok(g) => g,
        Err(refused) => return Ok(refused),
    };
    let filters = Filters {
        query: &g.resolved.query,
        choices: g.resolved.choices(),
        errors: &g.resolved.errors,
    };
    let no_errors = FieldErrors::new();
    let form = DocForm {
        input: &g.input,
        errors: &no_errors,
        defaults: &g.defaults,
        filters: g.pairs.clone(),
        pdf: pdf_available(&state),
    };
    let doc = ReportDoc::of(&g.prepared).with_fields(g.fields.clone());
    Ok(html(
        views::page(&staff, &filters, &g.back, Some(&form), Some(&doc)),
        200,
    ))
}

fn download(content_type: &str, file_name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body)
}

async fn report_pdf(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    // Without Chromium, say so before any work.
    let chromium = match pdf::find_chromium(state.config.chromium.as_deref()) {
        Ok(chromium) => chromium,
        Err(e) => {
            tracing::info!(error = %e, "report PDF asked for, no Chromium");
            return Ok(html(
                views::pdf_unavailable(&staff, &views::report_link(request.query_string()), false),
                503,
            ));
        }
    };
    let g = match gather(&state, &staff, &request).await? {
        Ok(g) => g,
        Err(refused) => return Ok(refused),
    };
    let doc = ReportDoc::of(&g.prepared).with_fields(g.fields.clone());
    let page = views::standalone(&doc, views::REPORT_STYLESHEET).into_string();
    match pdf::print_html(&chromium, &page).await {
        Ok(bytes) => Ok(download(
            "application/pdf",
            &format!("{}.pdf", g.file_stem),
            bytes,
        )),
        Err(e) => {
            tracing::error!(error = %e, "printing the report to PDF");
            Ok(html(
                views::pdf_unavailable(&staff, &views::report_link(request.query_string()), true),
                503,
            ))
        }
    }
}

async fn report_docx(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let g = match gather(&state, &staff, &request).await? {
        Ok(g) => g,
        Err(refused) => return Ok(refused),
    };
    let file_name = format!("{}.docx", g.file_stem);
    let (prepared, fields) = (g.prepared, g.fields);
    // Building and zipping the document is CPU work: off the async workers.
    let bytes = web::block(move || docx::report(&prepared, &fields))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the Word file's task: {e}")))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(download(docx::CONTENT_TYPE, &file_name, bytes))
}
