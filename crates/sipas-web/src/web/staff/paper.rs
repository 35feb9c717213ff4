//! Staff area: data entry of paper ballots. `/staff/paper` chooses the desk the ballots come
//! from; `/staff/paper/{desk}` is the entry screen, where each ballot is typed in as numeric
//! codes and stored as a response of channel `paper`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::{html, see_other};
use crate::auth::{CSRF_FIELD, CsrfForm, Staff};
use crate::db::desks::{Desk, DeskContext};
use crate::db::responses;
use crate::error::AppError;
use crate::forms::submission::{NOT_APPLICABLE_VALUE, VERSION_FIELD, validate};
use crate::forms::{Form, FormVersion, ItemKind, Scale};
use crate::survey::{self, PaperBallot, PaperRefusal};
use crate::views::format_vietnam_time;
use crate::views::staff::FieldErrors;
use crate::views::staff::paper::{
    self as views, DATE_FIELD, EntryPage, NOT_APPLICABLE_KEY, SERIAL_FIELD,
};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/paper").route(web::get().to(choose)))
        .service(
            super::resource("/paper/{desk}")
                .route(web::get().to(entry))
                .route(web::post().to(save)),
        );
}

/// Longest serial number (as the database's check).
const SERIAL_MAX_CHARS: usize = 64;
/// Ballots dated before this year are typing mistakes.
const FIRST_YEAR: i32 = 2000;

const MSG_SERIAL_MISSING: &str = "Vui lòng nhập số phiếu.";
const MSG_DATE_MISSING: &str = "Vui lòng nhập ngày ghi trên phiếu.";
const MSG_DATE_FUTURE: &str = "Ngày ghi trên phiếu không thể sau ngày hôm nay.";
const MSG_DATE_TOO_OLD: &str = "Ngày ghi trên phiếu không thể trước năm 2000.";
const MSG_CHOICE_MISSING: &str = "Chưa nhập mã trả lời (câu bắt buộc).";
const MSG_FORM_CHANGED: &str =
    "Biểu mẫu của quầy vừa được cập nhật. Vui lòng kiểm tra lại các câu trả lời và lưu lại phiếu.";

use crate::domain::time::today_in_vietnam as today;

use crate::domain::format::format_date;

#[derive(Deserialize)]
struct ChooseQuery {
    desk: Option<String>,
}

/// The desk chooser; choosing (`?desk=ID`) leads to that desk's entry screen.
async fn choose(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<ChooseQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_writer()?;
    let mut conn = state.pool.get().await?;
    let desks = responses::paper_desks(&mut conn, &staff.scope).await?;
    match query.desk.as_deref().map(str::trim) {
        None => Ok(html(views::choose(&staff, &desks, None), 200)),
        Some(chosen) => match chosen.parse::<i32>() {
            Ok(id) if desks.iter().any(|d| d.desk_id == id) => {
                Ok(see_other(&views::entry_path(id)))
            }
            _ => Ok(html(
                views::choose(
                    &staff,
                    &desks,
                    Some("Vui lòng chọn một quầy trong danh sách."),
                ),
                422,
            )),
        },
    }
}

/// The desk behind a path segment, within the account's scope, and the version of its form
/// shown now. Viewers: 403; another unit's desk, an inactive or unknown desk: 404.
async fn desk_and_form(
    state: &AppState,
    staff: &Staff,
    segment: &str,
) -> Result<(DeskContext, Arc<FormVersion>), AppError> {
    staff.require_writer()?;
    let desk_id: i32 = segment.parse().map_err(|_| AppError::NotFound)?;
    let mut conn = state.pool.get().await?;
    let desk = Desk::find_context(&mut conn, desk_id)
        .await?
        .ok_or(AppError::NotFound)?;
    staff.require_unit(desk.unit_id)?;
    let form_id = desk
        .form_id
        .as_deref()
        .unwrap_or(&state.config.default_form);
    let version = state.forms.latest(form_id).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "desk {} shows form \"{form_id}\", which is not stored",
            desk.desk_id
        ))
    })?;
    Ok((desk, version))
}

#[derive(Deserialize)]
struct EntryQuery {
    /// The response just saved.
    ok: Option<String>,
}

/// An empty entry screen (after a save: with "Đã lưu phiếu số X").
async fn entry(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<EntryQuery>,
) -> Result<HttpResponse, AppError> {
    let (desk, version) = desk_and_form(&state, &staff, &path).await?;
    let mut saved = None;
    if let Some(id) = query.ok.as_deref().and_then(|id| id.parse::<i64>().ok()) {
        let mut conn = state.pool.get().await?;
        saved = responses::find_paper_ballot(&mut conn, id)
            .await?
            .filter(|b| b.desk_id == Some(desk.desk_id))
            .map(|b| b.serial);
    }
    let typed = Typed {
        date: format_date(today()),
        ..Typed::default()
    };
    let places = state.residence_places(&version.form).await;
    Ok(render(
        &staff,
        &desk,
        &version,
        &places,
        &typed,
        &Refused::default(),
        saved.as_deref(),
        200,
    ))
}

/// What the clerk typed, kept to put back on the screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Typed {
    serial: String,
    date: String,
    version_id: Option<i32>,
    /// By item code (the last value of a repeated field wins).
    items: HashMap<String, String>,
}

impl Typed {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut typed = Typed::default();
        for (name, value) in pairs {
            match name.as_str() {
                SERIAL_FIELD => typed.serial = value,
                DATE_FIELD => typed.date = value,
                VERSION_FIELD => typed.version_id = value.trim().parse().ok(),
                CSRF_FIELD => {}
                _ => {
                    typed.items.insert(name, value);
                }
            }
        }
        typed
    }
}

/// Every problem of a refused ballot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Refused {
    fields: FieldErrors,
    items: BTreeMap<String, String>,
    general: Vec<String>,
}

impl Refused {
    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.items.is_empty() && self.general.is_empty()
    }
}

/// The serial number as stored: trimmed, at most 64 characters, nothing invisible.
fn parse_serial(text: &str) -> Result<String, String> {
    let serial = text.trim();
    if serial.is_empty() {
        return Err(MSG_SERIAL_MISSING.into());
    }
    if serial.chars().any(char::is_control) {
        return Err("Số phiếu có ký tự không hợp lệ.".into());
    }
    let length = serial.chars().count();
    if length > SERIAL_MAX_CHARS {
        return Err(format!(
            "Số phiếu dài tối đa {SERIAL_MAX_CHARS} ký tự (hiện có {length} ký tự)."
        ));
    }
    Ok(serial.to_string())
}

/// The date written on the ballot: dd/mm/yyyy (also with '.' or '-', or as 8 digits
/// ddmmyyyy for typing on the number pad), not after `today`, not before 2000.
fn parse_date(text: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(MSG_DATE_MISSING.into());
    }
    let invalid = || {
        format!(
            "Ngày không hợp lệ. Vui lòng nhập theo dạng ngày/tháng/năm, ví dụ {}.",
            format_date(today)
        )
    };
    let parts: Vec<&str> = if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        vec![&text[..2], &text[2..4], &text[4..]]
    } else {
        text.split(['/', '.', '-']).map(str::trim).collect()
    };
    let [day, month, year] = parts.as_slice() else {
        return Err(invalid());
    };
    let number = |s: &str, digits: std::ops::RangeInclusive<usize>| {
        (digits.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (Some(day), Some(month), Some(year)) = (
        number(day, 1..=2),
        number(month, 1..=2),
        number(year, 4..=4),
    ) else {
        return Err(invalid());
    };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(invalid)?;
    if date > today {
        return Err(MSG_DATE_FUTURE.into());
    }
    if date.year() < FIRST_YEAR {
        return Err(MSG_DATE_TOO_OLD.into());
    }
    Ok(date)
}

/// "từ 1 đến 5", or "1 hoặc 2", or "1, 3 hoặc 5" when the codes have gaps.
fn codes_hint(scale: &Scale) -> String {
    let codes: Vec<String> = scale.options.iter().map(|o| o.code.to_string()).collect();
    let contiguous = scale.options.windows(2).all(|w| w[1].code == w[0].code + 1);
    match codes.as_slice() {
        [one] => one.clone(),
        [first, .., last] if contiguous && codes.len() > 2 => format!("từ {first} đến {last}"),
        [init @ .., last] => format!("{} hoặc {last}", init.join(", ")),
        [] => String::new(),
    }
}

/// The clerk's message for a choice item that `validate` refused.
fn choice_message(form: &Form, code: &str, typed: &str) -> Option<String> {
    let item = form.item(code)?;
    let ItemKind::Choice {
        scale,
        not_applicable,
    } = &item.kind
    else {
        return None;
    };
    let scale = form.scale(scale)?;
    let allowed = if *not_applicable {
        format!(
            "{}, hoặc {NOT_APPLICABLE_KEY} nếu {}",
            codes_hint(scale),
            form.not_applicable_label.to_lowercase()
        )
    } else {
        codes_hint(scale)
    };
    Some(if typed.is_empty() {
        MSG_CHOICE_MISSING.to_string()
    } else if typed == NOT_APPLICABLE_KEY && !*not_applicable {
        format!(
            "Câu này không có lựa chọn “{}” (mã {NOT_APPLICABLE_KEY}). Vui lòng nhập mã {allowed}.",
            form.not_applicable_label
        )
    } else {
        format!("Mã “{typed}” không hợp lệ. Vui lòng nhập mã {allowed}.")
    })
}

/// The value, or `None` with its problem noted under `name`.
fn noted<T>(errors: &mut FieldErrors, name: &'static str, result: Result<T, String>) -> Option<T> {
    result.map_err(|message| errors.insert(name, message)).ok()
}

/// Checks a typed ballot against the form: the typed codes are mapped to the submission
/// format of the survey page ("0" becomes "not applicable" where the item allows it) and
/// checked by the same [`validate`] as citizens' answers. Either everything is valid, or
/// every problem is named.
fn check(form: &Form, typed: &Typed, today: NaiveDate) -> Result<PaperBallot, Refused> {
    let mut refused = Refused::default();
    let serial = noted(
        &mut refused.fields,
        SERIAL_FIELD,
        parse_serial(&typed.serial),
    );
    let date = noted(
        &mut refused.fields,
        DATE_FIELD,
        parse_date(&typed.date, today),
    );
    let mut fields: Vec<(String, String)> = Vec::new();
    for (_, item) in form.items() {
        let Some(value) = typed.items.get(&item.code) else {
            continue;
        };
        let value = match &item.kind {
            ItemKind::Choice { not_applicable, .. } => {
                let code = value.trim();
                if code.is_empty() {
                    continue;
                }
                if !code.bytes().all(|b| b.is_ascii_digit()) {
                    // "+5", "na", " 4 x": not a code typed from a paper ballot.
                    refused.items.insert(
                        item.code.clone(),
                        choice_message(form, &item.code, code).unwrap_or_default(),
                    );
                    continue;
                }
                if code == NOT_APPLICABLE_KEY && *not_applicable {
                    NOT_APPLICABLE_VALUE.to_string()
                } else {
                    code.to_string()
                }
            }
            ItemKind::Text { .. } | ItemKind::Residence { .. } => value.clone(),
        };
        fields.push((item.code.clone(), value));
    }
    let answers = match validate(form, &fields) {
        Ok(answers) => Some(answers),
        Err(problems) => {
            for (code, message) in problems.items {
                if refused.items.contains_key(&code) {
                    continue;
                }
                let typed_code = typed.items.get(&code).map_or("", |v| v.trim());
                let message = choice_message(form, &code, typed_code).unwrap_or(message);
                refused.items.insert(code, message);
            }
            refused.general.extend(problems.general);
            None
        }
    };
    match (serial, date, answers) {
        (Some(serial), Some(date), Some(answers)) if refused.is_empty() => Ok(PaperBallot {
            serial,
            date,
            answers,
        }),
        _ => Err(refused),
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    staff: &Staff,
    desk: &DeskContext,
    version: &FormVersion,
    places: &[crate::forms::ResidencePlace],
    typed: &Typed,
    refused: &Refused,
    saved: Option<&str>,
    status: u16,
) -> HttpResponse {
    html(
        views::entry(
            staff,
            &EntryPage {
                desk,
                version,
                serial: &typed.serial,
                date: &typed.date,
                items: &typed.items,
                errors: &refused.fields,
                item_errors: &refused.items,
                general: &refused.general,
                saved,
                places,
            },
        ),
        status,
    )
}

/// Stores one typed ballot, then back to an empty screen for the next one. Each ballot is
/// counted in the metrics (the door `paper`) by its outcome, a refusal by its reason.
async fn save(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    use crate::app::metrics::{Door, Outcome, Reason};
    let metrics = &state.metrics;
    let (desk, current) = desk_and_form(&state, &staff, &path).await?;
    let places = state.residence_places(&current.form).await;
    let typed = Typed::from_pairs(pairs);
    // The version the clerk had on screen, if it is a version of the form this desk shows.
    let shown = typed
        .version_id
        .and_then(|id| state.forms.version(id))
        .filter(|v| v.form.id == current.form.id);
    let Some(version) = shown else {
        metrics.refused(Door::Paper, Reason::FormVersion);
        let refused = Refused {
            general: vec![MSG_FORM_CHANGED.to_string()],
            ..Refused::default()
        };
        return Ok(render(
            &staff, &desk, &current, &places, &typed, &refused, None, 422,
        ));
    };
    let ballot = match check(&version.form, &typed, today()) {
        Ok(ballot) => ballot,
        Err(refused) => {
            metrics.refused(Door::Paper, Reason::Invalid);
            return Ok(render(
                &staff, &desk, &version, &places, &typed, &refused, None, 422,
            ));
        }
    };
    let mut conn = state.pool.get().await.inspect_err(|_| {
        metrics.submission(Door::Paper, Outcome::Failed);
    })?;
    match survey::store_paper_ballot(
        &mut conn,
        &staff,
        &desk,
        &version,
        &ballot,
        state.config.keep_original_comments,
    )
    .await
    {
        Ok(stored) => {
            metrics.submission(Door::Paper, Outcome::Stored);
            Ok(see_other(&format!(
                "{}?ok={}",
                views::entry_path(desk.desk_id),
                stored.id
            )))
        }
        Err(PaperRefusal::DuplicateSerial(existing)) => {
            metrics.refused(Door::Paper, Reason::DuplicateSerial);
            let when = existing.entered_at.map_or_else(
                || "trước đây".to_string(),
                |at| format!("lúc {}", format_vietnam_time(at)),
            );
            let who = existing.entered_by.as_deref().unwrap_or("(không rõ)");
            let mut refused = Refused::default();
            refused.fields.insert(
                SERIAL_FIELD,
                format!(
                    "Phiếu số {} của đơn vị này đã được nhập {when} bởi {who}.",
                    existing.serial
                ),
            );
            Ok(render(
                &staff, &desk, &version, &places, &typed, &refused, None, 422,
            ))
        }
        Err(PaperRefusal::Failed(e)) => {
            metrics.submission(Door::Paper, Outcome::Failed);
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ballot_dates() {
        let today = day(2026, 11, 27);
        assert_eq!(parse_date("20/11/2026", today), Ok(day(2026, 11, 20)));
        assert_eq!(parse_date(" 5/1/2024 ", today), Ok(day(2024, 1, 5)));
        assert_eq!(parse_date("05.01.2024", today), Ok(day(2024, 1, 5)));
        assert_eq!(parse_date("05012024", today), Ok(day(2024, 1, 5)));
        assert_eq!(parse_date("27/11/2026", today), Ok(today));
        assert_eq!(parse_date("28/11/2026", today), Err(MSG_DATE_FUTURE.into()));
        assert_eq!(
            parse_date("31/12/1999", today),
            Err(MSG_DATE_TOO_OLD.into())
        );
        assert_eq!(parse_date("", today), Err(MSG_DATE_MISSING.into()));
        for bad in [
            "31/02/2026",
            "2026-11-20",
            "20/11/26",
            "20/11",
            "hôm qua",
            "+1/11/2026",
        ] {
            assert!(
                parse_date(bad, today)
                    .unwrap_err()
                    .starts_with("Ngày không hợp lệ"),
                "{bad}"
            );
        }
    }

    #[test]
    fn serial_numbers() {
        assert_eq!(parse_serial("  XB-0015 "), Ok("XB-0015".into()));
        assert_eq!(parse_serial(" "), Err(MSG_SERIAL_MISSING.into()));
        assert!(parse_serial(&"9".repeat(65)).is_err());
        assert!(parse_serial(&"9".repeat(64)).is_ok());
        assert!(parse_serial("12\u{0}3").is_err());
    }
}
