//! The staff side: sign-in and sign-out, the dashboard, one's own password, and the
//! administration areas (each in its own module with its own `routes`).

mod accounts;
mod alerts;
mod audit;
pub(crate) mod codes;
mod comments;
mod desks;
mod exports;
mod flags;
mod paper;
mod plans;
mod publish;
mod reorganisations;
pub(crate) mod report;
mod stats;
mod tokens;
mod unit_import;
mod units;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;

use super::AppState;
use crate::auth::{self, CsrfForm, Staff, password, throttle};
use crate::db::accounts::Account;
use crate::error::AppError;
use crate::views::staff::{self as views, FieldErrors};

/// After a staff request that may change something (anything but GET, HEAD and OPTIONS), this
/// instance's desk directory stops trusting what it remembers, before the answer leaves: the
/// next citizen's page here already sees a deactivated unit or a new QR code. Other instances
/// hear of the change from PostgreSQL (`crate::desk_directory`).
async fn forget_desks_after_changes(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody + 'static>,
    actix_web::Error,
> {
    use actix_web::http::Method;
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let state = request
        .app_data::<web::Data<crate::web::AppState>>()
        .cloned();
    let response = next.call(request).await;
    if changes && let Some(state) = state {
        state.desks.invalidate();
    }
    response
}

/// The routes of the staff side. Everything under /staff needs a signed-in account (the
/// [`Staff`] extractor); every state change needs the form's CSRF token and a same-site Origin.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let origin = || actix_web::middleware::from_fn(auth::check_origin);
    let no_nul = || actix_web::middleware::from_fn(auth::refuse_nul_in_query);
    cfg.service(
        web::resource("/sign-in")
            .wrap(origin())
            .wrap(no_nul())
            .route(web::get().to(sign_in_page))
            .route(web::post().to(sign_in)),
    )
    .service(
        web::resource("/sign-out")
            .wrap(origin())
            .route(web::post().to(sign_out)),
    )
    .service(
        web::scope("/staff")
            .wrap(origin())
            .wrap(no_nul())
            .wrap(actix_web::middleware::from_fn(forget_desks_after_changes))
            .service(dashboard)
            .service(password_page)
            .service(change_password)
            .configure(unit_import::routes)
            .configure(units::routes)
            .configure(reorganisations::routes)
            .configure(desks::routes)
            .configure(accounts::routes)
            .configure(plans::routes)
            .configure(paper::routes)
            .configure(audit::routes)
            .configure(flags::routes)
            .configure(comments::routes)
            .configure(exports::routes)
            .configure(stats::routes)
            .configure(tokens::routes)
            .configure(codes::routes)
            .configure(publish::routes)
            .configure(report::routes)
            .configure(alerts::routes)
            .default_service(web::to(super::not_found)),
    );
}

/// Where to go after signing in: only a path of our own staff area, in visible ASCII (what a
/// header may hold: no line breaks, no spaces, nothing to be re-encoded).
fn safe_next(next: &str) -> &str {
    if next.starts_with("/staff")
        && !next.contains('\\')
        && next.len() <= 2000
        && next.bytes().all(|b| b.is_ascii_graphic())
    {
        next
    } else {
        "/staff"
    }
}

/// A redirect. A location that cannot be a header (never one of ours) goes to the staff home
/// rather than failing the request.
fn see_other(location: &str) -> HttpResponse {
    let location = actix_web::http::header::HeaderValue::from_str(location)
        .unwrap_or_else(|_| actix_web::http::header::HeaderValue::from_static("/staff"));
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn sign_in_page(
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let csrf = auth::csrf_token(&session)?;
    let next = safe_next(query.next.as_deref().unwrap_or(""));
    Ok(html(views::sign_in(&csrf, "", next, None), 200))
}

fn html(markup: maud::Markup, status: u16) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a valid status"))
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(markup.into_string())
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub const MSG_WRONG_CREDENTIALS: &str = "Tên đăng nhập hoặc mật khẩu không đúng.";
pub const MSG_LOCKED: &str =
    "Đăng nhập tạm thời bị khóa do nhập sai nhiều lần. Vui lòng thử lại sau 15 phút.";

async fn sign_in(
    state: web::Data<AppState>,
    session: Session,
    request: HttpRequest,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let username = form.username.trim().to_lowercase();
    let next = safe_next(&form.next).to_string();
    let address = super::client_limit_key(&state.config, &request);
    let client = throttle::client_key(&state.secret, &address);
    let refuse = |message: &str, status: u16| -> Result<HttpResponse, AppError> {
        let csrf = auth::csrf_token(&session)?;
        Ok(html(
            views::sign_in(&csrf, &username, &next, Some(message)),
            status,
        ))
    };
    let mut conn = state.pool.get().await?;
    if throttle::is_locked(&mut conn, &username, &client).await? {
        return refuse(MSG_LOCKED, 429);
    }
    let account = Account::find_by_username(&mut conn, &username).await?;
    // Verify against a dummy hash when the name is unknown: the same work, the same answer.
    let stored = account.as_ref().map_or_else(
        || password::dummy_hash().to_string(),
        |a| a.password_hash.clone(),
    );
    let matches = password::verify_off_thread(form.password, stored).await;
    match account {
        Some(account) if matches && account.active => {
            throttle::clear(&mut conn, &username, &client).await?;
            auth::sign_in(&session, &account)?;
            tracing::info!(account = account.id, "signed in");
            Ok(see_other(&next))
        }
        _ => {
            throttle::record_failure(&mut conn, &username, &client).await?;
            refuse(MSG_WRONG_CREDENTIALS, 401)
        }
    }
}

/// A staff resource whose other methods answer like a missing page: sign-in first for the
/// anonymous, then 404 (never actix's bare 405).
pub(super) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(not_here))
}

/// The answer of a path or method that does not exist, behind the sign-in.
pub(super) async fn not_here(_staff: Staff) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// The body of a button-only form: nothing but the CSRF token.
#[derive(Deserialize)]
pub(super) struct Empty {}

/// A numeric id from a path segment; anything else is a page that does not exist (404).
pub(super) fn parse_id(segment: &str) -> Result<i32, AppError> {
    match segment.parse::<i32>() {
        Ok(id) if id > 0 && segment.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(AppError::NotFound),
    }
}

async fn sign_out(
    state: web::Data<AppState>,
    session: Session,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    // Every session of the account ends, so a copy of the cookie is worth nothing either.
    if let Some(account_id) = auth::session_account(&session) {
        let mut conn = state.pool.get().await?;
        Account::end_sessions(&mut conn, account_id).await?;
    }
    session.purge();
    Ok(see_other("/sign-in"))
}

#[get("")]
async fn dashboard(state: web::Data<AppState>, staff: Staff) -> Result<HttpResponse, AppError> {
    use crate::db::home;
    use crate::views::staff::home::{CurrentPeriod, Home, PlanSummary, ShortUnit};
    let year = crate::plans::current_year();
    let today = crate::domain::time::today_in_vietnam();
    let mut conn = state.pool.get().await?;
    let counts = home::year_counts(&mut conn, &staff.scope, year).await?;
    let today_count = home::today(&mut conn, &staff.scope).await?;
    let waiting = home::waiting(&mut conn, &staff.scope).await?;
    // The survey plans of the year: progress over all their periods, and the units short of
    // their target in the period that runs today (or the last one that started).
    let mut plans = Vec::new();
    for plan in crate::db::plans::Plan::list_for_scope(&mut conn, &staff.scope).await? {
        if i32::from(plan.year) != year {
            continue;
        }
        let periods = crate::db::plans::Period::for_plan(&mut conn, plan.id).await?;
        let rows = home::plan_progress(&mut conn, plan.id, &staff.scope).await?;
        let with_target = rows.iter().filter(|r| r.target.is_some());
        let target: i64 = with_target
            .clone()
            .filter_map(|r| r.target)
            .map(i64::from)
            .sum();
        let received: i64 = with_target.map(|r| r.received).sum();
        let current = periods
            .iter()
            .filter(|p| p.starts_on <= today)
            .max_by_key(|p| p.starts_on)
            .map(|period| {
                let in_period = rows.iter().filter(|r| r.period_id == period.id);
                let mut short: Vec<ShortUnit> = in_period
                    .clone()
                    .filter_map(|r| {
                        let target = i64::from(r.target?);
                        (r.received < target).then(|| ShortUnit {
                            unit_id: r.unit_id,
                            name: r.name.clone(),
                            target,
                            received: r.received,
                        })
                    })
                    .collect();
                // The furthest from their target first.
                short.sort_by(|a, b| (a.received * b.target).cmp(&(b.received * a.target)));
                CurrentPeriod {
                    id: period.id,
                    name: period.name.clone(),
                    starts_on: period.starts_on,
                    ends_on: period.ends_on,
                    short,
                    with_target: in_period.filter(|r| r.target.is_some()).count(),
                }
            });
        plans.push(PlanSummary {
            id: plan.id,
            title: plan.title,
            unit_name: plan.unit_name,
            target,
            received,
            current,
        });
    }
    let overview_form = state.config.default_form.clone();
    let below_goal = below_goal(&mut conn, &state, &staff, &overview_form, year, today).await?;
    let forms = form_titles(&state.forms);
    // The response spool of this instance (issue 6), for admins, when something waits in it.
    let spool = (staff.role == crate::auth::Role::Admin)
        .then(|| state.spool.status())
        .filter(views::spool_needs_attention);
    let page = Home {
        year,
        counts: &counts,
        forms: &forms,
        overview_form: &overview_form,
        today: today_count,
        waiting,
        plans: &plans,
        spool: spool.as_ref(),
        below_goal: below_goal.as_ref(),
    };
    Ok(html(views::dashboard(&staff, &page), 200))
}

/// The ranked units of the year's overview (the default form, 1 January to today) below the
/// first goal of its plan: the same report and rule as the overview's ([`crate::app::reports`]).
async fn below_goal(
    conn: &mut diesel_async::AsyncPgConnection,
    state: &AppState,
    staff: &Staff,
    form: &str,
    year: i32,
    today: chrono::NaiveDate,
) -> Result<Option<crate::views::staff::home::BelowGoal>, AppError> {
    let Some(from) = chrono::NaiveDate::from_ymd_opt(year, 1, 1) else {
        return Ok(None);
    };
    let query = crate::app::reports::ReportQuery {
        form_id: form.to_string(),
        from,
        to: today.max(from),
        root: None,
        kind: None,
        channel: None,
        period_id: None,
        respondents: Default::default(),
    };
    let report = match crate::app::reports::build(conn, &state.forms, &staff.scope, &query).await {
        Ok(report) => report,
        Err(crate::app::Error::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(goal) = report.held_to().cloned() else {
        return Ok(None);
    };
    let ranked: Vec<_> = report.rows.iter().filter(|r| r.rank.is_some()).collect();
    let mut units: Vec<(i32, String, f64)> = ranked
        .iter()
        .filter_map(|r| {
            let index = r.index?;
            (!goal.reached_by(index)).then(|| (r.unit.id, r.unit.name.clone(), index))
        })
        .collect();
    units.sort_by(|a, b| a.2.total_cmp(&b.2));
    Ok(Some(crate::views::staff::home::BelowGoal {
        goal,
        units,
        ranked: ranked.len(),
    }))
}

/// (form id, title) of every loaded form: what staff see instead of the form's id.
pub(super) fn form_titles(forms: &crate::forms::FormRegistry) -> Vec<(String, String)> {
    let mut titles: Vec<(String, String)> = forms
        .form_ids()
        .into_iter()
        .filter_map(|id| {
            let version = forms.latest(id)?;
            let title = version
                .form
                .short_title
                .clone()
                .unwrap_or_else(|| version.form.title.clone());
            Some((id.to_string(), title))
        })
        .collect();
    titles.sort();
    titles
}

#[get("/password")]
async fn password_page(staff: Staff) -> HttpResponse {
    html(views::password(&staff, &FieldErrors::new(), false), 200)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

#[post("/password")]
async fn change_password(
    state: web::Data<AppState>,
    session: Session,
    staff: Staff,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::new();
    if !password::verify_off_thread(form.current, staff.account.password_hash.clone()).await {
        errors.insert("current", "Mật khẩu hiện tại không đúng.".into());
    }
    if let Some(problem) = password::weakness(&form.new, &staff.account.username) {
        errors.insert("new", problem);
    } else if form.new != form.confirm {
        errors.insert("confirm", "Mật khẩu nhập lại không khớp.".into());
    }
    if !errors.is_empty() {
        return Ok(html(views::password(&staff, &errors, false), 422));
    }
    let hash = password::hash_off_thread(form.new)
        .await
        .map_err(AppError::Internal)?;
    let mut conn = state.pool.get().await?;
    let account = crate::app::accounts::change_own_password(&mut conn, &staff, &hash).await?;
    auth::password_changed(&session, &account)?;
    Ok(html(
        views::password(&staff, &FieldErrors::new(), true),
        200,
    ))
}
