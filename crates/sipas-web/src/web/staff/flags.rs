//! Staff area: "Phiếu nghi vấn", the responses flagged by the fraud signals (admins only; every
//! other role gets 404, for reading as for deciding). See `crate::db::flags`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{html, see_other};
use crate::auth::{CsrfForm, Staff};
use crate::db::flags::{self, Decision, NOTE_MAX, REASONS, STATES};
use crate::db::units::Unit;
use crate::error::AppError;
use crate::views::staff::FieldErrors;
use crate::views::staff::flags::{self as views, ListQuery, RULE_GROUPS, RULES_PATH};
use crate::web::AppState;

/// Responses per page.
pub const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/flags").route(web::get().to(list)))
        // Before `/flags/{response}`, which would take "rules" for a response.
        .service(
            super::resource("/flags/rules")
                .route(web::get().to(rules_page))
                .route(web::post().to(save_rules)),
        )
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
    crate::app::flags::decide(&mut conn, &staff, id, decision, note).await?;
    Ok(see_other(&format!("{}?ok=1", views::response_path(id))))
}

/// The thresholds as the form sends them, checked field by field: each a number (a comma or a
/// point for decimals) within the field's bounds.
struct TypedRules<'a>(&'a BTreeMap<String, String>);

impl TryFrom<TypedRules<'_>> for flags::FraudRules {
    type Error = FieldErrors;

    fn try_from(TypedRules(typed): TypedRules<'_>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut values = serde_json::Map::new();
        for field in RULE_GROUPS.iter().flat_map(|(_, fields)| fields.iter()) {
            let text = typed.get(field.name).map_or("", |v| v.trim());
            let number = text
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite());
            let bounds = if field.whole {
                format!("một số nguyên từ {} đến {}", field.min, field.max)
            } else {
                format!(
                    "một số từ {} đến {}",
                    views::rule_value(&field.min.into()),
                    views::rule_value(&field.max.into())
                )
            };
            match number {
                Some(v)
                    if v >= field.min && v <= field.max && (!field.whole || v.fract() == 0.0) =>
                {
                    values.insert(
                        field.name.to_string(),
                        if field.whole {
                            serde_json::Value::from(v as i64)
                        } else {
                            serde_json::Value::from(v)
                        },
                    );
                }
                _ => {
                    errors.insert(
                        field.name,
                        format!("{}: vui lòng nhập {bounds} ({}).", field.label, field.unit),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        serde_json::from_value(serde_json::Value::Object(values)).map_err(|e| {
            // Every field of `FraudRules` is on the page: a field missing here is a bug.
            FieldErrors::from([("desk_burst_minutes", format!("Lỗi nội bộ: {e}"))])
        })
    }
}

/// The stored thresholds as the page writes them.
fn shown(rules: &flags::FraudRules) -> BTreeMap<String, String> {
    let value = serde_json::to_value(rules).unwrap_or_default();
    RULE_GROUPS
        .iter()
        .flat_map(|(_, fields)| fields.iter())
        .map(|f| (f.name.to_string(), views::rule_value(&value[f.name])))
        .collect()
}

#[derive(Deserialize)]
struct SavedQuery {
    ok: Option<String>,
}

async fn rules_page(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut conn = state.pool.get().await?;
    let rules = flags::rules(&mut conn).await?;
    let message = query.ok.as_deref().filter(|ok| *ok == "saved").map(
        |_| "Đã lưu ngưỡng phát hiện. Ngưỡng mới áp dụng cho các phiếu được kiểm tra từ bây giờ.",
    );
    Ok(html(
        views::rules(&staff, &shown(&rules), &FieldErrors::new(), message),
        200,
    ))
}

async fn save_rules(
    state: web::Data<AppState>,
    staff: Staff,
    CsrfForm(typed): CsrfForm<BTreeMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    match flags::FraudRules::try_from(TypedRules(&typed)) {
        Ok(rules) => {
            let mut conn = state.pool.get().await?;
            crate::app::flags::update_rules(&mut conn, &staff, &rules).await?;
            Ok(see_other(&format!("{RULES_PATH}?ok=saved")))
        }
        Err(errors) => Ok(html(views::rules(&staff, &typed, &errors, None), 422)),
    }
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

    fn typed(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut all: BTreeMap<String, String> = RULE_GROUPS
            .iter()
            .flat_map(|(_, fields)| fields.iter())
            .map(|f| (f.name.to_string(), format!("{}", f.min.max(2.0))))
            .collect();
        for (k, v) in pairs {
            all.insert(k.to_string(), v.to_string());
        }
        all
    }

    #[test]
    fn the_page_has_a_field_for_every_threshold() {
        let rules = flags::FraudRules::try_from(TypedRules(&typed(&[]))).unwrap();
        let stored = serde_json::to_value(&rules).unwrap();
        let columns: Vec<&String> = stored.as_object().unwrap().keys().collect();
        let mut fields: Vec<&str> = RULE_GROUPS
            .iter()
            .flat_map(|(_, fields)| fields.iter().map(|f| f.name))
            .collect();
        fields.sort();
        assert_eq!(columns, fields);
        // And the page shows back what it reads.
        assert_eq!(shown(&rules), typed(&[]));
    }

    #[test]
    fn numbers_are_read_as_written_in_vietnamese_and_bounded() {
        let rules = flags::FraudRules::try_from(TypedRules(&typed(&[
            ("min_seconds_per_item", " 0,75 "),
            ("desk_burst_ratio", "4.5"),
        ])))
        .unwrap();
        assert_eq!(rules.min_seconds_per_item, 0.75);
        assert_eq!(rules.desk_burst_ratio, 4.5);
        for (name, bad) in [
            ("client_burst_min", "1"),
            ("client_burst_min", "2,5"),
            ("desk_burst_minutes", ""),
            ("desk_burst_minutes", "1441"),
            ("desk_burst_ratio", "NaN"),
            ("desk_burst_ratio", "inf"),
            ("min_seconds_base", "-1"),
        ] {
            let errors =
                flags::FraudRules::try_from(TypedRules(&typed(&[(name, bad)]))).expect_err(bad);
            assert_eq!(errors.keys().copied().collect::<Vec<_>>(), [name], "{bad}");
        }
    }
}
