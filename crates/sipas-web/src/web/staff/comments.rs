//! Staff area: comments ("góp ý"), the open answers of the survey. Everyone reads the comments
//! of their scope (unit accounts: their units and below); admins and unit accounts mark them
//! handled with a note, or re-open them (viewers: 403, another unit's comment: 404).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;

use super::{html, parse_id, see_other};
use crate::auth::{CsrfForm, Staff};
use crate::db::comments::{
    self, CommentFilter, CommentKey, CommentRow, Cursor, HandleRefusal, MAX_NOTE_CHARS,
};
use crate::db::units::Unit;
use crate::error::AppError;
use crate::plans::parse_date;
use crate::views::staff::FieldErrors;
use crate::views::staff::comments::{
    self as views, CommentPage, CommentQuery, CommentView, LIST_PATH, ListFilter, ListPage,
    MAX_SEARCH_CHARS, StateChoice,
};
use crate::web::AppState;

/// Comments per page.
pub const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/comments").route(web::get().to(list)))
        .service(super::resource("/comments/{response}/{item}").route(web::get().to(show)))
        .service(
            super::resource("/comments/{response}/{item}/handle").route(web::post().to(handle)),
        )
        .service(
            super::resource("/comments/{response}/{item}/reopen").route(web::post().to(reopen)),
        );
}

const MSG_UNIT: &str = "Đơn vị không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_STATE: &str = "Tình trạng không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_DATE: &str =
    "Ngày không hợp lệ. Vui lòng nhập theo dạng ngày/tháng/năm, ví dụ 27/11/2026.";
const MSG_RANGE: &str = "“Đến ngày” phải bằng hoặc sau “Từ ngày”.";
const MSG_FORM: &str = "Mẫu phiếu không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_PAGE: &str = "Liên kết chuyển trang không hợp lệ. Vui lòng mở lại danh sách từ đầu.";
const MSG_NOTE_EMPTY: &str = "Vui lòng ghi nội dung đã xử lý.";
const MSG_ALREADY_HANDLED: &str = "Góp ý này đã được đánh dấu đã xử lý trước đó (xem bên dưới). Nội dung Anh/Chị vừa nhập chưa được lưu.";

fn msg_search_too_long() -> String {
    format!("Nội dung tìm kiếm không được dài quá {MAX_SEARCH_CHARS} ký tự.")
}

fn msg_note_too_long(chars: usize) -> String {
    format!(
        "Nội dung đã xử lý không được dài quá {} ký tự (hiện có {} ký tự).",
        views::format_count(MAX_NOTE_CHARS as i64),
        views::format_count(chars as i64)
    )
}

/// The notice after a redirect (`?ok=...`).
fn flash_text(ok: &str) -> Option<&'static str> {
    match ok {
        "handled" => Some("Đã đánh dấu góp ý là đã xử lý."),
        "reopened" => Some("Đã mở lại góp ý."),
        _ => None,
    }
}

fn parse_cursor(text: &str) -> Option<Cursor> {
    let mut parts = text.split('.');
    let (response, item) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    if response.is_empty() || !response.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Cursor {
        key: CommentKey {
            response_id: response.parse().ok().filter(|id| *id > 0)?,
            item_id: parse_id(item).ok()?,
        },
    })
}

/// The filter's form checked on its own (the unit's scope and the form's existence are checked
/// by the handler). Every problem is collected, with a Vietnamese message per field.
fn list_filter(query: &CommentQuery) -> Result<ListFilter, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut filter = ListFilter::default();
    let unit = query.unit.trim();
    if !unit.is_empty() {
        match parse_id(unit) {
            Ok(id) => filter.unit = Some(id),
            Err(_) => {
                errors.insert("unit", MSG_UNIT.into());
            }
        }
    }
    match StateChoice::parse(query.state.trim()) {
        Some(state) => filter.state = state,
        None => {
            errors.insert("state", MSG_STATE.into());
        }
    }
    let mut date = |name: &'static str, text: &str| -> Option<NaiveDate> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let date = parse_date(text);
        if date.is_none() {
            errors.insert(name, MSG_DATE.into());
        }
        date
    };
    filter.from = date("from", &query.from);
    filter.to = date("to", &query.to);
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to < from
    {
        errors.insert("to", MSG_RANGE.into());
    }
    let form = query.form.trim();
    if !form.is_empty() {
        filter.form = Some(form.to_string());
    }
    let search = query.q.trim();
    if search.chars().count() > MAX_SEARCH_CHARS {
        errors.insert("q", msg_search_too_long());
    } else if !search.is_empty() {
        filter.search = Some(search.to_string());
    }
    let before = query.before.trim();
    if !before.is_empty() {
        match parse_cursor(before) {
            Some(cursor) => filter.before = Some(cursor),
            None => {
                errors.insert("before", MSG_PAGE.into());
            }
        }
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(errors)
    }
}

use crate::domain::time::start_of_day;

/// The forms comments may answer: every stored form, by id, with its newest title.
fn form_choices(state: &AppState) -> Vec<(String, String)> {
    let mut forms: Vec<(String, String, i32)> = Vec::new();
    for version in state.forms.versions() {
        let title = version
            .form
            .short_title
            .clone()
            .unwrap_or_else(|| version.form.title.clone());
        match forms.iter_mut().find(|(id, _, _)| *id == version.form.id) {
            Some(known) if known.2 < version.number => {
                known.1 = title;
                known.2 = version.number;
            }
            Some(_) => {}
            None => forms.push((version.form.id.clone(), title, version.number)),
        }
    }
    forms.sort();
    forms
        .into_iter()
        .map(|(id, title, _)| (id, title))
        .collect()
}

/// A comment with its form's title and its question's text.
fn view(state: &AppState, row: CommentRow) -> CommentView {
    let version = state.forms.version(row.form_version_id);
    let form_title = version
        .as_ref()
        .map(|v| v.form.short_title.clone().unwrap_or(v.form.title.clone()))
        .unwrap_or_default();
    let question = version
        .as_ref()
        .and_then(|v| v.form.item(&row.item_code).map(|i| i.text.clone()))
        .unwrap_or_default();
    CommentView {
        row,
        form_title,
        question,
    }
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = CommentQuery::from_query_string(request.query_string());
    let mut conn = state.pool.get().await?;
    let units = comments::unit_choices(&mut conn, &staff.scope).await?;
    let forms = form_choices(&state);
    let (filter, mut errors) = match list_filter(&query) {
        Ok(filter) => (filter, FieldErrors::new()),
        Err(errors) => (ListFilter::default(), errors),
    };
    if let Some(unit) = filter.unit
        && !units.iter().any(|u| u.id == unit)
    {
        errors.insert("unit", MSG_UNIT.into());
    }
    if let Some(form) = &filter.form
        && !forms.iter().any(|(id, _)| id == form)
    {
        errors.insert("form", MSG_FORM.into());
    }
    let from = filter.from.map(start_of_day);
    let until = filter.to.map(|to| to.succ_opt().and_then(start_of_day));
    if from.is_some_and(|at| at.is_none()) {
        errors.insert("from", MSG_DATE.into());
    }
    if until.is_some_and(|at| at.is_none()) {
        errors.insert("to", MSG_DATE.into());
    }
    let message = flash_text(query.ok.trim());
    if !errors.is_empty() {
        let page = ListPage {
            query: &query,
            filter: None,
            errors: &errors,
            units: &units,
            forms: &forms,
            comments: &[],
            totals: (0, 0),
            older: None,
            message,
        };
        return Ok(html(views::list(&staff, &page), 422));
    }
    let unit_ids = match filter.unit {
        Some(unit) => Some(
            Unit::subtree_ids(&mut conn, unit)
                .await?
                .into_iter()
                .filter(|id| staff.scope.contains(*id))
                .collect(),
        ),
        None => None,
    };
    let db_filter = CommentFilter {
        units: unit_ids,
        handled: None,
        from: from.flatten(),
        until: until.flatten(),
        form_id: filter.form.clone(),
        search: filter.search.clone(),
    };
    let summary = comments::handling_summary(&mut conn, &staff.scope, &db_filter).await?;
    let mut rows = comments::find_for_scope(
        &mut conn,
        &staff.scope,
        &CommentFilter {
            handled: filter.state.handled(),
            ..db_filter
        },
        filter.before,
        PAGE_SIZE + 1,
    )
    .await?;
    let older = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(CommentRow::cursor)
    } else {
        None
    };
    let shown: Vec<CommentView> = rows.into_iter().map(|r| view(&state, r)).collect();
    let page = ListPage {
        query: &query,
        filter: Some(&filter),
        errors: &errors,
        units: &units,
        forms: &forms,
        comments: &shown,
        totals: comments::totals(&summary),
        older,
        message,
    };
    Ok(html(views::list(&staff, &page), 200))
}

/// The comment behind the path segments; 404 when unknown or outside the account's scope.
async fn find_comment(
    state: &AppState,
    staff: &Staff,
    (response, item): &(String, String),
) -> Result<CommentRow, AppError> {
    let response_id = match response.parse::<i64>() {
        Ok(id) if id > 0 && response.bytes().all(|b| b.is_ascii_digit()) => id,
        _ => return Err(AppError::NotFound),
    };
    let key = CommentKey {
        response_id,
        item_id: parse_id(item)?,
    };
    let mut conn = state.pool.get().await?;
    let row = comments::find(&mut conn, key)
        .await?
        .ok_or(AppError::NotFound)?;
    staff.require_unit(row.unit_id)?;
    Ok(row)
}

/// A list path to return to: the list itself with a query string of our own making, nothing
/// else (no other site, no other page).
fn safe_back(back: &str) -> Option<&str> {
    let query_ok = |q: &str| {
        q.len() <= 2000
            && q.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"%+=&-._~".contains(&b))
    };
    match back.strip_prefix(LIST_PATH) {
        Some("") => Some(back),
        Some(rest) => rest.strip_prefix('?').filter(|q| query_ok(q)).map(|_| back),
        None => None,
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    ok: Option<String>,
    back: Option<String>,
}

async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let row = find_comment(&state, &staff, &path).await?;
    // Read leniently: a repeated or unreadable key shows the page without it.
    let query: Option<ShowQuery> = serde_urlencoded::from_str(request.query_string()).ok();
    let message = query
        .as_ref()
        .and_then(|q| q.ok.as_deref())
        .and_then(flash_text);
    let back = query
        .as_ref()
        .and_then(|q| q.back.as_deref())
        .and_then(safe_back);
    // The original of a masked comment, if the office keeps them: admins only.
    let original = if staff.is_admin() {
        let mut conn = state.pool.get().await?;
        comments::original_of(&mut conn, row.key()).await?
    } else {
        None
    };
    let comment = view(&state, row);
    let page = CommentPage {
        comment: &comment,
        back,
        note: "",
        errors: &FieldErrors::new(),
        notice: None,
        message,
        original: original.as_deref(),
    };
    Ok(html(views::comment(&staff, &page), 200))
}

#[derive(Deserialize)]
struct HandleForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    back: String,
}

/// A handling note: trimmed, 1 to 2,000 characters.
#[derive(Debug)]
struct Note(String);

impl TryFrom<&HandleForm> for Note {
    type Error = FieldErrors;

    fn try_from(form: &HandleForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let note = form.note.trim();
        let chars = note.chars().count();
        if note.is_empty() {
            errors.insert("note", MSG_NOTE_EMPTY.into());
        } else if chars > MAX_NOTE_CHARS {
            errors.insert("note", msg_note_too_long(chars));
        }
        if errors.is_empty() {
            Ok(Note(note.to_string()))
        } else {
            Err(errors)
        }
    }
}

/// After a change: back to the list the form came from (at the comment), else the comment.
fn done(key: CommentKey, back: &str, ok: &str) -> HttpResponse {
    match safe_back(back) {
        Some(back) => {
            let separator = if back.contains('?') { '&' } else { '?' };
            see_other(&format!("{back}{separator}ok={ok}#{}", views::anchor(key)))
        }
        None => see_other(&format!("{}?ok={ok}", views::comment_path(key))),
    }
}

async fn handle(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<HandleForm>,
) -> Result<HttpResponse, AppError> {
    let row = find_comment(&state, &staff, &path).await?;
    staff.require_writable_unit(row.unit_id)?;
    let key = row.key();
    let back = safe_back(&form.back);
    let note = match Note::try_from(&form) {
        Ok(note) => note,
        Err(errors) => {
            let comment = view(&state, row);
            let page = CommentPage {
                comment: &comment,
                back,
                note: &form.note,
                errors: &errors,
                notice: None,
                message: None,
                original: None,
            };
            return Ok(html(views::comment(&staff, &page), 422));
        }
    };
    let mut conn = state.pool.get().await?;
    match crate::app::comments::handle(&mut conn, &staff, key, &note.0).await? {
        Ok(_) => Ok(done(key, &form.back, "handled")),
        Err(HandleRefusal::AlreadyHandled(_)) => {
            let row = comments::find(&mut conn, key)
                .await?
                .ok_or(AppError::NotFound)?;
            let comment = view(&state, row);
            let page = CommentPage {
                comment: &comment,
                back,
                note: "",
                errors: &FieldErrors::new(),
                notice: Some(MSG_ALREADY_HANDLED),
                message: None,
                original: None,
            };
            Ok(html(views::comment(&staff, &page), 409))
        }
    }
}

#[derive(Deserialize)]
struct ReopenForm {
    #[serde(default)]
    back: String,
}

async fn reopen(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<ReopenForm>,
) -> Result<HttpResponse, AppError> {
    let row = find_comment(&state, &staff, &path).await?;
    staff.require_writable_unit(row.unit_id)?;
    let mut conn = state.pool.get().await?;
    crate::app::comments::reopen(&mut conn, &staff, row.key()).await?;
    Ok(done(row.key(), &form.back, "reopened"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(pairs: &str) -> CommentQuery {
        CommentQuery::from_query_string(pairs)
    }

    #[test]
    fn filters_parse_or_say_what_is_wrong() {
        assert_eq!(list_filter(&typed("")), Ok(ListFilter::default()));
        let filter = list_filter(&typed(
            "unit=5&state=unhandled&from=2026-11-01&to=30/11/2026&form=x&q=+50%25+",
        ))
        .unwrap();
        assert_eq!(filter.unit, Some(5));
        assert_eq!(filter.state, StateChoice::Unhandled);
        assert_eq!(filter.from, NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(filter.to, NaiveDate::from_ymd_opt(2026, 11, 30));
        assert_eq!(filter.search.as_deref(), Some("50%"));
        let errors = list_filter(&typed(
            "unit=abc&state=x&from=31/02/2026&to=1/1/26&before=1.2.3",
        ))
        .unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["before", "from", "state", "to", "unit"]
        );
        let errors = list_filter(&typed("from=02/11/2026&to=01/11/2026")).unwrap_err();
        assert_eq!(errors.get("to").map(String::as_str), Some(MSG_RANGE));
        let long = format!("q={}", "a".repeat(MAX_SEARCH_CHARS + 1));
        assert!(list_filter(&typed(&long)).unwrap_err().contains_key("q"));
    }

    #[test]
    fn cursors_and_days() {
        // A comment's key only: a time in a link would tell when the citizen answered.
        let cursor = parse_cursor("12.3").unwrap();
        assert_eq!(views::cursor_text(&cursor), "12.3");
        for bad in [
            "",
            "1",
            "a.2",
            "0.2",
            "1.0",
            "1.2.3",
            "-1.2",
            "1.-3",
            "1764187509000000.12.3",
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(
            start_of_day(day).unwrap().to_rfc3339(),
            "2026-11-26T17:00:00+00:00"
        );
    }

    #[test]
    fn only_list_paths_are_returned_to() {
        assert_eq!(safe_back("/staff/comments"), Some("/staff/comments"));
        assert_eq!(
            safe_back("/staff/comments?unit=3&q=50%25+x"),
            Some("/staff/comments?unit=3&q=50%25+x")
        );
        for bad in [
            "",
            "/staff/commentsx",
            "/staff/comments/1/2",
            "//evil.example/staff/comments",
            "https://evil.example/",
            "/staff/comments?a=b#x",
            "/staff/comments?a=b\r\nSet-Cookie:x",
            "/staff/comments?a=<b>",
        ] {
            assert_eq!(safe_back(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn notes_are_required_and_bounded() {
        let form = |note: &str| HandleForm {
            note: note.into(),
            back: String::new(),
        };
        assert_eq!(
            Note::try_from(&form("  Đã trả lời  ")).unwrap().0,
            "Đã trả lời"
        );
        assert!(Note::try_from(&form(" \n ")).is_err());
        assert!(Note::try_from(&form(&"ă".repeat(MAX_NOTE_CHARS))).is_ok());
        let errors = Note::try_from(&form(&"ă".repeat(MAX_NOTE_CHARS + 1))).unwrap_err();
        assert!(errors["note"].contains("2.001"), "{errors:?}");
    }
}
