//! The API of one-time codes: `POST /api/v1/codes` mints codes for a desk of the token's units
//! (see `crate::web::staff::codes` for the staff pages and the rules), and each code's QR code
//! and slip as images.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::api::{ApiCaller, ApiError};
use super::staff::codes::{code_link, one_slip_svg, plan, png_response, scoped_code, svg_response};
use crate::auth::token::{self, Credentials};
use crate::db::desks::Desk;
use crate::db::tokens::ApiToken;
use crate::db::visits::CodeSlip;
use crate::error::AppError;

/// The API's routes (inside `/api`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let get_only = || web::to(|| async { Err::<HttpResponse, _>(ApiError::MethodNotAllowed) });
    cfg.service(
        web::resource("/v1/codes")
            .route(web::post().to(api_mint))
            .default_service(web::to(post_only)),
    );
    for (path, handler) in [
        ("/v1/codes/{code}/qr.svg", Image::QrSvg),
        ("/v1/codes/{code}/qr.png", Image::QrPng),
        ("/v1/codes/{code}/slip.svg", Image::SlipSvg),
        ("/v1/codes/{code}/slip.png", Image::SlipPng),
    ] {
        cfg.service(
            web::resource(path)
                .route(web::get().to(
                    move |state: web::Data<AppState>,
                          caller: ApiCaller,
                          code: web::Path<String>| {
                        image(state, caller, code, handler)
                    },
                ))
                .default_service(get_only()),
        );
    }
}

/// `POST /api/v1/codes` with another method: 405 in JSON, like every API error.
async fn post_only() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, "POST"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "error": "Phương thức không được hỗ trợ; chỉ dùng POST.",
            "code": "method_not_allowed",
        }))
}

#[derive(Debug, Clone, Copy)]
enum Image {
    QrSvg,
    QrPng,
    SlipSvg,
    SlipPng,
}

/// The body of `POST /api/v1/codes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    /// The desk's public code (what its QR poster's link ends with).
    desk_code: String,
    /// One dossier number: one code for it.
    #[serde(default)]
    dossier_no: Option<String>,
    /// Several dossier numbers: one code each.
    #[serde(default)]
    dossier_nos: Option<Vec<String>>,
    /// How many codes (without dossier numbers); default 1.
    #[serde(default)]
    count: Option<i64>,
}

#[derive(Debug, Serialize)]
struct MintedCode {
    code: String,
    url: String,
    dossier_no: Option<String>,
    qr_svg: String,
    qr_png: String,
    slip_svg: String,
    slip_png: String,
}

#[derive(Debug, Serialize)]
struct MintAnswer {
    batch: Uuid,
    desk_code: String,
    unit_id: i32,
    desk_id: i32,
    codes: Vec<MintedCode>,
}

fn api_bad(parameter: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadParameter {
        parameter: parameter.to_string(),
        message: message.into(),
    }
}

/// The bearer token's id (minting through the API needs one: a browser session cannot).
async fn bearer_token_id(state: &AppState, request: &HttpRequest) -> Result<i32, ApiError> {
    let value = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated)?;
    let Credentials::Bearer(text) = value
        .to_str()
        .map(token::parse_authorization)
        .unwrap_or(Credentials::Unusable)
    else {
        return Err(ApiError::InvalidToken);
    };
    let mut conn = state.pool.get().await?;
    match ApiToken::find_usable(&mut conn, &token::hash(text)).await? {
        Some((token, _)) => Ok(token.id),
        None => Err(ApiError::InvalidToken),
    }
}

async fn api_mint(
    state: web::Data<AppState>,
    request: HttpRequest,
    caller: ApiCaller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ApiCaller(staff) = caller;
    let token_id = bearer_token_id(&state, &request).await?;
    staff.require_writer().map_err(ApiError::App)?;
    // The API's documented JSON limit (not the raw-body default of 256 KiB).
    let body = match payload.to_bytes_limited(super::MAX_JSON_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(ApiError::App(AppError::BadRequest)),
        Err(_) => return Err(ApiError::App(AppError::PayloadTooLarge)),
    };
    let request: MintRequest = serde_json::from_slice(&body).map_err(|e| {
        // serde's message may quote the input: never more than a little of it.
        let reason = super::staff::codes::shortened(&e.to_string(), 120);
        api_bad(
            "body",
            format!(
                "Nội dung phải là JSON {{\"desk_code\": \"…\", \"dossier_no\"?: \"…\", \"dossier_nos\"?: [\"…\"], \"count\"?: số}} ({reason})."
            ),
        )
    })?;
    let desk_code = request.desk_code.trim().to_string();
    let not_found = || {
        ApiError::NotFound(
            "Không tìm thấy quầy có mã này trong phạm vi của mã truy cập (hoặc quầy đã ngừng hoạt động)."
                .into(),
        )
    };
    if !crate::db::desks::is_plausible_code(&desk_code) {
        return Err(not_found());
    }
    let mut conn = state.pool.get().await?;
    let context = Desk::find_by_code(&mut conn, &desk_code)
        .await?
        .filter(|d| staff.scope.contains(d.unit_id))
        .ok_or_else(not_found)?;
    let desk = Desk::find_row(&mut conn, context.desk_id)
        .await?
        .ok_or_else(not_found)?;
    let mut dossiers: Vec<String> = Vec::new();
    if let Some(one) = &request.dossier_no {
        dossiers.push(one.trim().to_string());
    }
    if let Some(many) = &request.dossier_nos {
        dossiers.extend(many.iter().map(|d| d.trim().to_string()));
    }
    if dossiers.iter().any(String::is_empty) {
        return Err(api_bad("dossier_no", "Mã hồ sơ không được để trống."));
    }
    let count = match (request.count, dossiers.is_empty()) {
        (None, true) => Some(1),
        (count, _) => count,
    };
    let planned = plan(count, &dossiers).map_err(|p| {
        let parameter = if p.field == "dossiers" {
            "dossier_no"
        } else {
            "count"
        };
        api_bad(parameter, p.message)
    })?;
    let codes = crate::app::codes::mint(&mut conn, &staff, &desk, &planned, Some(token_id)).await?;
    let base = state
        .config
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let answer = MintAnswer {
        batch: codes.first().map(|c| c.batch).unwrap_or_else(Uuid::nil),
        desk_code,
        unit_id: desk.unit_id,
        desk_id: desk.desk_id,
        codes: codes
            .into_iter()
            .map(|c| MintedCode {
                url: code_link(&state, &c.code),
                qr_svg: format!("{base}/api/v1/codes/{}/qr.svg", c.code),
                qr_png: format!("{base}/api/v1/codes/{}/qr.png", c.code),
                slip_svg: format!("{base}/api/v1/codes/{}/slip.svg", c.code),
                slip_png: format!("{base}/api/v1/codes/{}/slip.png", c.code),
                code: c.code,
                dossier_no: c.dossier_no,
            })
            .collect(),
    };
    Ok(HttpResponse::Created()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(answer))
}

async fn api_code(state: &AppState, caller: &ApiCaller, code: &str) -> Result<CodeSlip, ApiError> {
    scoped_code(state, &caller.0.scope, code)
        .await
        .map_err(|e| match e {
            AppError::NotFound => ApiError::NotFound(
                "Không tìm thấy mã đánh giá này trong phạm vi của mã truy cập.".into(),
            ),
            other => other.into(),
        })
}

fn qr_document(state: &AppState, slip: &CodeSlip) -> Result<String, ApiError> {
    crate::export::poster::qr_svg(&code_link(state, &slip.code.code))
        .map_err(|e| ApiError::App(AppError::internal(anyhow::anyhow!(e))))
}

async fn image(
    state: web::Data<AppState>,
    caller: ApiCaller,
    path: web::Path<String>,
    image: Image,
) -> Result<HttpResponse, ApiError> {
    let slip = api_code(&state, &caller, &path).await?;
    match image {
        Image::QrSvg => Ok(svg_response(qr_document(&state, &slip)?)),
        Image::QrPng => Ok(png_response(qr_document(&state, &slip)?).await?),
        Image::SlipSvg => Ok(svg_response(one_slip_svg(&state, &slip)?)),
        Image::SlipPng => Ok(png_response(one_slip_svg(&state, &slip)?).await?),
    }
}
