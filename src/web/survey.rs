//! The citizen's path: `GET /s/{code}` shows the desk's survey, `POST /s/{code}` stores it.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use uuid::Uuid;

use super::AppState;
use crate::db::desks::{Desk, DeskContext, is_plausible_code};
use crate::error::AppError;
use crate::forms::FormVersion;
use crate::forms::submission::{Problems, RawSubmission, validate};
use crate::survey;
use crate::views;
use crate::views::survey::SurveyPage;

/// Largest accepted survey body. The QĐ 1001 form with every open answer at its limit is
/// about 20 KiB encoded.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

async fn desk(state: &AppState, code: &str) -> Result<DeskContext, AppError> {
    if !is_plausible_code(code) {
        return Err(AppError::NotFound);
    }
    let mut conn = state.pool.get().await?;
    Desk::find_by_code(&mut conn, code)
        .await?
        .ok_or(AppError::NotFound)
}

/// The version of the desk's form that is shown now.
fn desk_form(state: &AppState, desk: &DeskContext) -> Result<Arc<FormVersion>, AppError> {
    let form_id = desk
        .form_id
        .as_deref()
        .unwrap_or(&state.config.default_form);
    state.forms.latest(form_id).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "desk {} shows form \"{form_id}\", which is not stored",
            desk.desk_id
        ))
    })
}

fn render(
    code: &str,
    desk: &DeskContext,
    version: &FormVersion,
    token: Uuid,
    values: &HashMap<String, String>,
    problems: &Problems,
    status: StatusCode,
) -> HttpResponse {
    let action = format!("/s/{code}");
    let page = views::survey::survey(&SurveyPage {
        unit_name: &desk.unit_name,
        desk_name: &desk.desk_name,
        action: &action,
        version,
        token,
        values,
        problems,
    });
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // Each rendering carries its own submission key: never cache it.
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(page.into_string())
}

#[get("/s/{code}")]
pub async fn show(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let desk = desk(&state, &code).await?;
    let version = desk_form(&state, &desk)?;
    Ok(render(
        &code,
        &desk,
        &version,
        Uuid::new_v4(),
        &HashMap::new(),
        &Problems::default(),
        StatusCode::OK,
    ))
}

#[post("/s/{code}")]
pub async fn submit(
    state: web::Data<AppState>,
    code: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(AppError::BadRequest),
        Err(_) => return Err(AppError::PayloadTooLarge),
    };
    let desk = desk(&state, &code).await?;
    let current = desk_form(&state, &desk)?;
    let urlencoded = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("application/x-www-form-urlencoded"));
    let decoded = if urlencoded {
        RawSubmission::decode(&body).ok()
    } else {
        None
    };
    let malformed = |raw: &RawSubmission| {
        render(
            &code,
            &desk,
            &current,
            raw.token.unwrap_or_else(Uuid::new_v4),
            &raw.values(),
            &Problems::malformed(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let Some(raw) = decoded else {
        return Ok(malformed(&RawSubmission::default()));
    };
    // The version that was rendered must be a version of the form this desk shows.
    let rendered = raw
        .version_id
        .and_then(|id| state.forms.version(id))
        .filter(|v| v.form.id == current.form.id);
    let (Some(version), Some(token)) = (rendered, raw.token) else {
        return Ok(malformed(&raw));
    };
    let answers = match validate(&version.form, &raw.fields) {
        Ok(answers) => answers,
        Err(problems) => {
            return Ok(render(
                &code,
                &desk,
                &version,
                token,
                &raw.values(),
                &problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let mut conn = state.pool.get().await?;
    let stored = survey::store_response(&mut conn, &desk, &code, &version, token, &answers).await?;
    let page = views::pages::thanks(&views::pages::Thanks {
        unit_name: &desk.unit_name,
        text: version.form.thanks.as_deref(),
        submitted_at: stored.submitted_at,
    });
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(page.into_string()))
}
