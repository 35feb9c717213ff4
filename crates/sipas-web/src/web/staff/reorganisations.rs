//! Staff area: reorganisation acts (admins). An act is entered, previewed (what it will do),
//! then applied with a confirmation; refusals are shown on the page (422), nothing stored.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;

use super::{html, see_other};
use crate::auth::{CsrfForm, Scope, Staff};
use crate::db::reorganisations;
use crate::db::units::{MAX_NAME_CHARS, Unit, UnitKind, UnitRow, is_valid_unit_code};
use crate::domain::reorganisation::{
    Act, ActKind, ActSpec, DeskFate, NewUnitSpec, SuccessorSpec, parse_share,
};
use crate::error::AppError;
use crate::views::staff::FieldErrors;
use crate::views::staff::reorganisations::{self as views, ActValues, SPLIT_SLOTS};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/reorganisations").route(web::get().to(list)))
        .service(super::resource("/reorganisations/{kind}").route(web::get().to(form_page)))
        .service(super::resource("/reorganisations/{kind}/preview").route(web::post().to(preview)))
        .service(super::resource("/reorganisations/{kind}/apply").route(web::post().to(apply)));
}

#[derive(Deserialize)]
struct OkQuery {
    ok: Option<String>,
}

fn kind_of(segment: &str) -> Result<ActKind, AppError> {
    ActKind::parse(segment).ok_or(AppError::NotFound)
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<OkQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut conn = state.pool.get().await?;
    let acts = reorganisations::list(&mut conn).await?;
    let names: Vec<(i32, String)> = Unit::all_by_name(&mut conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let message = (query.ok.as_deref() == Some("applied")).then_some("Đã áp dụng việc sắp xếp.");
    Ok(html(views::list(&staff, &acts, &names, message), 200))
}

/// The current units, as a tree (those an act ended left out).
async fn current_units(state: &AppState) -> Result<Vec<UnitRow>, AppError> {
    let mut conn = state.pool.get().await?;
    let rows = Unit::find_for_scope(&mut conn, &Scope::All).await?;
    let ended: Vec<i32> = Unit::all_by_name(&mut conn)
        .await?
        .into_iter()
        .filter(|u| u.valid_until.is_some())
        .map(|u| u.id)
        .collect();
    Ok(rows
        .into_iter()
        .filter(|r| !ended.contains(&r.id))
        .collect())
}

async fn render_form(
    state: &AppState,
    staff: &Staff,
    kind: ActKind,
    values: &ActValues,
    errors: &FieldErrors,
    status: u16,
) -> Result<HttpResponse, AppError> {
    let units = current_units(state).await?;
    Ok(html(
        views::form(staff, kind, values, errors, &units),
        status,
    ))
}

async fn form_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let kind = kind_of(&path)?;
    render_form(
        &state,
        &staff,
        kind,
        &ActValues::default(),
        &FieldErrors::new(),
        200,
    )
    .await
}

fn parse_id(text: &str) -> Option<i32> {
    text.trim().parse::<i32>().ok().filter(|id| *id > 0)
}

const MSG_UNIT: &str = "Vui lòng chọn đơn vị trong danh sách.";

/// A new unit's fields (names prefixed with `prefix`), checked for form.
fn new_unit(prefix: &str, v: &ActValues, errors: &mut FieldErrors) -> Option<NewUnitSpec> {
    let get = |f: &str| v.get(&format!("{prefix}{f}")).trim().to_string();
    let code = get("code");
    let name = get("name");
    let mut ok = true;
    if code.is_empty() {
        errors.insert("code", "Vui lòng nhập mã của đơn vị mới.".to_string());
        ok = false;
    } else if !is_valid_unit_code(&code) {
        errors.insert(
            "code",
            "Mã đơn vị chỉ gồm chữ thường không dấu (a-z), chữ số, dấu chấm và dấu gạch ngang, \
             bắt đầu bằng chữ hoặc số, tối đa 64 ký tự."
                .to_string(),
        );
        ok = false;
    }
    if name.is_empty() {
        errors.insert("name", "Vui lòng nhập tên của đơn vị mới.".to_string());
        ok = false;
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.insert(
            "name",
            format!("Tên không được dài quá {MAX_NAME_CHARS} ký tự."),
        );
        ok = false;
    }
    let kind = UnitKind::parse(&get("kind"));
    if kind.is_none() {
        errors.insert("kind", "Vui lòng chọn loại đơn vị.".to_string());
        ok = false;
    }
    let admin = get("admin_code");
    let parent = get("parent");
    let parent_id = if parent.is_empty() {
        None
    } else if let Some(id) = parse_id(&parent) {
        Some(id)
    } else {
        errors.insert("parent", MSG_UNIT.to_string());
        ok = false;
        None
    };
    ok.then(|| NewUnitSpec {
        code,
        name,
        kind: kind.map(UnitKind::as_str).unwrap_or_default().to_string(),
        admin_code: (!admin.is_empty()).then_some(admin),
        parent_id,
    })
}

/// "new" or a unit id.
fn successor(
    value: &str,
    prefix: &str,
    v: &ActValues,
    errors: &mut FieldErrors,
) -> Option<SuccessorSpec> {
    if value == "new" {
        new_unit(prefix, v, errors).map(SuccessorSpec::New)
    } else if let Some(id) = parse_id(value) {
        Some(SuccessorSpec::Existing(id))
    } else {
        errors.insert("successors", MSG_UNIT.to_string());
        None
    }
}

/// The desks' choices: `desk_<id>` = "close" or a successor's index.
fn desk_fates(v: &ActValues) -> BTreeMap<i32, DeskFate> {
    v.0.iter()
        .filter_map(|(k, value)| {
            let id = parse_id(k.strip_prefix("desk_")?)?;
            let fate = if value == "close" {
                DeskFate::Close
            } else {
                DeskFate::To(value.parse().ok()?)
            };
            Some((id, fate))
        })
        .collect()
}

/// The act as posted, checked for form (the rules themselves are the core's).
fn parse_act(kind: ActKind, v: &ActValues) -> Result<Act, FieldErrors> {
    let mut errors = FieldErrors::new();
    let date = v.get("effective_date").trim();
    let effective_date = if date.is_empty() {
        errors.insert("effective_date", "Vui lòng nhập ngày hiệu lực.".to_string());
        None
    } else {
        let parsed = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok();
        if parsed.is_none() {
            errors.insert(
                "effective_date",
                "Ngày hiệu lực không hợp lệ (định dạng năm-tháng-ngày).".to_string(),
            );
        }
        parsed
    };
    let spec = match kind {
        ActKind::Merge => {
            let predecessors: Option<Vec<i32>> = v.all("pred").into_iter().map(parse_id).collect();
            if predecessors.is_none() {
                errors.insert("predecessors", MSG_UNIT.to_string());
            }
            let target = v.get("target");
            let succ = successor(target, "", v, &mut errors);
            match (predecessors, succ) {
                (Some(predecessors), Some(successor)) => Some(ActSpec::Merge {
                    predecessors,
                    successor,
                    desks: desk_fates(v),
                }),
                _ => None,
            }
        }
        ActKind::Split => {
            let pred = parse_id(v.get("pred"));
            if pred.is_none() {
                errors.insert(
                    "predecessors",
                    "Vui lòng chọn đơn vị được chia tách.".to_string(),
                );
            }
            let mut successors = Vec::new();
            let mut ok = true;
            for i in 1..=SPLIT_SLOTS {
                let p = format!("s{i}_");
                let target = v.get(&format!("{p}target")).trim();
                if target.is_empty() {
                    continue;
                }
                let share_text = v.get(&format!("{p}share")).trim();
                let share = if share_text.is_empty() {
                    None
                } else {
                    match parse_share(share_text) {
                        Some(s) => Some(s),
                        None => {
                            errors.insert(
                                "shares",
                                format!(
                                    "Tỷ lệ «{share_text}» không hợp lệ: nhập một số phần trăm, \
                                     tối đa hai chữ số thập phân (ví dụ: 33,33)."
                                ),
                            );
                            ok = false;
                            None
                        }
                    }
                };
                match successor(target, &p, v, &mut errors) {
                    Some(s) => successors.push((s, share)),
                    None => ok = false,
                }
            }
            match pred {
                Some(predecessor) if ok => Some(ActSpec::Split {
                    predecessor,
                    successors,
                    desks: desk_fates(v),
                }),
                _ => None,
            }
        }
        ActKind::Rename => {
            let unit = parse_id(v.get("unit"));
            if unit.is_none() {
                errors.insert("unit", MSG_UNIT.to_string());
            }
            let name = v.get("name").trim().to_string();
            if name.chars().count() > MAX_NAME_CHARS {
                errors.insert(
                    "name",
                    format!("Tên không được dài quá {MAX_NAME_CHARS} ký tự."),
                );
            }
            unit.map(|unit_id| ActSpec::Rename { unit_id, name })
        }
        ActKind::Move => {
            let unit = parse_id(v.get("unit"));
            if unit.is_none() {
                errors.insert("unit", MSG_UNIT.to_string());
            }
            let parent = v.get("parent").trim();
            let parent_id = if parent.is_empty() {
                Some(None)
            } else {
                parse_id(parent).map(Some)
            };
            if parent_id.is_none() {
                errors.insert("parent", MSG_UNIT.to_string());
            }
            match (unit, parent_id) {
                (Some(unit_id), Some(parent_id)) => Some(ActSpec::Move { unit_id, parent_id }),
                _ => None,
            }
        }
    };
    match (spec, effective_date) {
        (Some(spec), Some(effective_date)) if errors.is_empty() => Ok(Act {
            title: v.get("title").to_string(),
            legal_basis: v.get("legal_basis").to_string(),
            effective_date,
            spec,
        }),
        _ => Err(errors),
    }
}

/// Previews the act; `confirm_error`: the refused apply's reason, shown on the preview.
async fn render_preview(
    state: &AppState,
    staff: &Staff,
    kind: ActKind,
    values: &ActValues,
    confirm_error: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let act = match parse_act(kind, values) {
        Ok(act) => act,
        Err(errors) => return render_form(state, staff, kind, values, &errors, 422).await,
    };
    let mut conn = state.pool.get().await?;
    match crate::app::reorganisations::preview(&mut conn, &act).await? {
        Ok(p) => {
            let mut errors = FieldErrors::new();
            if let Some(message) = confirm_error {
                errors.insert("confirm", message.to_string());
            }
            let status = if errors.is_empty() { 200 } else { 422 };
            Ok(html(
                views::preview(staff, kind, values, &p.plan, &p.world, &errors),
                status,
            ))
        }
        Err(errors) => {
            drop(conn);
            render_form(state, staff, kind, values, &errors, 422).await
        }
    }
}

async fn preview(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    staff.require_writer()?;
    staff.require_admin()?;
    let kind = kind_of(&path)?;
    render_preview(&state, &staff, kind, &ActValues(pairs), None).await
}

async fn apply(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    staff.require_writer()?;
    staff.require_admin()?;
    let kind = kind_of(&path)?;
    let values = ActValues(pairs);
    if values.get("confirm") != "yes" {
        return render_preview(
            &state,
            &staff,
            kind,
            &values,
            Some("Vui lòng đánh dấu ô xác nhận trước khi áp dụng."),
        )
        .await;
    }
    let act = match parse_act(kind, &values) {
        Ok(act) => act,
        Err(errors) => return render_form(&state, &staff, kind, &values, &errors, 422).await,
    };
    let mut conn = state.pool.get().await?;
    match crate::app::reorganisations::apply(&mut conn, &staff, &act).await? {
        Ok(_) => Ok(see_other("/staff/reorganisations?ok=applied")),
        Err(errors) => {
            drop(conn);
            render_form(&state, &staff, kind, &values, &errors, 422).await
        }
    }
}
