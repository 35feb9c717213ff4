//! Staff area: units. Everyone sees the units of their scope; only admins create, edit,
//! move, deactivate and reactivate them. Units are never deleted.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{Empty, html, parse_id, see_other};
use crate::auth::{CsrfForm, Scope, Staff};
use crate::db::desks::Desk;
use crate::db::units::{
    MAX_NAME_CHARS, Unit, UnitFields, UnitKind, UnitRefusal, UnitRow, is_valid_admin_code,
    is_valid_unit_code,
};
use crate::error::AppError;
use crate::views::staff::FieldErrors;
use crate::views::staff::units::{self as views, UnitEdit, UnitForm, UnitHistory, UnitPage};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/units").route(web::get().to(list)))
        .service(
            super::resource("/units/new")
                .route(web::get().to(new_page))
                .route(web::post().to(create)),
        )
        .service(
            super::resource("/units/{id}")
                .route(web::get().to(show))
                .route(web::post().to(update)),
        )
        .service(super::resource("/units/{id}/deactivate").route(web::post().to(deactivate)))
        .service(super::resource("/units/{id}/activate").route(web::post().to(activate)));
}

/// The notice after a redirect (`?ok=...`).
#[derive(Deserialize)]
pub(super) struct OkQuery {
    ok: Option<String>,
}

impl OkQuery {
    fn message(&self) -> Option<&'static str> {
        Some(match self.ok.as_deref()? {
            "created" => "Đã thêm đơn vị.",
            "updated" => "Đã lưu thay đổi.",
            "deactivated" => {
                "Đơn vị đã ngừng hoạt động. Các quầy của đơn vị không nhận phiếu khảo sát nữa."
            }
            "activated" => "Đơn vị đã hoạt động trở lại.",
            _ => return None,
        })
    }
}

/// The forms a unit or a desk may show: the current forms, and the one it shows now (a form
/// whose file was removed stays acceptable where it is already chosen).
pub(super) struct FormChoice {
    /// (id, title)
    forms: Vec<(String, String)>,
}

impl FormChoice {
    pub(super) fn new(state: &AppState, keep: Option<&str>) -> FormChoice {
        let mut forms: Vec<(String, String)> = state
            .forms
            .form_ids()
            .into_iter()
            .map(|id| {
                let title = state
                    .forms
                    .current(id)
                    .map(|v| v.form.short_title.clone().unwrap_or(v.form.title.clone()))
                    .unwrap_or_default();
                (id.to_string(), title)
            })
            .collect();
        if let Some(keep) = keep
            && !forms.iter().any(|(id, _)| id == keep)
        {
            forms.push((keep.to_string(), "(mẫu cũ)".to_string()));
        }
        FormChoice { forms }
    }

    /// Select options: inherit (empty value) first, then each form.
    pub(super) fn options(&self, inherit_label: String) -> Vec<(String, String)> {
        let mut options = vec![(String::new(), inherit_label)];
        options.extend(self.forms.iter().map(|(id, title)| {
            let label = if title.is_empty() {
                id.clone()
            } else {
                format!("{title} ({id})")
            };
            (id.clone(), label)
        }));
        options
    }

    /// `None` to inherit, else a known form id.
    pub(super) fn parse(&self, value: &str) -> Result<Option<String>, String> {
        let value = value.trim();
        if value.is_empty() {
            Ok(None)
        } else if self.forms.iter().any(|(id, _)| id == value) {
            Ok(Some(value.to_string()))
        } else {
            Err("Mẫu phiếu không tồn tại. Vui lòng chọn trong danh sách.".to_string())
        }
    }
}

/// A trimmed name of 1 to 200 characters.
pub(super) fn check_name(value: &str, empty: &str, errors: &mut FieldErrors) -> Option<String> {
    let name = value.trim();
    if name.is_empty() {
        errors.insert("name", empty.to_string());
        None
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.insert(
            "name",
            format!(
                "Tên không được dài quá {MAX_NAME_CHARS} ký tự (hiện có {} ký tự).",
                name.chars().count()
            ),
        );
        None
    } else {
        Some(name.to_string())
    }
}

const MSG_UNKNOWN_PARENT: &str = "Đơn vị cấp trên không tồn tại. Vui lòng chọn trong danh sách.";
const MSG_OWN_SUBTREE: &str =
    "Không thể chuyển đơn vị vào chính nó hoặc vào một đơn vị trực thuộc của nó.";
const MSG_DUPLICATE_CODE: &str = "Mã đơn vị này đã được dùng cho một đơn vị khác.";
const MSG_DUPLICATE_ADMIN_CODE: &str =
    "Mã đơn vị hành chính này đang được dùng cho một đơn vị khác còn hiệu lực.";
const MSG_ADMIN_CODE: &str =
    "Mã đơn vị hành chính gồm 2 chữ số (cấp tỉnh), 3 chữ số (cấp huyện cũ) hoặc 5 chữ số (cấp xã).";
const MSG_DATE: &str = "Ngày không hợp lệ. Vui lòng chọn ngày (ví dụ 01/07/2025).";
const MSG_DATES_ORDER: &str = "Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực.";

/// An optional date as a date input sends it (yyyy-mm-dd; also dd/mm/yyyy typed by hand).
fn check_date(
    value: &str,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Option<Option<chrono::NaiveDate>> {
    let value = value.trim();
    if value.is_empty() {
        return Some(None);
    }
    match crate::app::unit_import::parse_date(value) {
        Some(date) => Some(Some(date)),
        None => {
            errors.insert(field, MSG_DATE.to_string());
            None
        }
    }
}

/// The unit as typed, checked (the form among `choice`).
fn unit_fields(form: &UnitForm, choice: &FormChoice) -> Result<UnitFields, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = check_name(&form.name, "Vui lòng nhập tên đơn vị.", &mut errors);
    let kind = UnitKind::parse(form.kind.trim());
    if kind.is_none() {
        errors.insert("kind", "Vui lòng chọn loại đơn vị.".to_string());
    }
    let parent = form.parent.trim();
    let parent_id = if parent.is_empty() {
        Some(None)
    } else {
        parent.parse::<i32>().ok().map(Some)
    };
    if parent_id.is_none() {
        errors.insert("parent", MSG_UNKNOWN_PARENT.to_string());
    }
    let default_form_id = choice
        .parse(&form.default_form)
        .map_err(|message| errors.insert("default_form", message))
        .ok();
    let admin_code = form.admin_code.trim();
    let admin_code = if admin_code.is_empty() {
        None
    } else if is_valid_admin_code(admin_code) {
        Some(admin_code.to_string())
    } else {
        errors.insert("admin_code", MSG_ADMIN_CODE.to_string());
        None
    };
    let valid_from = check_date(&form.valid_from, "valid_from", &mut errors);
    let valid_until = check_date(&form.valid_until, "valid_until", &mut errors);
    if let (Some(Some(from)), Some(Some(until))) = (valid_from, valid_until)
        && until <= from
    {
        errors.insert("valid_until", MSG_DATES_ORDER.to_string());
    }
    match (
        name,
        kind,
        parent_id,
        default_form_id,
        valid_from,
        valid_until,
    ) {
        (
            Some(name),
            Some(kind),
            Some(parent_id),
            Some(default_form_id),
            Some(valid_from),
            Some(valid_until),
        ) if errors.is_empty() => Ok(UnitFields {
            name,
            kind,
            parent_id,
            default_form_id,
            admin_code,
            valid_from,
            valid_until,
        }),
        _ => Err(errors),
    }
}

/// The code of a new unit.
fn check_code(value: &str, errors: &mut FieldErrors) -> Option<String> {
    let code = value.trim();
    if code.is_empty() {
        errors.insert("code", "Vui lòng nhập mã đơn vị.".to_string());
        None
    } else if !is_valid_unit_code(code) {
        errors.insert(
            "code",
            "Mã đơn vị chỉ gồm chữ thường không dấu (a-z), chữ số, dấu chấm và dấu gạch ngang, \
             bắt đầu bằng chữ hoặc số, tối đa 64 ký tự."
                .to_string(),
        );
        None
    } else {
        Some(code.to_string())
    }
}

fn refusal_error(refusal: UnitRefusal) -> (&'static str, String) {
    match refusal {
        UnitRefusal::DuplicateCode => ("code", MSG_DUPLICATE_CODE.to_string()),
        UnitRefusal::DuplicateAdminCode => ("admin_code", MSG_DUPLICATE_ADMIN_CODE.to_string()),
        UnitRefusal::UnknownParent => ("parent", MSG_UNKNOWN_PARENT.to_string()),
        UnitRefusal::IntoOwnSubtree => ("parent", MSG_OWN_SUBTREE.to_string()),
    }
}

const INHERIT_FROM_PARENT: &str = "Kế thừa từ đơn vị cấp trên";

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<OkQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let rows = Unit::find_for_scope(&mut conn, &staff.scope).await?;
    Ok(html(
        views::list(
            &staff,
            &rows,
            &state.config.default_form,
            &super::form_titles(&state.forms),
            query.message(),
        ),
        200,
    ))
}

async fn render_new(
    state: &AppState,
    staff: &Staff,
    values: &UnitForm,
    errors: &FieldErrors,
    status: u16,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let units = Unit::find_for_scope(&mut conn, &Scope::All).await?;
    let options = FormChoice::new(state, None).options(INHERIT_FROM_PARENT.to_string());
    Ok(html(
        views::new_unit(staff, values, errors, &units, &options),
        status,
    ))
}

async fn new_page(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    render_new(
        &state,
        &staff,
        &UnitForm::default(),
        &FieldErrors::new(),
        200,
    )
    .await
}

async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<UnitForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_writer()?;
    staff.require_admin()?;
    let choice = FormChoice::new(&state, None);
    let mut errors = FieldErrors::new();
    let code = check_code(&form.code, &mut errors);
    let fields = unit_fields(&form, &choice).map_err(|e| errors.extend(e));
    let (Some(code), Ok(fields)) = (code, fields) else {
        return render_new(&state, &staff, &form, &errors, 422).await;
    };
    let mut conn = state.pool.get().await?;
    match crate::app::units::create(&mut conn, &staff, &code, &fields).await? {
        Ok(unit) => Ok(see_other(&format!("/staff/units/{}?ok=created", unit.id))),
        Err(refusal) => {
            let (field, message) = refusal_error(refusal);
            errors.insert(field, message);
            render_new(&state, &staff, &form, &errors, 422).await
        }
    }
}

/// Renders the unit page; `edit` carries the typed values and problems of a refused edit.
async fn render_show(
    state: &AppState,
    staff: &Staff,
    id: i32,
    edit: Option<(&UnitForm, &FieldErrors)>,
    message: Option<&str>,
    status: u16,
) -> Result<HttpResponse, AppError> {
    staff.require_unit(id)?;
    let mut conn = state.pool.get().await?;
    let rows = Unit::find_for_scope(&mut conn, &staff.scope).await?;
    let unit: &UnitRow = rows.iter().find(|r| r.id == id).ok_or(AppError::NotFound)?;
    let parent = match unit.parent_id {
        Some(parent_id) => match rows.iter().find(|r| r.id == parent_id) {
            Some(p) => Some((p.id, p.name.clone(), true)),
            None => Unit::find(&mut conn, parent_id)
                .await?
                .map(|p| (p.id, p.name, false)),
        },
        None => None,
    };
    let desks = Desk::find_for_scope(&mut conn, &Scope::Units(vec![id])).await?;
    let acts = crate::db::reorganisations::history(&mut conn, id).await?;
    let history = Unit::find(&mut conn, id)
        .await?
        .map(|u| UnitHistory {
            admin_code: u.admin_code,
            valid_from: u.valid_from,
            valid_until: u.valid_until,
        })
        .unwrap_or_default();
    let children: Vec<&UnitRow> = rows.iter().filter(|r| r.parent_id == Some(id)).collect();
    let current = UnitForm::of(unit, &history);
    let empty = FieldErrors::new();
    let (values, errors) = edit.unwrap_or((&current, &empty));
    let subtree = crate::domain::tree::subtree(&rows, id);
    let options = FormChoice::new(state, unit.default_form_id.as_deref())
        .options(INHERIT_FROM_PARENT.to_string());
    let titles = super::form_titles(&state.forms);
    let page = UnitPage {
        unit,
        history: &history,
        parent: parent
            .as_ref()
            .map(|(id, name, link)| (*id, name.as_str(), *link)),
        children,
        desks: &desks,
        installation_default: &state.config.default_form,
        titles: &titles,
        message,
        acts: &acts,
        can_add_desk: staff.require_writable_unit(id).is_ok() && unit.active,
        edit: staff.is_admin().then_some(UnitEdit {
            values,
            errors,
            units: &rows,
            subtree: &subtree,
            form_options: &options,
        }),
    };
    Ok(html(views::show(staff, &page), status))
}

async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<OkQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    render_show(&state, &staff, id, None, query.message(), 200).await
}

/// A change to an existing unit: 404 outside the scope (or unknown), 403 for anyone but admins.
fn require_unit_admin(staff: &Staff, id: i32) -> Result<(), AppError> {
    staff.require_writable_unit(id)?;
    if staff.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn update(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<UnitForm>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    require_unit_admin(&staff, id)?;
    let mut conn = state.pool.get().await?;
    let unit = Unit::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let choice = FormChoice::new(&state, unit.default_form_id.as_deref());
    let fields = match unit_fields(&form, &choice) {
        Ok(fields) => fields,
        Err(errors) => {
            return render_show(&state, &staff, id, Some((&form, &errors)), None, 422).await;
        }
    };
    let mut conn = state.pool.get().await?;
    match crate::app::units::update(&mut conn, &staff, id, &fields).await? {
        Ok(_) => Ok(see_other(&format!("/staff/units/{id}?ok=updated"))),
        Err(refusal) => {
            drop(conn);
            let mut errors = FieldErrors::new();
            let (field, message) = refusal_error(refusal);
            errors.insert(field, message);
            render_show(&state, &staff, id, Some((&form, &errors)), None, 422).await
        }
    }
}

async fn set_active(
    state: &AppState,
    staff: &Staff,
    segment: &str,
    active: bool,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(segment)?;
    require_unit_admin(staff, id)?;
    let mut conn = state.pool.get().await?;
    crate::app::units::set_active(&mut conn, staff, id, active).await?;
    let ok = if active { "activated" } else { "deactivated" };
    Ok(see_other(&format!("/staff/units/{id}?ok={ok}")))
}

async fn deactivate(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    set_active(&state, &staff, &path, false).await
}

async fn activate(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    set_active(&state, &staff, &path, true).await
}
