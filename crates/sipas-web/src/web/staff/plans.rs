//! Staff area: the annual survey plans ("Kế hoạch khảo sát sự hài lòng năm YYYY").
//!
//! Everyone signed in reads: admins and viewers every plan, unit accounts the plans above their
//! units with only their own units' rows. Only admins change anything. A change by anyone else
//! is refused before anything is looked up: 403 for viewers (they may know the area, they may
//! not change it), 404 for unit accounts (as for every admin-only area). The new-plan page
//! answers 404 to everyone but admins.

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpResponse, web};
use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use sipas_core::goals::GoalInput;

use super::{Empty, html, parse_id, see_other};
use crate::app::{self, plans::PeriodClash};
use crate::auth::{CsrfForm, Staff};
use crate::db::plans::{NewPlan, Period, Plan, PlanListing, PlanOwner, Target};
use crate::error::AppError;
use crate::plans::{self as rules, PeriodSpec, Preset, Totals};
use crate::views::staff::FieldErrors;
use crate::views::staff::plans::{
    self as views, PeriodFormValues, PlanChoices, PlanFormValues, PlanPage, PlanSummary,
    TargetsEdit,
};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource("/plans")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(super::resource("/plans/new").route(web::get().to(new_form)))
    .service(super::resource("/plans/{id}").route(web::get().to(show)))
    .service(super::resource("/plans/{id}/progress").route(web::get().to(progress)))
    .service(super::resource("/plans/{id}/periods").route(web::post().to(add_period)))
    .service(
        super::resource("/plans/{id}/periods/{period}/remove").route(web::post().to(remove_period)),
    )
    .service(
        super::resource("/plans/{id}/periods/{period}/targets").route(web::post().to(save_targets)),
    )
    .service(super::resource("/plans/{id}/goals").route(web::post().to(save_goals)));
}

/// A change to plans: viewers 403, unit accounts 404, admins through.
fn require_plan_admin(staff: &Staff) -> Result<(), AppError> {
    staff.require_writer()?;
    staff.require_admin()
}

fn flash_text(ok: Option<&str>) -> Option<&'static str> {
    match ok? {
        "created" => Some("Đã lập kế hoạch khảo sát."),
        "targets" => Some("Đã lưu chỉ tiêu."),
        "goals" => Some("Đã lưu mục tiêu về chỉ số hài lòng."),
        "goals_unchanged" => Some("Mục tiêu không thay đổi."),
        "unchanged" => Some("Chỉ tiêu không thay đổi."),
        "period_added" => Some("Đã thêm đợt khảo sát."),
        "period_removed" => Some("Đã xóa đợt khảo sát."),
        _ => None,
    }
}

#[derive(Deserialize)]
struct FlashQuery {
    ok: Option<String>,
}

/// "sipas-1001-dich-vu — Phiếu khảo sát ...": a form's id and its title.
fn form_label(state: &AppState, form_id: &str) -> String {
    match state.forms.latest(form_id) {
        Some(version) => {
            let form = &version.form;
            let title = form.short_title.as_deref().unwrap_or(&form.title);
            format!("{title} ({form_id})")
        }
        None => form_id.to_string(),
    }
}

/// The index of the period whose progress a page shows by default.
fn running_index(periods: &[Period]) -> Option<usize> {
    let ranges: Vec<_> = periods.iter().map(|p| (p.starts_on, p.ends_on)).collect();
    rules::running_period(&ranges, rules::today_in_vietnam())
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    query: web::Query<FlashQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let plans = Plan::list_for_scope(&mut conn, &staff.scope).await?;
    let mut loaded = Vec::with_capacity(plans.len());
    for plan in &plans {
        let periods = Period::for_plan(&mut conn, plan.id).await?;
        let running = match running_index(&periods) {
            Some(i) => {
                let rows = Plan::progress(&mut conn, plan.id, periods[i].id, &staff.scope).await?;
                let totals = Totals::of(rows.iter().map(|r| (r.received, r.target.map(i64::from))));
                Some((i, totals))
            }
            None => None,
        };
        loaded.push((periods, running));
    }
    let summaries: Vec<PlanSummary> = plans
        .iter()
        .zip(&loaded)
        .map(|(plan, (periods, running))| PlanSummary {
            plan,
            form_label: form_label(&state, &plan.form_id),
            periods,
            running: running.map(|(i, totals)| (&periods[i], totals)),
        })
        .collect();
    Ok(html(
        views::list(&staff, &summaries, flash_text(query.ok.as_deref())),
        200,
    ))
}

// ---------------------------------------------------------------------------------------------
// Creating a plan

#[derive(Debug, Deserialize)]
struct PlanInput {
    #[serde(default)]
    year: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    form_id: String,
    #[serde(default)]
    margin: String,
    #[serde(default)]
    preset: String,
}

impl PlanInput {
    fn values(&self) -> PlanFormValues {
        PlanFormValues {
            year: self.year.clone(),
            title: self.title.clone(),
            unit_id: self.unit_id.clone(),
            form_id: self.form_id.clone(),
            margin: self.margin.clone(),
            preset: self.preset.clone(),
        }
    }
}

/// A new plan, checked.
struct ValidPlan {
    unit_id: i32,
    year: i16,
    title: String,
    form_id: String,
    margin: f64,
    periods: Vec<PeriodSpec>,
}

/// What a plan is checked against: the units that may own one and the forms in use.
struct PlanContext<'a> {
    owners: &'a [PlanOwner],
    form_ids: &'a [&'a str],
}

impl TryFrom<(&PlanInput, &PlanContext<'_>)> for ValidPlan {
    type Error = FieldErrors;

    fn try_from((input, context): (&PlanInput, &PlanContext<'_>)) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let year = match input.year.trim().parse::<i32>() {
            Ok(y) if (rules::MIN_YEAR..=rules::MAX_YEAR).contains(&y) => Some(y),
            _ => {
                errors.insert(
                    "year",
                    format!(
                        "Vui lòng nhập năm từ {} đến {}.",
                        rules::MIN_YEAR,
                        rules::MAX_YEAR
                    ),
                );
                None
            }
        };
        let title = input.title.trim();
        if title.is_empty() {
            errors.insert("title", "Vui lòng nhập tên kế hoạch.".into());
        } else if title.chars().count() > 200 {
            errors.insert("title", "Tên kế hoạch dài quá 200 ký tự.".into());
        }
        let unit_id = input
            .unit_id
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|id| context.owners.iter().any(|o| o.id == *id));
        if unit_id.is_none() {
            errors.insert(
                "unit_id",
                "Vui lòng chọn đơn vị cấp tỉnh hoặc cấp huyện.".into(),
            );
        }
        let form_id = input.form_id.trim();
        if !context.form_ids.contains(&form_id) {
            errors.insert("form_id", "Vui lòng chọn một phiếu khảo sát.".into());
        }
        let margin = rules::parse_decimal(&input.margin)
            .filter(|e| (rules::MIN_MARGIN..=rules::MAX_MARGIN).contains(e));
        if margin.is_none() {
            errors.insert(
                "margin",
                "Sai số e phải là số từ 0,01 đến 0,2 (ví dụ 0,05).".into(),
            );
        }
        let preset = Preset::parse(input.preset.trim());
        if preset.is_none() {
            errors.insert("preset", "Vui lòng chọn cách chia đợt khảo sát.".into());
        }
        match (year, unit_id, margin, preset) {
            (Some(year), Some(unit_id), Some(margin), Some(preset)) if errors.is_empty() => {
                Ok(ValidPlan {
                    unit_id,
                    year: year as i16,
                    title: title.to_string(),
                    form_id: form_id.to_string(),
                    margin,
                    periods: preset.periods(year),
                })
            }
            _ => Err(errors),
        }
    }
}

fn plan_choices(state: &AppState, owners: &[PlanOwner]) -> PlanChoices {
    let kind = |k: &str| match k {
        "province" => "cấp tỉnh",
        _ => "cấp huyện",
    };
    PlanChoices {
        units: owners
            .iter()
            .map(|o| (o.id.to_string(), format!("{} ({})", o.name, kind(&o.kind))))
            .collect(),
        forms: state
            .forms
            .form_ids()
            .into_iter()
            .map(|id| (id.to_string(), form_label(state, id)))
            .collect(),
    }
}

fn new_plan_page(
    state: &AppState,
    staff: &Staff,
    owners: &[PlanOwner],
    values: &PlanFormValues,
    errors: &FieldErrors,
    status: u16,
) -> HttpResponse {
    let choices = plan_choices(state, owners);
    html(views::new_plan(staff, values, &choices, errors), status)
}

async fn new_form(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut conn = state.pool.get().await?;
    let owners = Plan::owners(&mut conn).await?;
    let year = rules::current_year();
    // The district by default; the installation's default form (the district's), else the first.
    let district = owners
        .iter()
        .find(|o| o.kind == "district")
        .or(owners.first());
    let form_ids = state.forms.form_ids();
    let form_id = ["sipas-1001-dich-vu"]
        .into_iter()
        .find(|f| form_ids.contains(f))
        .or(form_ids.first().copied())
        .unwrap_or("");
    let values = PlanFormValues {
        year: year.to_string(),
        title: rules::default_title(year),
        unit_id: district.map(|d| d.id.to_string()).unwrap_or_default(),
        form_id: form_id.to_string(),
        margin: rules::format_decimal(rules::DEFAULT_MARGIN),
        preset: Preset::Quarters.as_str().to_string(),
    };
    Ok(new_plan_page(
        &state,
        &staff,
        &owners,
        &values,
        &FieldErrors::new(),
        200,
    ))
}

fn duplicate_plan_message(year: i16) -> String {
    format!("Đơn vị này đã có kế hoạch khảo sát năm {year}.")
}

async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    CsrfForm(input): CsrfForm<PlanInput>,
) -> Result<HttpResponse, AppError> {
    require_plan_admin(&staff)?;
    let mut conn = state.pool.get().await?;
    let owners = Plan::owners(&mut conn).await?;
    let form_ids = state.forms.form_ids();
    let context = PlanContext {
        owners: &owners,
        form_ids: &form_ids,
    };
    let refuse = |errors: FieldErrors| {
        Ok(new_plan_page(
            &state,
            &staff,
            &owners,
            &input.values(),
            &errors,
            422,
        ))
    };
    let plan = match ValidPlan::try_from((&input, &context)) {
        Ok(plan) => plan,
        Err(errors) => return refuse(errors),
    };
    let duplicate = || {
        let mut errors = FieldErrors::new();
        errors.insert("year", duplicate_plan_message(plan.year));
        errors
    };
    if Plan::exists_for(&mut conn, plan.unit_id, plan.year).await? {
        return refuse(duplicate());
    }
    let new = NewPlan {
        unit_id: plan.unit_id,
        year: plan.year,
        title: &plan.title,
        form_id: &plan.form_id,
        margin_of_error: plan.margin,
    };
    match app::plans::create(&mut conn, &staff, &new, &plan.periods).await {
        Ok(created) => Ok(see_other(&format!(
            "/staff/plans/{}?ok=created",
            created.id
        ))),
        // A plan of this unit and year made at the same moment.
        Err(DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => refuse(duplicate()),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The plan page

/// The plan `id` as the staff member may see it, else 404.
async fn visible_plan(
    conn: &mut AsyncPgConnection,
    staff: &Staff,
    id: &str,
) -> Result<PlanListing, AppError> {
    let id = parse_id(id)?;
    Plan::find_for_scope(conn, id, &staff.scope)
        .await?
        .ok_or(AppError::NotFound)
}

/// What a plan page needs besides the forms' typed values.
struct Loaded {
    plan: PlanListing,
    periods: Vec<Period>,
    units: Vec<crate::db::plans::PlanUnit>,
    targets: Vec<Target>,
    goals: Vec<sipas_core::goals::Goal>,
    running: Option<(usize, Vec<crate::db::plans::ProgressRow>)>,
    /// Reorganisation acts falling inside a period of the plan.
    spanning: Vec<crate::db::reorganisations::SpanningAct>,
}

async fn load(
    conn: &mut AsyncPgConnection,
    staff: &Staff,
    plan: PlanListing,
) -> Result<Loaded, AppError> {
    let periods = Period::for_plan(conn, plan.id).await?;
    let units = Plan::units(conn, plan.id, &staff.scope).await?;
    let targets = Plan::targets(conn, plan.id).await?;
    let goals = Plan::goals(conn, plan.id).await?;
    let running = match running_index(&periods) {
        Some(i) => Some((
            i,
            Plan::progress(conn, plan.id, periods[i].id, &staff.scope).await?,
        )),
        None => None,
    };
    let spanning = crate::db::reorganisations::spanning_plan(conn, plan.id).await?;
    Ok(Loaded {
        spanning,
        plan,
        periods,
        units,
        targets,
        goals,
        running,
    })
}

/// What a plan page shows besides the stored data: a notice, or a refused form.
#[derive(Default)]
struct PageState<'a> {
    notice: Option<&'a str>,
    period_form: PeriodFormValues,
    period_errors: FieldErrors,
    targets_edit: Option<TargetsEdit>,
    /// The goals form as typed, with its problems, when it was refused.
    goals_edit: Option<(Vec<GoalInput>, FieldErrors)>,
}

fn render_plan(
    state: &AppState,
    staff: &Staff,
    loaded: &Loaded,
    page_state: PageState<'_>,
    status: u16,
) -> HttpResponse {
    let page = PlanPage {
        plan: &loaded.plan,
        form_label: form_label(state, &loaded.plan.form_id),
        periods: &loaded.periods,
        units: &loaded.units,
        targets: &loaded.targets,
        running: loaded
            .running
            .as_ref()
            .map(|(i, rows)| (&loaded.periods[*i], rows.as_slice())),
        period_form: page_state.period_form,
        period_errors: page_state.period_errors,
        targets_edit: page_state.targets_edit,
        goals: &loaded.goals,
        goals_edit: page_state.goals_edit,
        flash: page_state.notice,
        spanning: &loaded.spanning,
    };
    html(views::plan_page(staff, &page), status)
}

async fn show(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<FlashQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let plan = visible_plan(&mut conn, &staff, &path).await?;
    let loaded = load(&mut conn, &staff, plan).await?;
    Ok(render_plan(
        &state,
        &staff,
        &loaded,
        PageState {
            notice: flash_text(query.ok.as_deref()),
            ..PageState::default()
        },
        200,
    ))
}

#[derive(Deserialize)]
struct ProgressQuery {
    period: Option<String>,
}

async fn progress(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<ProgressQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let plan = visible_plan(&mut conn, &staff, &path).await?;
    let periods = Period::for_plan(&mut conn, plan.id).await?;
    let index = match query.period.as_deref().map(str::trim) {
        None | Some("") => running_index(&periods),
        Some(text) => {
            let id = parse_id(text)?;
            Some(
                periods
                    .iter()
                    .position(|p| p.id == id)
                    .ok_or(AppError::NotFound)?,
            )
        }
    };
    let rows = match index {
        Some(i) => Some(Plan::progress(&mut conn, plan.id, periods[i].id, &staff.scope).await?),
        None => None,
    };
    let current = index.zip(rows.as_deref()).map(|(i, r)| (&periods[i], r));
    Ok(html(
        views::progress_page(
            &staff,
            &plan,
            &form_label(&state, &plan.form_id),
            &periods,
            current,
        ),
        200,
    ))
}

// ---------------------------------------------------------------------------------------------
// Periods

#[derive(Debug, Deserialize)]
struct PeriodInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
}

impl PeriodInput {
    fn values(&self) -> PeriodFormValues {
        PeriodFormValues {
            name: self.name.clone(),
            starts_on: self.starts_on.clone(),
            ends_on: self.ends_on.clone(),
        }
    }
}

const DATE_FORMAT_MESSAGE: &str =
    "Ngày không hợp lệ. Vui lòng nhập theo dạng dd/mm/yyyy, ví dụ 01/04/2026.";

impl PeriodInput {
    /// The period as typed, for a plan of `year` (overlaps are checked against the stored
    /// periods afterwards).
    fn validate(&self, year: i16) -> Result<PeriodSpec, FieldErrors> {
        let input = self;
        let mut errors = FieldErrors::new();
        let name = input.name.trim();
        if name.is_empty() {
            errors.insert("name", "Vui lòng nhập tên đợt.".into());
        } else if name.chars().count() > 100 {
            errors.insert("name", "Tên đợt dài quá 100 ký tự.".into());
        }
        let mut date = |field: &'static str, text: &str| match rules::parse_date(text) {
            None => {
                errors.insert(field, DATE_FORMAT_MESSAGE.into());
                None
            }
            Some(d) if chrono::Datelike::year(&d) != i32::from(year) => {
                errors.insert(field, format!("Ngày phải thuộc năm {year} của kế hoạch."));
                None
            }
            Some(d) => Some(d),
        };
        let starts_on = date("starts_on", &input.starts_on);
        let ends_on = date("ends_on", &input.ends_on);
        if let (Some(start), Some(end)) = (starts_on, ends_on)
            && end < start
        {
            errors.insert(
                "ends_on",
                "Ngày kết thúc phải bằng hoặc sau ngày bắt đầu.".into(),
            );
        }
        match (starts_on, ends_on) {
            (Some(starts_on), Some(ends_on)) if errors.is_empty() => Ok(PeriodSpec {
                name: name.to_string(),
                starts_on,
                ends_on,
            }),
            _ => Err(errors),
        }
    }
}

/// What the period form says of each clash.
fn clash_errors(found: &[PeriodClash]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for clash in found {
        match clash {
            PeriodClash::SameName => {
                errors.insert("name", "Kế hoạch đã có đợt mang tên này.".into());
            }
            PeriodClash::Overlaps(other) => {
                errors.insert(
                    "starts_on",
                    format!(
                        "Thời gian trùng với đợt “{}” ({} – {}).",
                        other.name,
                        rules::format_date(other.starts_on),
                        rules::format_date(other.ends_on)
                    ),
                );
            }
        }
    }
    errors
}

async fn add_period(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    CsrfForm(input): CsrfForm<PeriodInput>,
) -> Result<HttpResponse, AppError> {
    require_plan_admin(&staff)?;
    let mut conn = state.pool.get().await?;
    let plan = visible_plan(&mut conn, &staff, &path).await?;
    let plan_id = plan.id;
    let errors = match input.validate(plan.year) {
        Err(errors) => errors,
        Ok(spec) => match app::plans::add_period(&mut conn, &staff, plan_id, &spec).await {
            Ok(Some(Ok(period))) => {
                return Ok(see_other(&format!(
                    "/staff/plans/{plan_id}?ok=period_added#period-{}",
                    period.id
                )));
            }
            Ok(Some(Err(found))) => clash_errors(&found),
            Ok(None) => return Err(AppError::NotFound),
            // A period of this name added at the same moment.
            Err(DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                clash_errors(&[PeriodClash::SameName])
            }
            Err(e) => return Err(e.into()),
        },
    };
    let loaded = load(&mut conn, &staff, plan).await?;
    Ok(render_plan(
        &state,
        &staff,
        &loaded,
        PageState {
            period_form: input.values(),
            period_errors: errors,
            ..PageState::default()
        },
        422,
    ))
}

async fn remove_period(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    require_plan_admin(&staff)?;
    let (plan_id, period_id) = path.into_inner();
    let period_id = parse_id(&period_id)?;
    let mut conn = state.pool.get().await?;
    let plan = visible_plan(&mut conn, &staff, &plan_id).await?;
    if !app::plans::remove_period(&mut conn, &staff, plan.id, period_id).await? {
        return Err(AppError::NotFound);
    }
    Ok(see_other(&format!(
        "/staff/plans/{}?ok=period_removed#periods",
        plan.id
    )))
}

// ---------------------------------------------------------------------------------------------
// Targets

/// A period's targets table as checked: for each unit posted, its new target (None: cleared).
struct ValidTargets(Vec<(i32, Option<Target>)>);

/// What a targets table is checked against.
struct TargetsContext<'a> {
    period_id: i32,
    unit_ids: &'a [i32],
    margin: f64,
}

/// The typed (target, expected dossiers) of each unit of the table that was posted.
fn typed_targets(pairs: &[(String, String)], unit_ids: &[i32]) -> HashMap<i32, (String, String)> {
    let mut typed: HashMap<i32, (String, String)> = HashMap::new();
    for (key, value) in pairs {
        let (field, id) = if let Some(id) = key.strip_prefix("target_") {
            (0, id)
        } else if let Some(id) = key.strip_prefix("dossiers_") {
            (1, id)
        } else {
            continue;
        };
        let Ok(id) = id.parse::<i32>() else { continue };
        if !unit_ids.contains(&id) {
            continue;
        }
        let entry = typed.entry(id).or_default();
        if field == 0 {
            entry.0 = value.clone();
        } else {
            entry.1 = value.clone();
        }
    }
    typed
}

impl TryFrom<(&HashMap<i32, (String, String)>, &TargetsContext<'_>)> for ValidTargets {
    type Error = BTreeMap<i32, String>;

    fn try_from(
        (typed, context): (&HashMap<i32, (String, String)>, &TargetsContext<'_>),
    ) -> Result<Self, Self::Error> {
        let mut errors = BTreeMap::new();
        let mut rows = Vec::new();
        for unit_id in context.unit_ids {
            let Some((target_text, dossiers_text)) = typed.get(unit_id) else {
                continue;
            };
            let target = rules::parse_whole(target_text);
            let dossiers = rules::parse_whole(dossiers_text);
            let mut problems = Vec::new();
            if let Err(e) = dossiers {
                problems.push(format!("Số hồ sơ dự kiến: {}", e.message()));
            }
            // A typed target is not used when N is given, but a wrong one is still pointed out.
            if let Err(e) = target {
                problems.push(format!("Chỉ tiêu: {}", e.message()));
            }
            if !problems.is_empty() {
                errors.insert(*unit_id, problems.join(" "));
                continue;
            }
            let value = match (dossiers, target) {
                (Ok(Some(n)), _) => Some(Target {
                    period_id: context.period_id,
                    unit_id: *unit_id,
                    target: rules::sample_size(n, context.margin) as i32,
                    expected_dossiers: Some(n as i32),
                }),
                (_, Ok(Some(t))) => Some(Target {
                    period_id: context.period_id,
                    unit_id: *unit_id,
                    target: t as i32,
                    expected_dossiers: None,
                }),
                _ => None,
            };
            rows.push((*unit_id, value));
        }
        if errors.is_empty() {
            Ok(ValidTargets(rows))
        } else {
            Err(errors)
        }
    }
}

async fn save_targets(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    require_plan_admin(&staff)?;
    let (plan_id, period_id) = path.into_inner();
    let period_id = parse_id(&period_id)?;
    let mut conn = state.pool.get().await?;
    let plan = visible_plan(&mut conn, &staff, &plan_id).await?;
    let periods = Period::for_plan(&mut conn, plan.id).await?;
    let period = periods
        .into_iter()
        .find(|p| p.id == period_id)
        .ok_or(AppError::NotFound)?;
    let unit_ids: Vec<i32> = Plan::units(&mut conn, plan.id, &staff.scope)
        .await?
        .iter()
        .map(|u| u.id)
        .collect();
    let typed = typed_targets(&pairs, &unit_ids);
    let context = TargetsContext {
        period_id: period.id,
        unit_ids: &unit_ids,
        margin: plan.margin_of_error,
    };
    let valid = match ValidTargets::try_from((&typed, &context)) {
        Ok(valid) => valid,
        Err(errors) => {
            let loaded = load(&mut conn, &staff, plan).await?;
            let edit = TargetsEdit {
                period_id: period.id,
                values: typed,
                errors,
            };
            return Ok(render_plan(
                &state,
                &staff,
                &loaded,
                PageState {
                    targets_edit: Some(edit),
                    ..PageState::default()
                },
                422,
            ));
        }
    };
    let plan_id = plan.id;
    let changed = app::plans::save_targets(&mut conn, &staff, plan_id, &period, valid.0)
        .await?
        .ok_or(AppError::NotFound)?;
    let ok = if changed { "targets" } else { "unchanged" };
    Ok(see_other(&format!(
        "/staff/plans/{plan_id}?ok={ok}#period-{}",
        period.id
    )))
}

/// The goals form's rows as typed (missing fields read as empty).
fn typed_goals(pairs: &[(String, String)]) -> Vec<GoalInput> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    sipas_core::goals::FIELDS
        .iter()
        .map(|[label, percent, basis]| GoalInput {
            label: get(label),
            percent: get(percent),
            basis: get(basis),
        })
        .collect()
}

/// `POST /staff/plans/{id}/goals`: replaces the plan's satisfaction goals (admins).
async fn save_goals(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    require_plan_admin(&staff)?;
    let mut conn = state.pool.get().await?;
    let plan = visible_plan(&mut conn, &staff, &path).await?;
    let typed = typed_goals(&pairs);
    let goals = match sipas_core::goals::parse(&typed) {
        Ok(goals) => goals,
        Err(errors) => {
            let loaded = load(&mut conn, &staff, plan).await?;
            return Ok(render_plan(
                &state,
                &staff,
                &loaded,
                PageState {
                    goals_edit: Some((typed, errors)),
                    ..PageState::default()
                },
                422,
            ));
        }
    };
    let plan_id = plan.id;
    let changed = app::plans::save_goals(&mut conn, &staff, plan_id, &goals)
        .await?
        .ok_or(AppError::NotFound)?;
    let ok = if changed { "goals" } else { "goals_unchanged" };
    Ok(see_other(&format!("/staff/plans/{plan_id}?ok={ok}#goals")))
}
