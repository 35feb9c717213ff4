//! Staff area: the survey's results ("Kết quả khảo sát"). Everyone reads the figures of their
//! scope (unit accounts: their units and below; another unit's page is a 404). Figures come
//! from `crate::reports` over the rollups, so a page costs the same at 1,000 or 1,000,000
//! responses. Filters are read from the query string; a bad value is a 422 with the form and a
//! Vietnamese message, never a 500.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Datelike, Months, NaiveDate};
use diesel_async::AsyncPgConnection;

use super::{html, parse_id};
use crate::auth::Staff;
use crate::db::comments::{self, CommentRow, UnitChoice};
use crate::db::plans::{Period, PlanListing};
use crate::db::stats::{self as db_stats, Grain};
use crate::db::units::{Unit, UnitKind};
use crate::domain::channel::CHANNELS;
use crate::error::AppError;
use crate::forms::SectionRole;
use crate::periods::ResolvedPeriod as ComparedPeriod;
use crate::periods::{PlanPeriod, parse_period_token};
pub use crate::periods::{previous_period, previous_year};
use crate::plans::{MAX_YEAR, MIN_YEAR, current_year, format_date, parse_date};
use crate::reports::{self, Figures, Report, ReportQuery, UnitInfo, UnitReport};
use crate::selection::{self, PeriodAsk, PlanContext, Problem};
use crate::views::staff::FieldErrors;
use crate::views::staff::stats::{
    self as views, AttributeChoice, ChangeRow, ComparePage, Entry, FilterChoices, MAX_COMPARED,
    Overview, PeriodChoice, PeriodOption, Progress, Selection, StatsQuery, TrendRow, UnitPage,
    attribute_choices, quarter_label,
};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/stats").route(web::get().to(overview)))
        .service(super::resource("/stats/compare").route(web::get().to(compare)))
        .service(super::resource("/stats/units/{id}").route(web::get().to(unit_page)));
}

const MSG_YEAR: &str = "Năm không hợp lệ. Vui lòng nhập năm từ 2000 đến 2100, ví dụ 2026.";
const MSG_PERIOD: &str = "Đợt/kỳ không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_DATE: &str =
    "Ngày không hợp lệ. Vui lòng nhập theo dạng ngày/tháng/năm, ví dụ 27/11/2026.";
const MSG_DATE_YEARS: &str = "Ngày phải nằm trong các năm từ 2000 đến 2100.";
const MSG_CUSTOM_MISSING: &str =
    "Vui lòng nhập cả “Từ ngày” và “Đến ngày” khi chọn khoảng thời gian tự chọn.";
const MSG_RANGE: &str = "“Đến ngày” phải bằng hoặc sau “Từ ngày”.";
const MSG_UNIT: &str = "Đơn vị không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_KIND: &str = "Loại đơn vị không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_FORM: &str = "Mẫu phiếu không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_CHANNEL: &str = "Kênh không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_TREND: &str = "Cách xem xu hướng không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_ITEM: &str = "Tiêu chí không hợp lệ. Vui lòng chọn trong danh sách.";
const MSG_UNITS_FEW: &str = "Vui lòng chọn ít nhất hai đơn vị để so sánh.";
const MSG_PERIODS_FEW: &str = "Vui lòng chọn ít nhất hai kỳ khác nhau để so sánh.";
const MSG_PERIODS_BAD: &str = "Kỳ so sánh không hợp lệ. Vui lòng chọn trong danh sách.";

fn msg_plan_period(year: i32) -> String {
    format!(
        "Đợt khảo sát đã chọn không thuộc kế hoạch năm {year} của đơn vị. Vui lòng chọn lại \
         trong danh sách."
    )
}

fn msg_units_many() -> String {
    format!("Chỉ so sánh được tối đa {MAX_COMPARED} đơn vị cùng lúc.")
}

/// The filters as typed, checked on their own (the unit's scope, the form's existence and the
/// plan's periods are checked against the database by [`resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Typed {
    year: i32,
    period: PeriodChoice,
    /// Typed days (a custom range).
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    unit: Option<i32>,
    kind: Option<UnitKind>,
    form: Option<String>,
    channel: Option<String>,
    trend: Grain,
    /// Filters by respondent attributes as typed (`ITEM_CODE:code`), checked against the
    /// form by [`resolve`].
    attrs: Vec<String>,
}

fn year_ok(date: NaiveDate) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&date.year())
}

impl TryFrom<&StatsQuery> for Typed {
    type Error = FieldErrors;

    fn try_from(query: &StatsQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let year_text = query.year.trim();
        let year = if year_text.is_empty() {
            current_year()
        } else {
            match year_text.parse::<i32>() {
                Ok(y) if (MIN_YEAR..=MAX_YEAR).contains(&y) && year_text.len() == 4 => y,
                _ => {
                    errors.insert("year", MSG_YEAR.into());
                    current_year()
                }
            }
        };
        let mut date = |name: &'static str, text: &str| -> Option<NaiveDate> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            match parse_date(text) {
                Some(d) if year_ok(d) => Some(d),
                Some(_) => {
                    errors.insert(name, MSG_DATE_YEARS.into());
                    None
                }
                None => {
                    errors.insert(name, MSG_DATE.into());
                    None
                }
            }
        };
        let from = date("from", &query.from);
        let to = date("to", &query.to);
        let typed_dates = !query.from.trim().is_empty() || !query.to.trim().is_empty();
        let period = match PeriodChoice::parse(query.period.trim()) {
            // Days typed without choosing "custom": the days are what the user meant.
            Some(PeriodChoice::Year) if query.period.trim().is_empty() && typed_dates => {
                PeriodChoice::Custom
            }
            Some(p) => p,
            None => {
                errors.insert("period", MSG_PERIOD.into());
                PeriodChoice::Year
            }
        };
        if period == PeriodChoice::Custom {
            for (name, value, text) in [("from", from, &query.from), ("to", to, &query.to)] {
                if value.is_none() && text.trim().is_empty() {
                    errors.insert(name, MSG_CUSTOM_MISSING.into());
                }
            }
            if let (Some(f), Some(t)) = (from, to)
                && t < f
            {
                errors.insert("to", MSG_RANGE.into());
            }
        }
        let unit = match query.unit.trim() {
            "" => None,
            text => match parse_id(text) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.insert("unit", MSG_UNIT.into());
                    None
                }
            },
        };
        let kind = match query.kind.trim() {
            "" => None,
            text => {
                let kind = UnitKind::parse(text);
                if kind.is_none() {
                    errors.insert("kind", MSG_KIND.into());
                }
                kind
            }
        };
        let form = Some(query.form.trim().to_string()).filter(|f| !f.is_empty());
        let channel = match query.channel.trim() {
            "" => None,
            text if CHANNELS.contains(&text) => Some(text.to_string()),
            _ => {
                errors.insert("channel", MSG_CHANNEL.into());
                None
            }
        };
        let trend = match query.trend.trim() {
            "" | "month" => Grain::Month,
            "quarter" => Grain::Quarter,
            _ => {
                errors.insert("trend", MSG_TREND.into());
                Grain::Month
            }
        };
        if errors.is_empty() {
            Ok(Typed {
                year,
                period,
                from,
                to,
                unit,
                kind,
                form,
                channel,
                trend,
                attrs: query
                    .attrs
                    .iter()
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect(),
            })
        } else {
            Err(errors)
        }
    }
}

/// What the pages need to know about units and forms, loaded once per request.
struct Context {
    /// Every unit, by name (as `reports::build` orders them).
    units: Vec<Unit>,
    /// The units of the account's scope, in tree order.
    choices: Vec<UnitChoice>,
    /// (form id, title) of every form.
    forms: Vec<(String, String)>,
    default_form: String,
}

impl Context {
    async fn load(
        conn: &mut AsyncPgConnection,
        state: &AppState,
        staff: &Staff,
    ) -> Result<Context, AppError> {
        let all = Unit::all_by_name(conn).await?;
        let choices = comments::unit_choices(conn, &staff.scope).await?;
        let mut forms: Vec<(String, String)> = state
            .forms
            .form_ids()
            .into_iter()
            .filter_map(|id| {
                let version = state.forms.latest(id)?;
                let title = version
                    .form
                    .short_title
                    .clone()
                    .unwrap_or_else(|| version.form.title.clone());
                Some((id.to_string(), title))
            })
            .collect();
        forms.sort();
        let default_form = if forms.iter().any(|(id, _)| *id == state.config.default_form) {
            state.config.default_form.clone()
        } else {
            forms
                .iter()
                .map(|(id, _)| id.clone())
                .next()
                .unwrap_or_default()
        };
        Ok(Context {
            units: all,
            choices,
            forms,
            default_form,
        })
    }

    fn unit(&self, id: i32) -> Option<&Unit> {
        self.units.iter().find(|u| u.id == id)
    }

    /// The unit the overview starts from, as `reports::build` chooses it.
    fn default_root(&self, staff: &Staff) -> Option<i32> {
        crate::domain::tree::default_root(&self.units, &staff.scope)
    }

    /// The unit and every unit below it, within the account's scope.
    fn subtree_in_scope(&self, id: i32, staff: &Staff) -> Vec<i32> {
        crate::domain::tree::subtree_in_scope(&self.units, id, &staff.scope)
    }

    fn info(&self, id: i32) -> UnitInfo {
        let unit = self.unit(id);
        UnitInfo {
            id,
            code: unit.map(|u| u.code.clone()).unwrap_or_default(),
            name: unit.map(|u| u.name.clone()).unwrap_or_default(),
            kind: unit.map(|u| u.kind.clone()).unwrap_or_default(),
        }
    }
}

/// The survey plan of `year` for `unit` (its own or the nearest above it), with its periods.
async fn plan_for(
    conn: &mut AsyncPgConnection,
    staff: &Staff,
    context: &Context,
    unit: i32,
    year: i32,
) -> Result<Option<(PlanListing, Vec<Period>)>, AppError> {
    Ok(crate::app::selection::plan_for(conn, &staff.scope, &context.units, unit, year).await?)
}

/// The filters checked against the plan and the forms (`crate::selection`): what the figures
/// are about.
fn resolve(
    typed: &Typed,
    context: &Context,
    forms: &crate::forms::FormRegistry,
    plan: Option<&(PlanListing, Vec<Period>)>,
) -> Result<Selection, FieldErrors> {
    let year = typed.year;
    let (period, from, to) = match typed.period {
        PeriodChoice::Year => (PeriodAsk::Year, None, None),
        PeriodChoice::Quarter(q) => (PeriodAsk::Quarter(q), None, None),
        PeriodChoice::Custom => (PeriodAsk::Year, typed.from, typed.to),
        PeriodChoice::Plan(id) => (PeriodAsk::PlanPeriod(id), None, None),
        PeriodChoice::Recent(range) => (
            PeriodAsk::Recent {
                range,
                today: crate::domain::time::today_in_vietnam(),
            },
            None,
            None,
        ),
    };
    // The filter shows the installation's default form when none is chosen: that is the one
    // asked for, whatever the plan's.
    let form = typed
        .form
        .clone()
        .unwrap_or_else(|| context.default_form.clone());
    let ask = selection::Ask {
        year,
        period,
        from,
        to,
        form: Some(&form),
        respondents: &typed.attrs,
    };
    let plan_periods: Option<Vec<PlanPeriod>> =
        plan.map(|(_, ps)| ps.iter().map(PlanPeriod::from).collect());
    let plan_context = plan
        .zip(plan_periods.as_deref())
        .map(|((plan, _), periods)| PlanContext {
            form_id: &plan.form_id,
            periods,
        });
    let resolved = selection::resolve(
        &ask,
        plan_context.as_ref(),
        |id| {
            context
                .forms
                .iter()
                .any(|(form, _)| form == id)
                .then(|| forms.latest_form(id))
                .flatten()
        },
        &context.default_form,
    )
    .map_err(|problems| {
        let mut errors = FieldErrors::new();
        for problem in problems {
            match problem {
                Problem::Form(_) => errors.insert("form", MSG_FORM.into()),
                Problem::PlanPeriod(_) | Problem::Token { .. } => {
                    errors.insert("period", msg_plan_period(year))
                }
                Problem::EmptyRange { .. } => errors.insert("to", MSG_RANGE.into()),
                Problem::Respondents(problem) => errors.insert("attr", problem.to_string()),
            };
        }
        errors
    })?;
    let period_label = match typed.period {
        PeriodChoice::Custom => "Khoảng thời gian tự chọn".to_string(),
        PeriodChoice::Plan(id) => plan
            .and_then(|(_, periods)| periods.iter().find(|p| p.id == id))
            .map(|p| format!("{} năm {year}", p.name))
            .unwrap_or_default(),
        PeriodChoice::Year | PeriodChoice::Quarter(_) | PeriodChoice::Recent(_) => {
            resolved.period.label
        }
    };
    let form_title = context
        .forms
        .iter()
        .find(|(id, _)| *id == resolved.form_id)
        .map(|(_, title)| title.clone())
        .unwrap_or_default();
    Ok(Selection {
        year,
        period: typed.period,
        from: resolved.period.from,
        to: resolved.period.to,
        period_label,
        period_id: resolved.period.period_id,
        unit: typed.unit,
        kind: typed.kind,
        form: resolved.form_id,
        form_title,
        channel: typed.channel.clone(),
        trend: typed.trend,
        respondents: resolved.respondents,
    })
}

/// The respondent questions the filters offer: those of the form of the selection, else of
/// the form asked for, else of the default form.
fn attributes_of(
    state: &AppState,
    selection: Option<&Selection>,
    query: &StatsQuery,
    context: &Context,
) -> Vec<AttributeChoice> {
    let asked = query.form.trim();
    let form_id = selection.map_or_else(
        || {
            if context.forms.iter().any(|(id, _)| id == asked) {
                asked.to_string()
            } else {
                context.default_form.clone()
            }
        },
        |s| s.form.clone(),
    );
    state
        .forms
        .latest_form(&form_id)
        .map(attribute_choices)
        .unwrap_or_default()
}

/// The query as the filter form shows it: the year and the form that apply when left empty.
fn shown(query: &StatsQuery, year: i32, context: &Context) -> StatsQuery {
    let mut shown = query.clone();
    if shown.year.trim().is_empty() {
        shown.year = year.to_string();
    }
    if shown.form.trim().is_empty() {
        shown.form = context.default_form.clone();
    }
    shown
}

use crate::domain::time::start_of_day;

/// How many comments the pages show.
const LATEST_COMMENTS: i64 = 5;

/// The latest comments of the units `ids` (already limited to the account's scope) in the
/// selection's days.
async fn latest_comments(
    conn: &mut AsyncPgConnection,
    ids: Vec<i32>,
    selection: &Selection,
) -> Result<Vec<CommentRow>, AppError> {
    let (Some(from), Some(until)) = (
        start_of_day(selection.from),
        selection.to.succ_opt().and_then(start_of_day),
    ) else {
        return Ok(Vec::new());
    };
    Ok(comments::latest(conn, ids, from, until, LATEST_COMMENTS).await?)
}

fn comments_link(unit: i32, selection: &Selection) -> String {
    format!(
        "/staff/comments?{}",
        serde_urlencoded::to_string([
            ("unit", unit.to_string()),
            ("from", format_date(selection.from)),
            ("to", format_date(selection.to)),
        ])
        .unwrap_or_default()
    )
}

/// Which report to build with a selection's form and channel.
struct Ask {
    /// The unit whose sub-units are the rows (its total is the unit's figures).
    root: i32,
    /// Apply the selection's kind of unit to the rows.
    kind: bool,
    range: (NaiveDate, NaiveDate),
    period_id: Option<i32>,
}

async fn build(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    staff: &Staff,
    selection: &Selection,
    ask: Ask,
) -> Result<Report, AppError> {
    reports::build(
        conn,
        &state.forms,
        &staff.scope,
        &report_query(selection, &ask),
    )
    .await
    .map_err(AppError::from)
}

/// [`build`] for an earlier period compared with one ending on `later_to`: regrouped into
/// today's units by lineage when acts lie between them ([`reports::build_by_lineage`]).
async fn build_by_lineage(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    staff: &Staff,
    selection: &Selection,
    ask: Ask,
    later_to: NaiveDate,
) -> Result<Report, AppError> {
    reports::build_by_lineage(
        conn,
        &state.forms,
        &staff.scope,
        &report_query(selection, &ask),
        later_to,
    )
    .await
    .map_err(AppError::from)
}

/// The report query of a selection and an [`Ask`].
fn report_query(selection: &Selection, ask: &Ask) -> ReportQuery {
    ReportQuery {
        form_id: selection.form.clone(),
        from: ask.range.0,
        to: ask.range.1,
        root: Some(ask.root),
        kind: if ask.kind {
            selection.kind.map(|k| k.as_str().to_string())
        } else {
            None
        },
        channel: selection.channel.clone(),
        period_id: ask.period_id,
        respondents: selection.respondents.clone(),
    }
}

/// The overview's filters, checked and resolved for the account as the overview reads them:
/// what the overview and the printable report (`super::report`) are about.
pub(super) struct Resolved {
    /// The query as the filter form shows it.
    pub query: StatsQuery,
    pub errors: FieldErrors,
    /// The units of the account's scope (the unit filter's choices).
    pub choices: Vec<UnitChoice>,
    /// (form id, title) of every form.
    pub forms: Vec<(String, String)>,
    pub plan: Option<(PlanListing, Vec<Period>)>,
    /// The unit whose sub-units are the rows.
    pub root: i32,
    /// The root and every unit below it, within the account's scope.
    pub ids: Vec<i32>,
    /// `None` when the filters were refused (`errors` says why).
    pub selection: Option<Selection>,
    /// The respondent questions offered as filters.
    pub attributes: Vec<AttributeChoice>,
}

impl Resolved {
    pub(super) fn choices(&self) -> FilterChoices<'_> {
        FilterChoices {
            units: &self.choices,
            plan: self
                .plan
                .as_ref()
                .map(|(p, periods)| (p, periods.as_slice())),
            forms: &self.forms,
            attributes: &self.attributes,
        }
    }

    /// The report of the selection: the root's sub-units (of the chosen kind), ranked.
    pub(super) async fn report(
        &self,
        conn: &mut AsyncPgConnection,
        state: &AppState,
        staff: &Staff,
        selection: &Selection,
    ) -> Result<Report, AppError> {
        build(conn, state, staff, selection, self.ask(selection)).await
    }

    /// What the overview's report is about: the root's sub-units (of the chosen kind).
    fn ask(&self, selection: &Selection) -> Ask {
        Ask {
            root: self.root,
            kind: true,
            range: (selection.from, selection.to),
            period_id: selection.period_id,
        }
    }
}

pub(super) async fn resolve_overview(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    staff: &Staff,
    query: &StatsQuery,
) -> Result<Resolved, AppError> {
    let context = Context::load(conn, state, staff).await?;
    let (typed, mut errors) = match Typed::try_from(query) {
        Ok(typed) => (Some(typed), FieldErrors::new()),
        Err(errors) => (None, errors),
    };
    let chosen = typed.as_ref().and_then(|t| t.unit);
    if let Some(unit) = chosen
        && !context.choices.iter().any(|u| u.id == unit)
    {
        errors.insert("unit", MSG_UNIT.into());
    }
    let root = match chosen.filter(|u| context.choices.iter().any(|c| c.id == *u)) {
        Some(unit) => unit,
        None => context.default_root(staff).ok_or(AppError::NotFound)?,
    };
    let year = typed.as_ref().map_or_else(current_year, |t| t.year);
    let plan = plan_for(conn, staff, &context, root, year).await?;
    let shown_query = shown(query, year, &context);
    let selection = match (&typed, errors.is_empty()) {
        (Some(typed), true) => match resolve(typed, &context, &state.forms, plan.as_ref()) {
            Ok(selection) => Some(selection),
            Err(more) => {
                errors.extend(more);
                None
            }
        },
        _ => None,
    };
    let ids = context.subtree_in_scope(root, staff);
    let attributes = attributes_of(state, selection.as_ref(), query, &context);
    Ok(Resolved {
        attributes,
        query: shown_query,
        errors,
        choices: context.choices,
        forms: context.forms,
        plan,
        root,
        ids,
        selection,
    })
}

async fn overview(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = StatsQuery::from_query_string(request.query_string());
    let mut conn = state.pool.get().await?;
    let resolved = resolve_overview(&mut conn, &state, &staff, &query).await?;
    let choices = resolved.choices();
    let Some(selection) = &resolved.selection else {
        let page = Overview {
            query: &resolved.query,
            choices,
            selection: None,
            errors: &resolved.errors,
            report: None,
            progress: None,
            comments: &[],
            comments_link: String::new(),
            trend: &[],
        };
        return Ok(html(views::overview(&staff, &page), 422));
    };
    // The report, and the trend of the selection's total: the root and every unit below it,
    // as on its page.
    let (report, grain, trend_rows) = report_and_trend(
        &mut conn,
        &state,
        &staff,
        selection,
        resolved.ask(selection),
        resolved.ids.clone(),
    )
    .await?;
    let selection = &Selection {
        trend: grain,
        ..selection.clone()
    };
    let latest = latest_comments(&mut conn, resolved.ids.clone(), selection).await?;
    let progress = match (&resolved.plan, selection.period_id) {
        (Some((plan, periods)), Some(id)) => periods
            .iter()
            .find(|p| p.id == id)
            .map(|period| Progress { plan, period }),
        _ => None,
    };
    let page = Overview {
        query: &resolved.query,
        choices,
        selection: Some(selection),
        errors: &resolved.errors,
        report: Some(&report),
        progress,
        comments: &latest,
        comments_link: comments_link(resolved.root, selection),
        trend: &trend_rows,
    };
    Ok(html(views::overview(&staff, &page), 200))
}

/// The periods of a trend from `from` to `to` (first days).
fn trend_starts(from: NaiveDate, to: NaiveDate, grain: Grain) -> Vec<NaiveDate> {
    let step = match grain {
        Grain::Month => 1,
        Grain::Quarter => 3,
        Grain::Year => 12,
    };
    let first = match grain {
        Grain::Month => from.with_day(1),
        Grain::Quarter => NaiveDate::from_ymd_opt(from.year(), from.month0() / 3 * 3 + 1, 1),
        Grain::Year => NaiveDate::from_ymd_opt(from.year(), 1, 1),
    }
    .unwrap_or(from);
    let mut starts = Vec::new();
    let mut at = first;
    while at <= to && starts.len() < 600 {
        starts.push(at);
        match at.checked_add_months(Months::new(step)) {
            Some(next) => at = next,
            None => break,
        }
    }
    starts
}

/// The report `ask` asks for with the selection, and the trend of the units `ids` (the
/// report's root and every unit below it, in the account's scope): its index per month or
/// quarter over the whole years of the selection. Filtered figures over those very days come
/// from one read of the raw responses ([`reports::build_with_trend`]).
async fn report_and_trend(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    staff: &Staff,
    selection: &Selection,
    ask: Ask,
    ids: Vec<i32>,
) -> Result<(Report, Grain, Vec<TrendRow>), AppError> {
    let from = NaiveDate::from_ymd_opt(selection.from.year(), 1, 1).unwrap_or(selection.from);
    let to = NaiveDate::from_ymd_opt(selection.to.year(), 12, 31).unwrap_or(selection.to);
    let mut grain = selection.trend;
    if grain == Grain::Month && trend_starts(from, to, grain).len() > 36 {
        grain = Grain::Quarter;
    }
    if grain == Grain::Quarter && trend_starts(from, to, grain).len() > 40 {
        grain = Grain::Year;
    }
    let query = report_query(selection, &ask);
    let trend_query = ReportQuery {
        from,
        to,
        ..query.clone()
    };
    let starts = trend_starts(from, to, grain);
    // Across reorganisations the trend is read once, regrouped by lineage; otherwise as before
    // (with a filter by respondent attributes, one read for the report and the trend).
    let lineage_trend = async |conn: &mut AsyncPgConnection| {
        reports::trend_by_lineage(
            conn,
            &staff.scope,
            &trend_query,
            ask.root,
            &ids,
            grain,
            &starts,
            to,
        )
        .await
    };
    let (report, periods, by_lineage) = if query.respondents.is_empty() {
        let trend = async |conn: &mut AsyncPgConnection| {
            let mut by_lineage = lineage_trend(conn).await?;
            let periods = match &mut by_lineage {
                Some(t) if t.lineage.refused.is_none() => std::mem::take(&mut t.periods),
                _ => reports::trend(conn, &staff.scope, &trend_query, ids.clone(), grain).await?,
            };
            Ok::<_, sipas_app::Error>((periods, by_lineage))
        };
        // The report and the trend read different rollup rows: on a second connection when
        // one is free at once, both at the same time (each read is one PostgreSQL backend on
        // its own core), so the page waits for the longer of the two instead of their sum.
        // The rollups are brought up to date first, once: two reads refreshing at the same
        // time, one could read while the other still folds the newest responses.
        db_stats::refresh_for_read(conn).await?;
        let (report, (periods, by_lineage)) = match state.pool.try_get().await {
            Some(mut other) => tokio::try_join!(
                reports::build(conn, &state.forms, &staff.scope, &query),
                trend(&mut other)
            )?,
            None => (
                reports::build(conn, &state.forms, &staff.scope, &query).await?,
                trend(conn).await?,
            ),
        };
        (report, periods, by_lineage)
    } else {
        let by_lineage = lineage_trend(conn).await?;
        let (report, periods) = reports::build_with_trend(
            conn,
            &state.forms,
            &staff.scope,
            &query,
            ids,
            grain,
            from,
            to,
        )
        .await?;
        (report, periods, by_lineage)
    };
    let (regrouped, note) = match by_lineage {
        Some(t) => (t.regrouped, Some(t.lineage.text().to_string())),
        None => (Vec::new(), None),
    };
    let by_start: HashMap<NaiveDate, reports::PeriodFigures> = periods.into_iter().collect();
    let rows = starts
        .into_iter()
        .map(|start| {
            let (figures, withheld) = match by_start.get(&start) {
                Some(reports::PeriodFigures::Shown(figures)) => (figures.clone(), false),
                Some(reports::PeriodFigures::Withheld) => (Figures::default(), true),
                None => (Figures::default(), false),
            };
            let unit = reports::unit_report(&report.form.form, report.root.clone(), figures, None);
            TrendRow {
                label: views::period_label(start, grain, false),
                start,
                index: unit.index,
                responses: unit.responses,
                withheld,
                lineage: note.clone().filter(|_| regrouped.contains(&start)),
            }
        })
        .collect();
    Ok((report, grain, rows))
}

/// The query parameter asking a unit's page for its table by residence.
const RESIDENCE_PARAM: &str = "noi_cu_tru";

async fn unit_page(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    staff.require_unit(id)?;
    let query = StatsQuery::from_query_string(request.query_string());
    let mut conn = state.pool.get().await?;
    let context = Context::load(&mut conn, &state, &staff).await?;
    let unit_name = context.unit(id).ok_or(AppError::NotFound)?.name.clone();
    // The page is about the unit of the path: a unit or kind in the query is not used.
    let (typed, mut errors) = match Typed::try_from(&StatsQuery {
        unit: String::new(),
        kind: String::new(),
        ..query.clone()
    }) {
        Ok(typed) => (Some(typed), FieldErrors::new()),
        Err(errors) => (None, errors),
    };
    let year = typed.as_ref().map_or_else(current_year, |t| t.year);
    let plan = plan_for(&mut conn, &staff, &context, id, year).await?;
    let shown_query = shown(&query, year, &context);
    let selection = match &typed {
        Some(typed) => match resolve(typed, &context, &state.forms, plan.as_ref()) {
            Ok(selection) => Some(selection),
            Err(more) => {
                errors.extend(more);
                None
            }
        },
        None => None,
    };
    let attributes = attributes_of(&state, selection.as_ref(), &query, &context);
    let choices = FilterChoices {
        units: &context.choices,
        plan: plan.as_ref().map(|(p, periods)| (p, periods.as_slice())),
        forms: &context.forms,
        attributes: &attributes,
    };
    let Some(mut selection) = selection else {
        let page = UnitPage {
            query: &shown_query,
            choices,
            selection: None,
            errors: &errors,
            unit_name: &unit_name,
            unit_id: id,
            report: None,
            trend: &[],
            changes: &[],
            desks: &[],
            comments: &[],
            comments_link: String::new(),
            residence: None,
        };
        return Ok(html(views::unit_page(&staff, &page), 422));
    };
    let range = (selection.from, selection.to);
    let ids = context.subtree_in_scope(id, &staff);
    let (report, grain, trend_rows) = report_and_trend(
        &mut conn,
        &state,
        &staff,
        &selection,
        Ask {
            root: id,
            kind: false,
            range,
            period_id: selection.period_id,
        },
        ids.clone(),
    )
    .await?;
    selection.trend = grain;
    let mut changes = Vec::new();
    let (before, year_before) = (
        previous_period(range.0, range.1),
        previous_year(range.0, range.1),
    );
    let earlier = if before == year_before {
        vec![("Năm trước", before)]
    } else {
        vec![("Kỳ trước", before), ("Cùng kỳ năm trước", year_before)]
    };
    for (label, (from, to)) in earlier {
        let before = build_by_lineage(
            &mut conn,
            &state,
            &staff,
            &selection,
            Ask {
                root: id,
                kind: false,
                range: (from, to),
                period_id: None,
            },
            range.1,
        )
        .await?;
        let refused = before.lineage.as_ref().is_some_and(|l| l.refused.is_some());
        changes.push(ChangeRow {
            label: label.to_string(),
            from,
            to,
            index: before.total.index.filter(|_| !refused),
            responses: before.total.responses,
            change: reports::change(&report.total, &before.total).filter(|_| !refused),
            withheld: before.total.withheld,
            lineage: before.lineage.as_ref().map(|l| l.text().to_string()),
            refused,
        });
    }
    let desks = db_stats::desk_counts(&mut conn, id, range.0, range.1).await?;
    let latest = latest_comments(&mut conn, ids, &selection).await?;
    // The table by residence reads every response of the unit: at once only for a unit with
    // few enough of them, else when asked (`noi_cu_tru=1`, the link the page offers).
    let residence_asked =
        serde_urlencoded::from_str::<Vec<(String, String)>>(request.query_string())
            .unwrap_or_default()
            .iter()
            .any(|(k, v)| k == RESIDENCE_PARAM && v == "1");
    let residence_inline =
        residence_asked || report.total.responses <= crate::app::residence::TABLE_INLINE_MAX;
    let form_asks_residence = state
        .forms
        .latest(&selection.form)
        .is_some_and(|v| v.form.residence_item().is_some());
    let residence = if !form_asks_residence {
        None
    } else if !residence_inline {
        let query = request.query_string();
        Some(views::ResidenceShown::OnRequest {
            responses: report.total.responses,
            link: format!(
                "{}?{query}{}{RESIDENCE_PARAM}=1#noi-cu-tru",
                request.path(),
                if query.is_empty() { "" } else { "&" }
            ),
        })
    } else {
        let query = reports::ReportQuery {
            form_id: selection.form.clone(),
            from: range.0,
            to: range.1,
            root: Some(id),
            kind: None,
            channel: selection.channel.clone(),
            period_id: None,
            respondents: Default::default(),
        };
        Some(views::ResidenceShown::Table(
            crate::app::residence::by_residence(&mut conn, &state.forms, &staff.scope, &query)
                .await?
                .table,
        ))
    };
    let page = UnitPage {
        query: &shown_query,
        choices,
        selection: Some(&selection),
        errors: &errors,
        unit_name: &unit_name,
        unit_id: id,
        report: Some(&report),
        trend: &trend_rows,
        changes: &changes,
        desks: &desks,
        comments: &latest,
        comments_link: comments_link(id, &selection),
        residence,
    };
    Ok(html(views::unit_page(&staff, &page), 200))
}

/// The periods offered on the comparison page: the plan's periods, then the year and its
/// quarters, then the year before and its quarters.
fn period_options(year: i32, plan: Option<&(PlanListing, Vec<Period>)>) -> Vec<PeriodOption> {
    let mut options = Vec::new();
    if let Some((_, periods)) = plan {
        for p in periods {
            options.push((
                format!("p{}", p.id),
                format!(
                    "{} năm {year} ({} – {})",
                    p.name,
                    format_date(p.starts_on),
                    format_date(p.ends_on)
                ),
            ));
        }
    }
    for y in [year, year - 1] {
        options.push((y.to_string(), format!("Năm {y}")));
        for q in 1..=4 {
            options.push((format!("{y}-q{q}"), quarter_label(q, y)));
        }
    }
    options
}

/// The criteria of a form: (code, "TC1. text").
fn criteria_of(state: &AppState, form_id: &str) -> Vec<(String, String)> {
    let Some(version) = state.forms.latest(form_id) else {
        return Vec::new();
    };
    version
        .form
        .sections
        .iter()
        .filter(|s| s.role == SectionRole::Factor)
        .flat_map(|s| s.items.iter().filter(|i| i.is_choice()))
        .map(|i| {
            let text: String = if i.text.chars().count() > 90 {
                let mut cut: String = i.text.chars().take(89).collect();
                cut.push('…');
                cut
            } else {
                i.text.clone()
            };
            (i.code.clone(), format!("{}. {text}", i.code))
        })
        .collect()
}

async fn compare(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = StatsQuery::from_query_string(request.query_string());
    let by_period = !query.periods.is_empty();
    let mut conn = state.pool.get().await?;
    let context = Context::load(&mut conn, &state, &staff).await?;
    let (typed, mut errors) = match Typed::try_from(&StatsQuery {
        unit: String::new(),
        ..query.clone()
    }) {
        Ok(typed) => (Some(typed), FieldErrors::new()),
        Err(errors) => (None, errors),
    };

    // The units compared (units) or the unit whose periods are compared (periods). Any unit
    // outside the account's scope (or unknown) makes the whole page a 404.
    let mut units: Vec<i32> = Vec::new();
    let mut unit_error = false;
    let asked: Vec<&str> = if by_period {
        vec![query.unit.trim()]
    } else {
        query.units.iter().map(|u| u.trim()).collect()
    };
    for text in asked.iter().filter(|t| !t.is_empty()) {
        match parse_id(text) {
            Ok(id) => {
                staff.require_unit(id)?;
                context.unit(id).ok_or(AppError::NotFound)?;
                if !units.contains(&id) {
                    units.push(id);
                }
            }
            Err(_) => unit_error = true,
        }
    }
    if unit_error {
        errors.insert(if by_period { "unit" } else { "units" }, MSG_UNIT.into());
    }
    let anything_asked = by_period || !query.units.is_empty();
    if by_period && units.is_empty() && !unit_error {
        errors.insert("unit", MSG_UNIT.into());
    }
    if !by_period && anything_asked && !unit_error {
        if units.len() < 2 {
            errors.insert("units", MSG_UNITS_FEW.into());
        } else if units.len() > MAX_COMPARED {
            errors.insert("units", msg_units_many());
        }
    }
    let root = match (by_period, units.first()) {
        (true, Some(id)) => *id,
        _ => context.default_root(&staff).ok_or(AppError::NotFound)?,
    };
    let year = typed.as_ref().map_or_else(current_year, |t| t.year);
    let plan = plan_for(&mut conn, &staff, &context, root, year).await?;
    let shown_query = shown(&query, year, &context);
    let selection = match (&typed, errors.is_empty()) {
        (Some(typed), true) => match resolve(typed, &context, &state.forms, plan.as_ref()) {
            Ok(selection) => Some(selection),
            Err(more) => {
                errors.extend(more);
                None
            }
        },
        _ => None,
    };
    let attributes = attributes_of(&state, selection.as_ref(), &query, &context);
    let form_id = selection
        .as_ref()
        .map_or_else(|| context.default_form.clone(), |s| s.form.clone());
    let items = criteria_of(&state, &form_id);
    let item = match query.item.trim() {
        "" => items.first().map(|(code, _)| code.clone()),
        code if items.iter().any(|(c, _)| c == code) => Some(code.to_string()),
        _ => {
            errors.insert("item", MSG_ITEM.into());
            None
        }
    };
    let mut periods: Vec<ComparedPeriod> = Vec::new();
    if by_period {
        let plan_periods: Option<Vec<PlanPeriod>> = plan
            .as_ref()
            .map(|(_, ps)| ps.iter().map(PlanPeriod::from).collect());
        for token in &query.periods {
            match parse_period_token(token, plan_periods.as_deref()) {
                Some(p) if !periods.iter().any(|q| q.from == p.from && q.to == p.to) => {
                    periods.push(p)
                }
                Some(_) => {}
                None => {
                    errors.insert("periods", MSG_PERIODS_BAD.into());
                }
            }
        }
        if !errors.contains_key("periods") && periods.len() < 2 {
            errors.insert("periods", MSG_PERIODS_FEW.into());
        }
    }
    let options = period_options(year, plan.as_ref());
    let choices = FilterChoices {
        units: &context.choices,
        plan: plan.as_ref().map(|(p, periods)| (p, periods.as_slice())),
        forms: &context.forms,
        attributes: &attributes,
    };
    let mut status = if errors.is_empty() { 200 } else { 422 };
    let selection = selection.filter(|_| errors.is_empty() && anything_asked);

    // The reports, one per unit or period, relabelled by position for the pairwise tests.
    let mut totals: Vec<(String, UnitReport)> = Vec::new();
    // Per entry: the note of figures regrouped by lineage.
    let mut notes: Vec<Option<String>> = Vec::new();
    // The goals drawn: those of the first report's plan.
    let mut goals: Option<Vec<sipas_core::goals::Goal>> = None;
    if let Some(selection) = &selection {
        if by_period {
            // Each period compared with the latest: regrouped by lineage across the acts
            // between them.
            let later_to = periods.iter().map(|p| p.to).max().unwrap_or(selection.to);
            let mut refusal: Option<String> = None;
            for p in &periods {
                let report = build_by_lineage(
                    &mut conn,
                    &state,
                    &staff,
                    selection,
                    Ask {
                        root,
                        kind: false,
                        range: (p.from, p.to),
                        period_id: p.period_id,
                    },
                    later_to,
                )
                .await?;
                goals.get_or_insert_with(|| report.goals.clone());
                if let Some(reason) = report.lineage.as_ref().and_then(|l| l.refused.clone()) {
                    refusal.get_or_insert(reason);
                }
                notes.push(report.lineage.as_ref().and_then(|l| l.note.clone()));
                totals.push((p.label.clone(), report.total));
            }
            if let Some(reason) = refusal {
                errors.insert("periods", reason);
                status = 422;
                totals.clear();
                notes.clear();
            }
        } else {
            for id in &units {
                let report = build(
                    &mut conn,
                    &state,
                    &staff,
                    selection,
                    Ask {
                        root: *id,
                        kind: false,
                        range: (selection.from, selection.to),
                        period_id: selection.period_id,
                    },
                )
                .await?;
                goals.get_or_insert_with(|| report.goals.clone());
                totals.push((context.info(*id).name, report.total));
            }
        }
    }
    for (position, (_, total)) in totals.iter_mut().enumerate() {
        total.unit.id = position as i32;
    }
    let refs: Vec<&UnitReport> = totals.iter().map(|(_, t)| t).collect();
    let index_pairs = reports::compare_index(&refs);
    let item_comparison = item
        .as_deref()
        .filter(|_| refs.len() >= 2)
        .map(|code| reports::compare_item(&refs, code));
    let entries: Vec<Entry> = totals
        .iter()
        .zip(notes.iter().chain(std::iter::repeat(&None)))
        .map(|((label, report), note)| Entry {
            label: if by_period {
                format!("{} – {label}", context.info(root).name)
            } else {
                label.clone()
            },
            report,
            lineage: note.clone(),
        })
        .collect();
    let page = ComparePage {
        query: &shown_query,
        choices,
        errors: &errors,
        selection: selection.as_ref(),
        by_period,
        period_options: &options,
        entries: &entries,
        index_pairs: &index_pairs,
        items: &items,
        item: item.as_deref().zip(item_comparison.as_ref()),
        goals: goals.as_deref().unwrap_or_default(),
    };
    Ok(html(views::compare(&staff, &page), status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn typed(pairs: &str) -> Result<Typed, FieldErrors> {
        Typed::try_from(&StatsQuery::from_query_string(pairs))
    }

    #[test]
    fn filters_parse_or_say_what_is_wrong() {
        let t = typed("year=2025&period=q2&unit=7&kind=commune&form=x&channel=paper&trend=quarter")
            .unwrap();
        assert_eq!(t.year, 2025);
        assert_eq!(t.period, PeriodChoice::Quarter(2));
        assert_eq!(t.unit, Some(7));
        assert_eq!(t.kind, Some(UnitKind::Commune));
        assert_eq!(t.channel.as_deref(), Some("paper"));
        assert_eq!(t.trend, Grain::Quarter);
        // Days typed without "custom" are a custom range.
        let t = typed("from=01/02/2025&to=2025-03-15").unwrap();
        assert_eq!(t.period, PeriodChoice::Custom);
        assert_eq!((t.from, t.to), (Some(d(2025, 2, 1)), Some(d(2025, 3, 15))));
        let errors =
            typed("year=20x6&period=q9&unit=abc&kind=city&channel=fax&trend=week&from=31/02/2025")
                .unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["channel", "from", "kind", "period", "trend", "unit", "year"]
        );
        assert!(typed("year=1999").unwrap_err().contains_key("year"));
        assert!(typed("year=02026").unwrap_err().contains_key("year"));
        let errors = typed("period=custom").unwrap_err();
        assert_eq!(
            errors.get("from").map(String::as_str),
            Some(MSG_CUSTOM_MISSING)
        );
        let errors = typed("period=custom&from=02/03/2025&to=01/03/2025").unwrap_err();
        assert_eq!(errors.get("to").map(String::as_str), Some(MSG_RANGE));
        assert!(
            typed("from=01/01/1999&to=01/01/2025")
                .unwrap_err()
                .contains_key("from")
        );
    }

    #[test]
    fn earlier_periods_have_the_same_length() {
        // A quarter: the quarter before, and the same quarter a year earlier.
        assert_eq!(
            previous_period(d(2026, 4, 1), d(2026, 6, 30)),
            (d(2026, 1, 1), d(2026, 3, 31))
        );
        assert_eq!(
            previous_year(d(2026, 4, 1), d(2026, 6, 30)),
            (d(2025, 4, 1), d(2025, 6, 30))
        );
        // A year, and February of a leap year.
        assert_eq!(
            previous_period(d(2026, 1, 1), d(2026, 12, 31)),
            (d(2025, 1, 1), d(2025, 12, 31))
        );
        assert_eq!(
            previous_year(d(2024, 2, 1), d(2024, 2, 29)),
            (d(2023, 2, 1), d(2023, 2, 28))
        );
        assert_eq!(
            previous_year(d(2025, 2, 1), d(2025, 2, 28)),
            (d(2024, 2, 1), d(2024, 2, 29))
        );
        // Days: the same number of days just before.
        assert_eq!(
            previous_period(d(2026, 3, 10), d(2026, 3, 19)),
            (d(2026, 2, 28), d(2026, 3, 9))
        );
    }

    #[test]
    fn period_tokens() {
        let p = parse_period_token("2026-q2", None).unwrap();
        assert_eq!((p.from, p.to), (d(2026, 4, 1), d(2026, 6, 30)));
        assert_eq!(p.label, "Quý II/2026");
        let p = parse_period_token("2025", None).unwrap();
        assert_eq!(
            (p.from, p.to, p.label.as_str()),
            (d(2025, 1, 1), d(2025, 12, 31), "Năm 2025")
        );
        let p = parse_period_token("2024-02", None).unwrap();
        assert_eq!(p.to, d(2024, 2, 29));
        for bad in [
            "", "26", "2026-q5", "2026-13", "2026-1", "p1", "px", "1999", "2026-q",
        ] {
            assert_eq!(parse_period_token(bad, None), None, "{bad}");
        }
    }

    #[test]
    fn trend_periods_cover_the_range() {
        let months = trend_starts(d(2026, 1, 1), d(2026, 12, 31), Grain::Month);
        assert_eq!(months.len(), 12);
        assert_eq!(months[11], d(2026, 12, 1));
        let quarters = trend_starts(d(2025, 1, 1), d(2026, 12, 31), Grain::Quarter);
        assert_eq!(quarters.len(), 8);
        assert_eq!(quarters[4], d(2026, 1, 1));
    }
}
