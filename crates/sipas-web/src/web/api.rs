//! The JSON API, `/api/v1` (described in `docs/openapi.json`, served at
//! `/api/v1/openapi.json`).
//!
//! `GET /api/v1/stats` answers the figures of the dashboard as JSON: the [`Report`] of
//! [`reports::build`], never a computation of its own. A caller is either a signed-in staff
//! member (the session cookie) or an API token (`Authorization: Bearer sipas_…`, see
//! [`crate::auth::token`]); either way it acts with its account's role and scope, so a unit
//! account sees only its units. Every answer under `/api`, errors included, is JSON:
//! `{"error": "<message>", "code": "<machine code>", "parameter": "<name>"?}`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::AppState;
use crate::auth::token::{self, Credentials};
use crate::auth::{Scope, Staff};
use crate::db::plans::Plan;
use crate::db::published::plan_period;
use crate::db::units::UnitKind;
use crate::error::AppError;
use crate::forms::FormRegistry;
use crate::periods::PlanPeriod;
use crate::reports::{self, ReportQuery};
use crate::selection::{self, Ask, PeriodAsk, PlanContext, Problem};

/// The OpenAPI 3.0 description of this API.
pub const OPENAPI: &str = include_str!("../../../../docs/openapi.json");

/// The query parameters `GET /api/v1/stats` takes (any other is refused with a 400); each
/// once, except [`REPEATED_PARAMETER`].
pub const STATS_PARAMETERS: [&str; 10] = [
    "year",
    "period",
    "unit",
    "form",
    "channel",
    "kind",
    "from",
    "to",
    "attr",
    "compared_to",
];

/// The parameter that may be given several times: a filter by respondent attributes each
/// (`attr=GIOI_TINH:2&attr=DO_TUOI:2`).
pub const REPEATED_PARAMETER: &str = "attr";

/// The channels a response can come through (`responses.channel`).
use crate::domain::channel::CHANNELS;

/// Years the API accepts (for `year`, `from` and `to`).
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .service(
                web::resource("/v1/stats")
                    .route(web::get().to(stats))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/v1/stats/residence")
                    .route(web::get().to(stats_by_residence))
                    .default_service(web::to(method_not_allowed)),
            )
            .configure(super::codes_api::routes)
            .service(
                web::resource("/v1/openapi.json")
                    .route(web::get().to(openapi))
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(not_found)),
    );
}

/// An error of the API, answered as JSON.
#[derive(Debug)]
pub enum ApiError {
    /// No credentials: neither a session nor an `Authorization` header.
    Unauthenticated,
    /// An `Authorization` header that is not a usable bearer token, or a token that is
    /// unknown, revoked, or whose account is disabled.
    InvalidToken,
    /// A query parameter that cannot be used, named.
    BadParameter {
        parameter: String,
        message: String,
    },
    NotFound(String),
    MethodNotAllowed,
    App(AppError),
}

impl ApiError {
    fn bad(parameter: &str, message: impl Into<String>) -> Self {
        ApiError::BadParameter {
            parameter: parameter.to_string(),
            message: message.into(),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => ApiError::NotFound("Không tìm thấy.".into()),
            AppError::SignInRequired { .. } => ApiError::Unauthenticated,
            other => ApiError::App(other),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

impl From<crate::db::PoolError> for ApiError {
    fn from(e: crate::db::PoolError) -> Self {
        AppError::from(e).into()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: String,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
}

impl ApiError {
    /// The machine-readable code of the error.
    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidToken => "invalid_token",
            ApiError::BadParameter { .. } => "invalid_parameter",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::App(AppError::Unavailable(_)) => "unavailable",
            ApiError::App(AppError::Forbidden | AppError::CsrfRejected) => "forbidden",
            ApiError::App(AppError::BadRequest) => "bad_request",
            ApiError::App(AppError::PayloadTooLarge) => "payload_too_large",
            ApiError::App(AppError::NulCharacter) => "invalid_parameter",
            ApiError::App(AppError::NotFound) => "not_found",
            ApiError::App(AppError::SignInRequired { .. }) => "unauthenticated",
            ApiError::App(AppError::Internal(_)) => "internal_error",
        }
    }

    /// The message, in Vietnamese (never a cause or a trace).
    fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => {
                "Cần đăng nhập hoặc mã truy cập API (Authorization: Bearer <mã>).".into()
            }
            ApiError::InvalidToken => {
                "Mã truy cập API không hợp lệ, đã bị thu hồi hoặc tài khoản đã bị khóa.".into()
            }
            ApiError::BadParameter { message, .. } => message.clone(),
            ApiError::NotFound(message) => message.clone(),
            ApiError::MethodNotAllowed => "Phương thức không được hỗ trợ; chỉ dùng GET.".into(),
            ApiError::App(AppError::Unavailable(_)) => {
                "Hệ thống tạm thời gián đoạn. Vui lòng thử lại sau ít phút.".into()
            }
            ApiError::App(AppError::Forbidden | AppError::CsrfRejected) => {
                "Không được phép.".into()
            }
            ApiError::App(AppError::BadRequest) => "Yêu cầu không hợp lệ.".into(),
            ApiError::App(AppError::PayloadTooLarge) => format!(
                "Nội dung gửi lên vượt quá {} KB.",
                super::MAX_JSON_BYTES / 1024
            ),
            ApiError::App(AppError::NulCharacter) => crate::error::MSG_NUL_CHARACTER.into(),
            ApiError::App(AppError::NotFound) => "Không tìm thấy.".into(),
            ApiError::App(AppError::SignInRequired { .. }) => {
                "Cần đăng nhập hoặc mã truy cập API (Authorization: Bearer <mã>).".into()
            }
            ApiError::App(AppError::Internal(_)) => "Đã xảy ra lỗi.".into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::App(e) => match e {
                AppError::SignInRequired { .. } => StatusCode::UNAUTHORIZED,
                other => other.status_code(),
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::App(AppError::Internal(cause)) => {
                tracing::error!(error = format!("{cause:#}"), "internal error (API)")
            }
            ApiError::App(AppError::Unavailable(cause)) => {
                tracing::warn!(error = format!("{cause:#}"), "service unavailable (API)")
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::Unauthenticated => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"sipas\""));
            }
            ApiError::InvalidToken => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"sipas\", error=\"invalid_token\"",
                ));
            }
            ApiError::MethodNotAllowed => {
                response.insert_header((header::ALLOW, "GET"));
            }
            ApiError::App(AppError::Unavailable(_)) => {
                response.insert_header((header::RETRY_AFTER, "30"));
            }
            _ => {}
        }
        let parameter = match self {
            ApiError::BadParameter { parameter, .. } => Some(parameter.as_str()),
            _ => None,
        };
        response.json(ErrorBody {
            error: self.message(),
            code: self.code(),
            parameter,
        })
    }
}

/// Who calls the API: a staff member by session cookie, or the account of a bearer token.
/// An `Authorization` header, when present, is what counts (the cookie is then ignored).
pub struct ApiCaller(pub Staff);

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            if let Some(value) = request.headers().get(header::AUTHORIZATION) {
                let Credentials::Bearer(text) = value
                    .to_str()
                    .map(token::parse_authorization)
                    .unwrap_or(Credentials::Unusable)
                else {
                    return Err(ApiError::InvalidToken);
                };
                let state = request
                    .app_data::<web::Data<AppState>>()
                    .cloned()
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("no application state")))?;
                let mut conn = state.pool.get().await?;
                return match token::authenticate(&mut conn, text).await? {
                    Some(staff) => Ok(ApiCaller(staff)),
                    None => Err(ApiError::InvalidToken),
                };
            }
            match Staff::from_request(&request, &mut Payload::None).await {
                Ok(staff) => Ok(ApiCaller(staff)),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// The query of `GET /api/v1/stats`, checked (each value on its own; together they are
/// resolved by [`StatsParams::resolve`]). Empty values count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsParams {
    pub year: Option<i32>,
    pub period: Option<i32>,
    pub unit: Option<i32>,
    pub form: Option<String>,
    pub channel: Option<String>,
    pub kind: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Filters by respondent attributes, `ITEM_CODE:code` (checked against the form by
    /// [`StatsParams::resolve`]).
    pub attrs: Vec<String>,
    /// The last day of a later period these figures are compared with: the total is then
    /// regrouped into today's units by the acts effective after `from` and by that day
    /// (`sipas_core::lineage`), and the answer's `lineage` lists the predecessors.
    pub compared_to: Option<NaiveDate>,
}

fn positive_id(parameter: &str, value: &str) -> Result<i32, ApiError> {
    match value.parse::<i32>() {
        Ok(id) if id > 0 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(ApiError::bad(
            parameter,
            format!("Tham số «{parameter}» phải là một số nguyên dương (mã số)."),
        )),
    }
}

fn iso_date(parameter: &str, value: &str) -> Result<NaiveDate, ApiError> {
    let bad = || {
        ApiError::bad(
            parameter,
            format!(
                "Tham số «{parameter}» phải là một ngày dạng YYYY-MM-DD, từ năm {} đến năm {}.",
                YEARS.start(),
                YEARS.end()
            ),
        )
    };
    if value.len() != 10 {
        return Err(bad());
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())?;
    if YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(bad())
    }
}

impl StatsParams {
    /// Reads a query string: every parameter known, given once, and well formed.
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
            ApiError::bad(
                "query",
                "Chuỗi tham số không đọc được (mã hóa URL không hợp lệ).",
            )
        })?;
        let mut params = StatsParams::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in &pairs {
            let Some(name) = STATS_PARAMETERS.iter().copied().find(|p| p == key) else {
                let shown: String = key.chars().take(40).collect();
                return Err(ApiError::bad(
                    &shown,
                    format!(
                        "Tham số «{shown}» không được hỗ trợ. Các tham số: {}.",
                        STATS_PARAMETERS.join(", ")
                    ),
                ));
            };
            if name != REPEATED_PARAMETER && seen.contains(&name) {
                return Err(ApiError::bad(
                    name,
                    format!("Tham số «{name}» chỉ được dùng một lần."),
                ));
            }
            seen.push(name);
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match name {
                "year" => {
                    let year = value
                        .parse::<i32>()
                        .ok()
                        .filter(|y| YEARS.contains(y) && value.bytes().all(|b| b.is_ascii_digit()))
                        .ok_or_else(|| {
                            ApiError::bad(
                                "year",
                                format!(
                                    "Tham số «year» phải là một năm từ {} đến {}.",
                                    YEARS.start(),
                                    YEARS.end()
                                ),
                            )
                        })?;
                    params.year = Some(year);
                }
                "period" => params.period = Some(positive_id("period", value)?),
                "unit" => params.unit = Some(positive_id("unit", value)?),
                "form" => {
                    if value.len() > 64 {
                        return Err(ApiError::bad(
                            "form",
                            "Tham số «form»: không có biểu mẫu này.",
                        ));
                    }
                    params.form = Some(value.to_string());
                }
                "channel" => {
                    if !CHANNELS.contains(&value) {
                        return Err(ApiError::bad(
                            "channel",
                            format!(
                                "Tham số «channel» phải là một trong: {}.",
                                CHANNELS.join(", ")
                            ),
                        ));
                    }
                    params.channel = Some(value.to_string());
                }
                "kind" => {
                    let kind = UnitKind::parse(value).ok_or_else(|| {
                        let kinds: Vec<&str> = UnitKind::ALL.iter().map(|k| k.as_str()).collect();
                        ApiError::bad(
                            "kind",
                            format!("Tham số «kind» phải là một trong: {}.", kinds.join(", ")),
                        )
                    })?;
                    params.kind = Some(kind.as_str().to_string());
                }
                "from" => params.from = Some(iso_date("from", value)?),
                "to" => params.to = Some(iso_date("to", value)?),
                "attr" => params.attrs.push(value.to_string()),
                "compared_to" => params.compared_to = Some(iso_date("compared_to", value)?),
                _ => unreachable!("every name of STATS_PARAMETERS is handled"),
            }
        }
        Ok(params)
    }

    /// The report asked for, within `scope`:
    /// - dates: `from` / `to` when given; else the period's dates (`period`); else the whole
    ///   `year`; else the year of `from` or `to`; else the current year (Vietnam's time).
    ///   A `year` that is not the period's plan's year is refused;
    /// - form: `form`, else the period's plan's form, else the installation's default form;
    /// - targets (the "chưa đủ mẫu" flag): those of `period`, when given and no `attr`;
    /// - respondents: those meeting every `attr` (the form's respondent questions; an
    ///   unknown question or value is a 400 naming `attr`).
    ///
    /// A period of a plan the account cannot see is not found (404).
    pub async fn resolve(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        forms: &FormRegistry,
        default_form: &str,
        scope: &Scope,
        today: NaiveDate,
    ) -> Result<ReportQuery, ApiError> {
        let plan = match self.period {
            Some(id) => {
                let not_found = || ApiError::NotFound(format!("Không tìm thấy đợt khảo sát {id}."));
                let (plan, period) = plan_period(conn, id).await?.ok_or_else(not_found)?;
                if Plan::find_for_scope(conn, plan.id, scope).await?.is_none() {
                    return Err(not_found());
                }
                if let Some(year) = self.year
                    && year != i32::from(plan.year)
                {
                    return Err(ApiError::bad(
                        "year",
                        format!(
                            "Tham số «year»: đợt khảo sát {id} thuộc kế hoạch năm {}, không phải năm {year}.",
                            plan.year
                        ),
                    ));
                }
                Some((plan, PlanPeriod::from(&period)))
            }
            None => None,
        };
        let ask = Ask {
            year: match &plan {
                Some((plan, _)) => i32::from(plan.year),
                None => self
                    .year
                    .or(self.from.map(|d| d.year()))
                    .or(self.to.map(|d| d.year()))
                    .unwrap_or(today.year()),
            },
            period: self.period.map_or(PeriodAsk::Year, PeriodAsk::PlanPeriod),
            from: self.from,
            to: self.to,
            form: self.form.as_deref(),
            respondents: &self.attrs,
        };
        let context = plan.as_ref().map(|(plan, period)| PlanContext {
            form_id: &plan.form_id,
            periods: std::slice::from_ref(period),
        });
        let resolved = selection::resolve(
            &ask,
            context.as_ref(),
            selection::in_registry(forms),
            default_form,
        )
        .map_err(|problems| match problems.into_iter().next() {
            Some(Problem::EmptyRange { from, to }) => ApiError::bad(
                "from",
                format!(
                    "Tham số «from»: ngày bắt đầu {from} sau ngày kết thúc {to} (khoảng thời gian trống)."
                ),
            ),
            Some(Problem::Form(form_id)) => ApiError::bad(
                "form",
                format!(
                    "Tham số «form»: không có biểu mẫu «{form_id}». Các biểu mẫu: {}.",
                    forms.form_ids().join(", ")
                ),
            ),
            // The period was found above, with its plan.
            Some(Problem::PlanPeriod(id)) => {
                ApiError::NotFound(format!("Không tìm thấy đợt khảo sát {id}."))
            }
            Some(Problem::Respondents(problem)) => {
                ApiError::bad("attr", format!("Tham số «attr»: {problem}"))
            }
            Some(Problem::Token { .. }) | None => {
                ApiError::from(AppError::internal(anyhow::anyhow!("an unresolved selection")))
            }
        })?;
        let (form_id, from, to, respondents) = (
            resolved.form_id,
            resolved.period.from,
            resolved.period.to,
            resolved.respondents,
        );
        Ok(ReportQuery {
            form_id,
            from,
            to,
            root: self.unit,
            kind: self.kind.clone(),
            channel: self.channel.clone(),
            period_id: self.period,
            respondents,
        })
    }
}

use crate::domain::time::today_in_vietnam as today;

async fn stats(
    state: web::Data<AppState>,
    ApiCaller(staff): ApiCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = StatsParams::parse(request.query_string())?;
    let mut conn = state.pool.get().await?;
    let query = params
        .resolve(
            &mut conn,
            &state.forms,
            &state.config.default_form,
            &staff.scope,
            today(),
        )
        .await?;
    let report = match params.compared_to {
        Some(later_to) => {
            reports::build_by_lineage(&mut conn, &state.forms, &staff.scope, &query, later_to).await
        }
        None => reports::build(&mut conn, &state.forms, &staff.scope, &query).await,
    };
    let report = report.map_err(|e| match (e, params.unit) {
        (sipas_app::Error::NotFound, Some(unit)) => ApiError::NotFound(format!(
            "Không tìm thấy đơn vị {unit} trong phạm vi của tài khoản."
        )),
        // An admin sees every unit: none at all is a new installation, not the account.
        (sipas_app::Error::NotFound, None) if staff.scope == Scope::All => ApiError::NotFound(
            "Chưa có đơn vị nào: quản trị viên thêm các đơn vị ở trang “Đơn vị”.".into(),
        ),
        (sipas_app::Error::NotFound, None) => {
            ApiError::NotFound("Tài khoản không được giao đơn vị nào.".into())
        }
        (other, _) => AppError::from(other).into(),
    })?;
    if let Some(reason) = report.lineage.as_ref().and_then(|l| l.refused.as_ref()) {
        return Err(ApiError::bad("compared_to", reason.clone()));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&report))
}

/// `GET /api/v1/stats/residence`: the responses served by a unit (and the units below it,
/// within the account's scope), by the respondents' place of residence, with the index of
/// each place: the parameters of `/v1/stats` but `kind` and `attr` (refused: the table is of
/// every respondent of the unit); a unit account gets the small-cell rule ("< 5").
async fn stats_by_residence(
    state: web::Data<AppState>,
    ApiCaller(staff): ApiCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = StatsParams::parse(request.query_string())?;
    if !params.attrs.is_empty() {
        return Err(ApiError::bad(
            "attr",
            "Tham số «attr» không dùng cho thống kê theo nơi cư trú.",
        ));
    }
    if params.kind.is_some() {
        return Err(ApiError::bad(
            "kind",
            "Tham số «kind» không dùng cho thống kê theo nơi cư trú.",
        ));
    }
    let mut conn = state.pool.get().await?;
    let query = params
        .resolve(
            &mut conn,
            &state.forms,
            &state.config.default_form,
            &staff.scope,
            today(),
        )
        .await?;
    let report = crate::app::residence::by_residence(&mut conn, &state.forms, &staff.scope, &query)
        .await
        .map_err(|e| match (e, params.unit) {
            (sipas_app::Error::NotFound, Some(unit)) => ApiError::NotFound(format!(
                "Không tìm thấy đơn vị {unit} trong phạm vi của tài khoản."
            )),
            (sipas_app::Error::NotFound, None) => {
                ApiError::NotFound("Tài khoản không được giao đơn vị nào.".into())
            }
            (other, _) => AppError::from(other).into(),
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&report))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ))
        .body(OPENAPI)
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("Không có địa chỉ này trong API.".into()))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_parameter(query: &str) -> String {
        match StatsParams::parse(query) {
            Err(ApiError::BadParameter { parameter, .. }) => parameter,
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn parameters_are_read_and_checked_one_by_one() {
        let params = StatsParams::parse(
            "year=2026&period=3&unit=12&form=sipas-1001-dich-vu&channel=paper&kind=commune\
             &from=2026-02-01&to=2026-03-31",
        )
        .unwrap();
        assert_eq!(
            params,
            StatsParams {
                year: Some(2026),
                period: Some(3),
                unit: Some(12),
                form: Some("sipas-1001-dich-vu".into()),
                channel: Some("paper".into()),
                kind: Some("commune".into()),
                from: NaiveDate::from_ymd_opt(2026, 2, 1),
                to: NaiveDate::from_ymd_opt(2026, 3, 31),
                attrs: Vec::new(),
                compared_to: None,
            }
        );
        assert_eq!(
            StatsParams::parse("attr=GIOI_TINH:2&attr=&attr=DO_TUOI:2")
                .unwrap()
                .attrs,
            ["GIOI_TINH:2", "DO_TUOI:2"]
        );
        assert_eq!(StatsParams::parse("").unwrap(), StatsParams::default());
        assert_eq!(
            StatsParams::parse("unit=&year=").unwrap(),
            StatsParams::default()
        );
        for (query, parameter) in [
            ("year=abc", "year"),
            ("year=1999", "year"),
            ("year=%2B2026", "year"),
            ("period=0", "period"),
            ("period=-1", "period"),
            ("unit=x", "unit"),
            ("unit=99999999999", "unit"),
            ("channel=fax", "channel"),
            ("kind=village", "kind"),
            ("from=2026-13-01", "from"),
            ("to=26-01-01", "to"),
            ("from=3000-01-01", "from"),
            ("yaer=2026", "yaer"),
            ("unit=1&unit=2", "unit"),
            ("year=%zz", "year"),
        ] {
            assert_eq!(bad_parameter(query), parameter, "{query}");
        }
    }

    #[test]
    fn errors_are_json_with_their_status() {
        let response = ApiError::Unauthenticated.error_response();
        assert_eq!(response.status(), 401);
        assert!(
            response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .is_some_and(|v| v.to_str().unwrap().starts_with("Bearer"))
        );
        let response = ApiError::bad("year", "x").error_response();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        assert_eq!(ApiError::from(AppError::NotFound).status_code(), 404);
    }

    #[test]
    fn the_openapi_document_is_json() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    }
}
