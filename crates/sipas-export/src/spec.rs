//! What an export is about: a form, a period, a unit subtree within the account's scope.
//! Resolved from what a person typed (the command line's `--year/--period/--unit/--form`, the
//! web's filters) into the [`ReportQuery`] every figure comes from and the filter of the raw
//! data, with a precise message for anything that does not resolve.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;

use crate::db::units::Unit;
use crate::domain::access::Scope;
use crate::domain::channel::{CHANNELS, Channel};
use crate::domain::tree::{default_root, subtree};
use crate::forms::FormRegistry;
use crate::periods::PlanPeriod;
use crate::plans::{MAX_YEAR, MIN_YEAR, format_date};
use crate::reports::ReportQuery;
use crate::selection::{Ask, PeriodAsk, PlanContext, Problem, form_of, period_of};
use sipas_app::selection::plan_for;

/// The unit an export is about, as the caller knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitRef {
    /// A unit code (`--unit XL-GR`), as on the command line.
    Code(String),
    /// A unit id, as the web's filters carry it.
    Id(i32),
}

/// What was asked for, before it is checked against the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecRequest {
    pub year: i32,
    /// A period token (see [`crate::periods`]); `None`: the whole year.
    pub period: Option<String>,
    /// `None`: the top of the account's scope.
    pub unit: Option<UnitRef>,
    /// `None`: the default form.
    pub form: Option<String>,
    /// Only responses of this channel ("qr", "paper", ...).
    pub channel: Option<String>,
}

/// Why a request does not resolve. The messages are Vietnamese (shown on the web, printed by
/// the command line) and name the value that was not understood.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("Năm {0} không hợp lệ: chọn một năm từ 2000 đến 2100, ví dụ 2026.")]
    Year(i32),
    #[error(
        "Kỳ “{0}” không hợp lệ: dùng năm (2026), quý (2026-q1 … 2026-q4), nửa năm (2026-h1, \
         2026-h2), tháng (2026-03) hoặc tên một đợt trong kế hoạch khảo sát của năm{1}."
    )]
    Period(String, String),
    #[error("Không có đơn vị mã “{0}”.")]
    UnknownUnit(String),
    #[error("Đơn vị “{0}” không thuộc phạm vi của tài khoản.")]
    OutOfScope(String),
    #[error("Tài khoản không được giao đơn vị nào.")]
    NoUnits,
    /// The database holds no unit at all (a new installation): nothing to do with the account.
    #[error("Chưa có đơn vị nào: quản trị viên thêm các đơn vị ở trang “Đơn vị”.")]
    NoUnitsYet,
    #[error("Không có mẫu phiếu “{0}”. Các mẫu phiếu: {1}.")]
    Form(String, String),
    #[error("Kênh “{0}” không hợp lệ. Các kênh: {1}.")]
    Channel(String, String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl SpecError {
    /// The filter the message belongs to (the web shows it next to that field).
    pub fn field(&self) -> &'static str {
        match self {
            SpecError::Year(_) => "year",
            SpecError::Period(..) => "period",
            SpecError::UnknownUnit(_)
            | SpecError::OutOfScope(_)
            | SpecError::NoUnits
            | SpecError::NoUnitsYet => "unit",
            SpecError::Form(..) => "form",
            SpecError::Channel(..) => "channel",
            SpecError::Database(_) => "",
        }
    }
}

/// An export, resolved: every figure comes from `reports::build(conn, forms, &scope, &query)`,
/// the raw data from the responses of `units` in the query's days and form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSpec {
    /// The report the figures come from; `root` is always set.
    pub query: ReportQuery,
    /// The account's scope (`Scope::All` on the command line).
    pub scope: Scope,
    /// "Kết quả khảo sát sự hài lòng của người dân, tổ chức – Huyện Xuân Lộc".
    pub title: String,
    /// "Quý I/2026 (01/01/2026 – 31/03/2026)".
    pub period_label: String,
    /// The root unit's name.
    pub unit_name: String,
    pub unit_code: String,
    /// The form's title.
    pub form_title: String,
    /// The root unit and every unit below it, within the scope: whose responses the raw data
    /// holds.
    pub units: Vec<i32>,
    /// A file name without extension: "sipas-XL-2026-q1".
    pub file_stem: String,
}

/// The survey's full name, as in the provincial report.
pub const SURVEY_TITLE: &str = "Kết quả khảo sát sự hài lòng của người dân, tổ chức";

/// A file-name-safe rendering of a token ("Quý I" → "quy-i").
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = fold_vietnamese(c).to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn fold_vietnamese(c: char) -> char {
    const GROUPS: [(&str, char); 14] = [
        ("àáạảãâầấậẩẫăằắặẳẵ", 'a'),
        ("ÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴ", 'A'),
        ("èéẹẻẽêềếệểễ", 'e'),
        ("ÈÉẸẺẼÊỀẾỆỂỄ", 'E'),
        ("ìíịỉĩ", 'i'),
        ("ÌÍỊỈĨ", 'I'),
        ("òóọỏõôồốộổỗơờớợởỡ", 'o'),
        ("ÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠ", 'O'),
        ("ùúụủũưừứựửữ", 'u'),
        ("ÙÚỤỦŨƯỪỨỰỬỮ", 'U'),
        ("ỳýỵỷỹ", 'y'),
        ("ỲÝỴỶỸ", 'Y'),
        ("đ", 'd'),
        ("Đ", 'D'),
    ];
    GROUPS
        .iter()
        .find(|(group, _)| group.contains(c))
        .map_or(c, |(_, plain)| *plain)
}

impl ExportSpec {
    /// Checks `request` against the units, the plans and the forms. `default_form` applies when
    /// the request names none. A unit outside `scope` is [`SpecError::OutOfScope`] (the web
    /// answers 404 for it).
    pub async fn resolve(
        conn: &mut AsyncPgConnection,
        forms: &FormRegistry,
        default_form: &str,
        scope: Scope,
        request: &SpecRequest,
    ) -> Result<ExportSpec, SpecError> {
        let year = request.year;
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(SpecError::Year(year));
        }
        let form_id = form_of(request.form.as_deref(), None, default_form);
        let Some(form) = forms.latest(&form_id) else {
            return Err(SpecError::Form(form_id, forms.form_ids().join(", ")));
        };
        let channel = match request.channel.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => match Channel::parse(c) {
                Some(channel) => Some(channel.as_str().to_string()),
                None => return Err(SpecError::Channel(c.to_string(), CHANNELS.join(", "))),
            },
        };
        let all = Unit::all_by_name(conn).await?;
        if all.is_empty() {
            return Err(SpecError::NoUnitsYet);
        }
        let root = match &request.unit {
            None => default_root(&all, &scope).ok_or(SpecError::NoUnits)?,
            Some(UnitRef::Code(code)) => {
                let code = code.trim();
                let unit = all
                    .iter()
                    .find(|u| u.code.eq_ignore_ascii_case(code))
                    .ok_or_else(|| SpecError::UnknownUnit(code.to_string()))?;
                if !scope.contains(unit.id) {
                    return Err(SpecError::OutOfScope(unit.code.clone()));
                }
                unit.id
            }
            Some(UnitRef::Id(id)) => {
                let unit = all
                    .iter()
                    .find(|u| u.id == *id)
                    .ok_or_else(|| SpecError::UnknownUnit(id.to_string()))?;
                if !scope.contains(unit.id) {
                    return Err(SpecError::OutOfScope(unit.code.clone()));
                }
                unit.id
            }
        };
        let root_unit = all.iter().find(|u| u.id == root).expect("found above");
        let period = match request.period.as_deref().map(str::trim) {
            None | Some("") => PeriodAsk::Year,
            Some(token) => PeriodAsk::Token(token),
        };
        let plan = match period {
            PeriodAsk::Token(_) => plan_for(conn, &scope, &all, root, year).await?,
            _ => None,
        };
        let plan_periods: Option<Vec<PlanPeriod>> = plan
            .as_ref()
            .map(|(_, ps)| ps.iter().map(PlanPeriod::from).collect());
        let ask = Ask {
            year,
            period,
            from: None,
            to: None,
            form: Some(&form_id),
        };
        let context = plan
            .as_ref()
            .zip(plan_periods.as_deref())
            .map(|((plan, _), periods)| PlanContext {
                form_id: &plan.form_id,
                periods,
            });
        let period = period_of(&ask, context.as_ref()).map_err(|problem| match problem {
            Problem::Token {
                token,
                plan_periods,
            } => {
                let names = if plan_periods.is_empty() {
                    String::new()
                } else {
                    let quoted: Vec<String> = plan_periods
                        .iter()
                        .map(|name| format!("“{name}”"))
                        .collect();
                    format!(" ({})", quoted.join(", "))
                };
                SpecError::Period(token, names)
            }
            // A token's days are never typed in: only the token can be refused.
            Problem::Form(_) | Problem::PlanPeriod(_) | Problem::EmptyRange { .. } => {
                SpecError::Period(
                    request
                        .period
                        .as_deref()
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    String::new(),
                )
            }
        })?;
        let period_label = if period.period_id.is_some() {
            format!("{} năm {year}", period.label)
        } else {
            format!(
                "{} ({} – {})",
                period.label,
                format_date(period.from),
                format_date(period.to)
            )
        };
        let units: Vec<i32> = subtree(&all, root)
            .into_iter()
            .filter(|id| scope.contains(*id))
            .collect();
        let file_stem = format!("sipas-{}-{}", slug(&root_unit.code), slug(&period.token))
            .trim_end_matches('-')
            .to_string();
        Ok(ExportSpec {
            query: ReportQuery {
                form_id: form_id.clone(),
                from: period.from,
                to: period.to,
                root: Some(root),
                kind: None,
                channel,
                period_id: period.period_id,
            },
            scope,
            title: format!("{SURVEY_TITLE} – {}", root_unit.name),
            period_label,
            unit_name: root_unit.name.clone(),
            unit_code: root_unit.code.clone(),
            form_title: form.form.title.clone(),
            units,
            file_stem,
        })
    }

    /// First and last day (included).
    pub fn days(&self) -> (NaiveDate, NaiveDate) {
        (self.query.from, self.query.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(slug("Quý I"), "quy-i");
        assert_eq!(slug("XL-GR"), "xl-gr");
        assert_eq!(slug("Đợt 2 (bổ sung)"), "dot-2-bo-sung");
    }
}
