//! One-time codes ("mã đánh giá"): staff mint them for a desk of their scope (optionally one per
//! dossier number), print them as slips (an A4 sheet of 3 × 7, or one slip), and the one-stop
//! software mints them through the API (`POST /api/v1/codes`, a bearer token, scoped to the
//! token's units). Minting is audited ("visit_codes.mint") in the same transaction.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::{html, resource, see_other};
use crate::auth::{CsrfForm, Staff};
use crate::db::desks::{Desk, DeskRow};
use crate::db::visits::{self, CodeSlip, MAX_DOSSIER_CHARS, MAX_PER_BATCH};
use crate::error::AppError;
use crate::export::slips::{self, PER_SHEET, Slip};
use crate::views::staff::FieldErrors;
use crate::views::staff::codes::{self as views, CodesPage, MintForm, batch_path};
use crate::web::AppState;

/// Resolution of the PNG slips and sheets.
const PNG_DPI: u32 = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/codes")
            .route(web::get().to(list))
            .route(web::post().to(mint)),
    )
    .service(resource("/codes/batches/{batch}").route(web::get().to(batch_page)))
    .service(resource("/codes/batches/{batch}/slips.svg").route(web::get().to(sheet_svg)))
    .service(resource("/codes/batches/{batch}/slips.png").route(web::get().to(sheet_png)))
    .service(resource("/codes/{code}/slip.svg").route(web::get().to(slip_svg)))
    .service(resource("/codes/{code}/slip.png").route(web::get().to(slip_png)));
}

/// The link a code's QR encodes.
pub fn code_link(state: &AppState, code: &str) -> String {
    format!(
        "{}/v/{code}",
        state.config.public_url.as_str().trim_end_matches('/')
    )
}

/// Why codes were not minted (nothing was), by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintProblem {
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> MintProblem {
    MintProblem {
        field,
        message: message.into(),
    }
}

/// `text` cut to its first `max` characters (and "…") when longer: what an answer may quote
/// of an input.
pub(crate) fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The codes to mint: one per dossier number when any is given (then `count`, if given, must
/// match), else `count` without dossier numbers.
pub fn plan(count: Option<i64>, dossiers: &[String]) -> Result<Vec<Option<String>>, MintProblem> {
    if dossiers.len() > MAX_PER_BATCH {
        return Err(problem(
            "dossiers",
            format!("Mỗi lần tạo tối đa {MAX_PER_BATCH} mã."),
        ));
    }
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for dossier in dossiers {
        let dossier = dossier.as_str();
        if dossier.chars().count() > MAX_DOSSIER_CHARS {
            return Err(problem(
                "dossiers",
                format!(
                    "Mã hồ sơ \"{}\" dài quá {MAX_DOSSIER_CHARS} ký tự.",
                    shortened(dossier, MAX_DOSSIER_CHARS)
                ),
            ));
        }
        if dossier.chars().any(char::is_control) {
            return Err(problem(
                "dossiers",
                "Mã hồ sơ không được chứa ký tự điều khiển.",
            ));
        }
        if !seen.insert(dossier) {
            return Err(problem(
                "dossiers",
                format!("Mã hồ sơ \"{dossier}\" bị nhập hai lần."),
            ));
        }
    }
    if !dossiers.is_empty() {
        if let Some(n) = count
            && n != dossiers.len() as i64
        {
            return Err(problem(
                "count",
                format!(
                    "Số mã ({n}) khác số mã hồ sơ đã nhập ({}). Vui lòng để trống số mã hoặc sửa lại.",
                    dossiers.len()
                ),
            ));
        }
        return Ok(dossiers.iter().map(|d| Some(d.clone())).collect());
    }
    match count {
        Some(n) if (1..=MAX_PER_BATCH as i64).contains(&n) => Ok(vec![None; n as usize]),
        Some(_) => Err(problem(
            "count",
            format!("Số mã phải từ 1 đến {MAX_PER_BATCH}."),
        )),
        None => Err(problem(
            "count",
            "Vui lòng nhập số mã cần tạo, hoặc nhập các mã hồ sơ.",
        )),
    }
}

/// The desks of `staff`'s scope that accept responses.
async fn accepting_desks(
    conn: &mut crate::db::Connection,
    staff: &Staff,
) -> Result<Vec<DeskRow>, AppError> {
    Ok(Desk::find_for_scope(conn, &staff.scope)
        .await?
        .into_iter()
        .filter(DeskRow::accepting)
        .collect())
}

async fn render_list(
    conn: &mut crate::db::Connection,
    staff: &Staff,
    form: &MintForm,
    errors: &FieldErrors,
    status: u16,
) -> Result<HttpResponse, AppError> {
    let desks = accepting_desks(conn, staff).await?;
    let batches = visits::recent_batches(conn, &staff.scope, 50).await?;
    Ok(html(
        views::codes(
            staff,
            &CodesPage {
                desks: &desks,
                batches: &batches,
                form,
                errors,
            },
        ),
        status,
    ))
}

async fn list(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    render_list(
        &mut conn,
        &staff,
        &MintForm::default(),
        &FieldErrors::new(),
        200,
    )
    .await
}

#[derive(Deserialize)]
struct MintFields {
    #[serde(default)]
    desk: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    dossiers: String,
}

async fn mint(
    state: web::Data<AppState>,
    staff: Staff,
    CsrfForm(fields): CsrfForm<MintFields>,
) -> Result<HttpResponse, AppError> {
    staff.require_writer()?;
    let mut conn = state.pool.get().await?;
    let form = MintForm {
        desk: fields.desk.trim().to_string(),
        count: fields.count.trim().to_string(),
        dossiers: fields.dossiers.clone(),
    };
    let mut errors = FieldErrors::new();
    let desk = match form.desk.parse::<i32>() {
        Ok(id) if id > 0 => Desk::find_row(&mut conn, id).await?,
        _ => None,
    };
    // Another unit's desk is not found, as everywhere in the staff area.
    let desk = match desk {
        Some(desk) if staff.scope.contains(desk.unit_id) => Some(desk),
        Some(_) => return Err(AppError::NotFound),
        None => None,
    };
    match &desk {
        None => {
            errors.insert("desk", "Vui lòng chọn quầy tiếp nhận.".into());
        }
        Some(desk) if !desk.accepting() => {
            errors.insert(
                "desk",
                "Quầy này (hoặc đơn vị của quầy) đang ngừng hoạt động: không tạo mã được.".into(),
            );
        }
        Some(_) => {}
    }
    let count = match form.count.as_str() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.insert("count", format!("Số mã phải từ 1 đến {MAX_PER_BATCH}."));
                None
            }
        },
    };
    let dossiers: Vec<String> = form
        .dossiers
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let planned = if errors.contains_key("count") {
        None
    } else {
        match plan(count, &dossiers) {
            Ok(planned) => Some(planned),
            Err(p) => {
                errors.insert(p.field, p.message);
                None
            }
        }
    };
    match (desk, planned) {
        (Some(desk), Some(planned)) if errors.is_empty() => {
            let codes = crate::app::codes::mint(&mut conn, &staff, &desk, &planned, None).await?;
            let batch = codes.first().map(|c| c.batch).unwrap_or_else(Uuid::nil);
            Ok(see_other(&batch_path(batch)))
        }
        // Refused: the form again, with only the chosen desk when it is a good one (the list of
        // every desk is on the page itself).
        (Some(desk), _) if desk.accepting() => {
            let batches = [];
            Ok(html(
                views::codes(
                    &staff,
                    &CodesPage {
                        desks: std::slice::from_ref(&desk),
                        batches: &batches,
                        form: &form,
                        errors: &errors,
                    },
                ),
                422,
            ))
        }
        _ => render_list(&mut conn, &staff, &form, &errors, 422).await,
    }
}

fn parse_batch(segment: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(segment).map_err(|_| AppError::NotFound)
}

/// The codes of a batch within the scope: none (another unit's batch, or no such batch) is 404.
async fn batch_slips(
    state: &AppState,
    staff: &Staff,
    segment: &str,
) -> Result<(Uuid, Vec<CodeSlip>), AppError> {
    let batch = parse_batch(segment)?;
    let mut conn = state.pool.get().await?;
    let slips = visits::batch(&mut conn, &staff.scope, batch).await?;
    if slips.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok((batch, slips))
}

async fn batch_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (batch, slips) = batch_slips(&state, &staff, &path).await?;
    let link = |code: &str| code_link(&state, code);
    Ok(html(views::batch(&staff, batch, &slips, &link), 200))
}

#[derive(Deserialize)]
struct SheetQuery {
    page: Option<String>,
}

/// The SVG of sheet `page` (1-based) of a batch.
async fn sheet(
    state: &AppState,
    staff: &Staff,
    segment: &str,
    request: &HttpRequest,
) -> Result<String, AppError> {
    let (_, codes) = batch_slips(state, staff, segment).await?;
    let query: SheetQuery =
        serde_urlencoded::from_str(request.query_string()).unwrap_or(SheetQuery { page: None });
    let page = match query.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(AppError::NotFound),
        },
    };
    let chunk = codes
        .chunks(PER_SHEET)
        .nth(page - 1)
        .ok_or(AppError::NotFound)?;
    let links: Vec<String> = chunk
        .iter()
        .map(|s| code_link(state, &s.code.code))
        .collect();
    let slips: Vec<Slip<'_>> = chunk
        .iter()
        .zip(&links)
        .map(|(s, url)| slip_of(s, url))
        .collect();
    slips::sheet_svg(&slips).map_err(|e| AppError::internal(anyhow::anyhow!(e)))
}

fn slip_of<'a>(s: &'a CodeSlip, url: &'a str) -> Slip<'a> {
    Slip {
        unit_name: &s.unit_name,
        desk_name: &s.desk_name,
        url,
        code: &s.code.code,
        dossier_no: s.code.dossier_no.as_deref(),
    }
}

pub(crate) fn svg_response(svg: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(svg)
}

pub(crate) async fn png_response(svg: String) -> Result<HttpResponse, AppError> {
    let png = web::block(move || slips::png(&svg, PNG_DPI))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!(e)))?
        .map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(png))
}

async fn sheet_svg(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    Ok(svg_response(sheet(&state, &staff, &path, &request).await?))
}

async fn sheet_png(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    png_response(sheet(&state, &staff, &path, &request).await?).await
}

/// One code of the scope (another unit's code: 404).
pub(crate) async fn scoped_code(
    state: &AppState,
    scope: &crate::auth::Scope,
    code: &str,
) -> Result<CodeSlip, AppError> {
    if !visits::is_plausible_code(code) {
        return Err(AppError::NotFound);
    }
    let mut conn = state.pool.get().await?;
    match visits::find(&mut conn, code).await? {
        Some(slip) if scope.contains(slip.unit_id) => Ok(slip),
        _ => Err(AppError::NotFound),
    }
}

pub(crate) fn one_slip_svg(state: &AppState, slip: &CodeSlip) -> Result<String, AppError> {
    let url = code_link(state, &slip.code.code);
    slips::slip_svg(&slip_of(slip, &url)).map_err(|e| AppError::internal(anyhow::anyhow!(e)))
}

async fn slip_svg(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let slip = scoped_code(&state, &staff.scope, &path).await?;
    Ok(svg_response(one_slip_svg(&state, &slip)?))
}

async fn slip_png(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let slip = scoped_code(&state, &staff.scope, &path).await?;
    png_response(one_slip_svg(&state, &slip)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_one_code_per_dossier_or_a_count() {
        assert_eq!(plan(Some(3), &[]).unwrap(), vec![None, None, None]);
        let dossiers = vec!["HS-1".to_string(), "HS-2".to_string()];
        assert_eq!(
            plan(None, &dossiers).unwrap(),
            vec![Some("HS-1".into()), Some("HS-2".into())]
        );
        assert_eq!(plan(Some(2), &dossiers).unwrap().len(), 2);
        assert_eq!(plan(Some(3), &dossiers).unwrap_err().field, "count");
        assert_eq!(plan(None, &[]).unwrap_err().field, "count");
        assert_eq!(plan(Some(0), &[]).unwrap_err().field, "count");
        assert_eq!(plan(Some(501), &[]).unwrap_err().field, "count");
        let twice = vec!["HS-1".to_string(), "HS-1".to_string()];
        assert_eq!(plan(None, &twice).unwrap_err().field, "dossiers");
    }
}
