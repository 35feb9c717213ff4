//! Staff area: "Phiếu nghi vấn", the responses flagged by the fraud signals (admins only; every
//! other role gets 404, for reading as for deciding). See `crate::db::flags`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{html, see_other};
use crate::auth::{CsrfForm, Staff};
use crate::db::flags::{self, Decision, NOTE_MAX, REASONS, STATES};
use crate::db::units::Unit;
use crate::error::AppError;
use crate::views::staff::flags::{self as views, ListQuery};
use crate::web::AppState;

/// Responses per page.
pub const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/flags").route(web::get().to(list)))
        .service(super::resource("/flags/{response}").route(web::get().to(show)))
        .service(super::resource("/flags/{response}/decide").route(web::post().to(decide)));
}

pub const MSG_DECISION: &str = "Vui lòng chọn “Tính vào kết quả” hoặc “Không tính vào kết quả”.";

fn msg_note_too_long(chars: usize) -> String {
    format!("Ghi chú không được dài quá {NOTE_MAX} ký tự (hiện có {chars} ký tự).")
}

/// The filter in the query string; values that mean nothing are ignored.
fn query_from(query: &str) -> (ListQuery, Option<i64>) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty() && v.len() <= 100)
    };
    let list = ListQuery {
        unit: value("unit")
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|id| *id > 0),
        reason: value("reason")
            .filter(|r| REASONS.iter().any(|(c, _)| c == r))
            .map(str::to_string),
        state: value("state")
            .filter(|s| STATES.iter().any(|(c, _)| c == s))
            .map(str::to_string),
    };
    let before = value("before")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|id| *id > 0);
    (list, before)
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let (query, before) = query_from(request.query_string());
    let mut conn = state.pool.get().await?;
    let units = match query.unit {
        Some(unit) if Unit::find(&mut conn, unit).await?.is_some() => {
            Some(Unit::subtree_ids(&mut conn, unit).await?)
        }
        Some(_) => Some(Vec::new()),
        None => None,
    };
    let mut rows = flags::list(
        &mut conn,
        &views::filter(&query, units, before),
        PAGE_SIZE + 1,
    )
    .await?;
    let older = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| r.response_id)
    } else {
        None
    };
    let choices = crate::db::comments::unit_choices(&mut conn, &staff.scope).await?;
    let counts = flags::counts(&mut conn).await?;
    Ok(html(
        views::list(&staff, &rows, &query, &choices, counts, older),
        200,
    ))
}

fn parse_response_id(segment: &str) -> Result<i64, AppError> {
    match segment.parse::<i64>() {
        Ok(id) if id > 0 && segment.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(AppError::NotFound),
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    #[serde(default)]
    ok: String,
}

async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let id = parse_response_id(&path)?;
    let mut conn = state.pool.get().await?;
    let row = flags::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let version = state.forms.version(row.form_version_id);
    let message = (query.ok == "1").then_some("Đã lưu quyết định và cập nhật kết quả.");
    Ok(html(
        views::response(&staff, &row, version.as_deref(), message, None, ""),
        200,
    ))
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<DecideForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let id = parse_response_id(&path)?;
    let mut conn = state.pool.get().await?;
    let row = flags::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let note = form.note.trim();
    let chars = note.chars().count();
    let problem = match Decision::parse(form.decision.trim()) {
        None => Some(MSG_DECISION.to_string()),
        Some(_) if chars > NOTE_MAX => Some(msg_note_too_long(chars)),
        Some(_) => None,
    };
    if let Some(problem) = problem {
        let version = state.forms.version(row.form_version_id);
        return Ok(html(
            views::response(&staff, &row, version.as_deref(), None, Some(&problem), note),
            422,
        ));
    }
    let decision = Decision::parse(form.decision.trim()).expect("checked above");
    let note = (!note.is_empty()).then_some(note);
    flags::decide(&mut conn, &staff, id, decision, note).await?;
    Ok(see_other(&format!("{}?ok=1", views::response_path(id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meaningless_filters_are_ignored() {
        let (q, before) = query_from("unit=abc&reason=delete&state=x&before=-1");
        assert_eq!(q, ListQuery::default());
        assert_eq!(before, None);
        let (q, before) = query_from("unit=7&reason=too_fast&state=excluded&before=90");
        assert_eq!(q.unit, Some(7));
        assert_eq!(q.reason.as_deref(), Some("too_fast"));
        assert_eq!(q.state.as_deref(), Some("excluded"));
        assert_eq!(before, Some(90));
    }
}
