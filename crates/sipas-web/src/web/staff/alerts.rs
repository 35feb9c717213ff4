//! Staff area: e-mail alerts ("Nhận thông báo qua e-mail", `crate::app::alerts`). Every
//! signed-in account subscribes itself to a unit of its scope, lists and deletes its own
//! subscriptions; another account's subscription is not found (404). Without
//! `SIPAS_SMTP_URL` the page says alerts are not enabled and a submitted form stores nothing
//! (422, the page and its notice).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{Empty, html, parse_id, resource, see_other};
use crate::app::alerts::{SubscribeRefusal, SubscriptionRequest};
use crate::auth::{CsrfForm, Staff};
use crate::db::alerts::Subscription;
use crate::db::units::Unit;
use crate::domain::alerts::{Mode, parse_email};
use crate::error::AppError;
use crate::views::staff::FieldErrors;
use crate::views::staff::alerts::{self as views, AlertForm, AlertsPage, PATH};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/alerts")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/alerts/{id}/delete").route(web::post().to(delete)));
}

/// The message of a unit outside the account's scope.
pub const MSG_OUT_OF_SCOPE: &str =
    "Anh/Chị chỉ có thể đăng ký nhận thông báo của đơn vị mình phụ trách và các đơn vị trực thuộc.";

/// The flash message named by `?ok=` after a redirect.
fn notice(request: &HttpRequest) -> Option<&'static str> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    match pairs.iter().find(|(k, _)| k == "ok")?.1.as_str() {
        "created" => Some("Đã đăng ký nhận thông báo qua e-mail."),
        "deleted" => Some("Đã xóa đăng ký. Anh/Chị không nhận thông báo này nữa."),
        _ => None,
    }
}

/// What a rendering of the page shows besides the account's data.
struct Shown<'a> {
    form: &'a AlertForm,
    errors: &'a FieldErrors,
    notice: Option<&'a str>,
    /// The subscriptions listed (not on a refused form).
    with_list: bool,
    status: u16,
}

/// Renders the page.
async fn render(
    state: &AppState,
    staff: &Staff,
    conn: &mut crate::db::Connection,
    shown: Shown<'_>,
) -> Result<HttpResponse, AppError> {
    let enabled = state.config.mail.is_some();
    let rows = if enabled && shown.with_list {
        Some(Subscription::list_for_account(conn, staff.account.id).await?)
    } else {
        None
    };
    let units = if enabled {
        Unit::find_for_scope(conn, &staff.scope).await?
    } else {
        Vec::new()
    };
    let last_error = match &rows {
        Some(rows) if rows.iter().any(|r| r.pending > 0) => {
            crate::db::alerts::state(conn).await?.last_error
        }
        _ => None,
    };
    Ok(html(
        views::alerts(
            staff,
            &AlertsPage {
                enabled,
                rows: rows.as_deref(),
                units: &units,
                form: shown.form,
                errors: shown.errors,
                notice: shown.notice,
                last_error: last_error.as_deref(),
            },
        ),
        shown.status,
    ))
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let form = AlertForm::fresh();
    let errors = FieldErrors::new();
    let shown = Shown {
        form: &form,
        errors: &errors,
        notice: notice(&request),
        with_list: true,
        status: 200,
    };
    render(&state, &staff, &mut conn, shown).await
}

#[derive(Deserialize)]
struct NewAlertForm {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    email: String,
    very_dissatisfied: Option<String>,
    comment: Option<String>,
    #[serde(default)]
    mode: String,
}

impl NewAlertForm {
    fn typed(&self) -> AlertForm {
        AlertForm {
            unit: self.unit.trim().to_string(),
            email: self.email.trim().to_string(),
            very_dissatisfied: self.very_dissatisfied.is_some(),
            comment: self.comment.is_some(),
            mode: self.mode.clone(),
        }
    }

    /// The request, checked (the unit's scope is the use case's to check).
    fn request(&self) -> Result<SubscriptionRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let unit_id = match self.unit.trim().parse::<i32>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                errors.insert("unit", "Vui lòng chọn đơn vị.".into());
                None
            }
        };
        let email = parse_email(&self.email)
            .map_err(|message| errors.insert("email", message.into()))
            .ok();
        let (low, comment) = (self.very_dissatisfied.is_some(), self.comment.is_some());
        if !low && !comment {
            errors.insert(
                "events",
                "Vui lòng chọn ít nhất một loại phản hồi cần thông báo.".into(),
            );
        }
        let mode = Mode::parse(&self.mode);
        if mode.is_none() {
            errors.insert("mode", "Vui lòng chọn cách gửi thông báo.".into());
        }
        match (unit_id, email, mode) {
            (Some(unit_id), Some(email), Some(mode)) if errors.is_empty() => {
                Ok(SubscriptionRequest {
                    unit_id,
                    email,
                    on_very_dissatisfied: low,
                    on_comment: comment,
                    mode,
                })
            }
            _ => Err(errors),
        }
    }
}

async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<NewAlertForm>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let typed = form.typed();
    if state.config.mail.is_none() {
        // Nothing is stored: the page says why.
        let errors = FieldErrors::new();
        let shown = Shown {
            form: &typed,
            errors: &errors,
            notice: None,
            with_list: false,
            status: 422,
        };
        return render(&state, &staff, &mut conn, shown).await;
    }
    let errors = match form.request() {
        Ok(request) => match crate::app::alerts::subscribe(&mut conn, &staff, &request).await? {
            Ok(subscription) => {
                tracing::info!(
                    subscription = subscription.id,
                    account = staff.account.id,
                    "alert subscription created"
                );
                return Ok(see_other(&format!("{PATH}?ok=created")));
            }
            Err(SubscribeRefusal::OutOfScope) => {
                FieldErrors::from([("unit", MSG_OUT_OF_SCOPE.to_string())])
            }
            Err(SubscribeRefusal::Duplicate) => FieldErrors::from([(
                "email",
                "Anh/Chị đã đăng ký nhận thông báo của đơn vị này về địa chỉ e-mail này."
                    .to_string(),
            )]),
        },
        Err(errors) => errors,
    };
    let shown = Shown {
        form: &typed,
        errors: &errors,
        notice: None,
        with_list: false,
        status: 422,
    };
    render(&state, &staff, &mut conn, shown).await
}

async fn delete(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    crate::app::alerts::unsubscribe(&mut conn, &staff, id).await?;
    Ok(see_other(&format!("{PATH}?ok=deleted")))
}
