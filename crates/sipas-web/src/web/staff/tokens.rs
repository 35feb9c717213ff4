//! Staff area: API tokens. Every signed-in account (viewers too: the API only reads) creates
//! named tokens for itself, sees and revokes its own; admins see and revoke every account's.
//! Another account's token is not found (404) for everyone else. A token is shown once, on
//! the answer to its creation (201, not a redirect), and only its SHA-256 is stored.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{Empty, html, parse_id, resource, see_other};
use crate::auth::{CsrfForm, Staff, token};
use crate::db::tokens::{ApiToken, MAX_NAME_CHARS, TokenRefusal};
use crate::error::AppError;
use crate::views::staff::FieldErrors;
use crate::views::staff::tokens::{self as views, PATH, TokensPage};
use crate::web::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/tokens")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/tokens/{id}/revoke").route(web::post().to(revoke)));
}

/// The tokens `staff` may see: its own, or every account's for admins.
async fn visible(
    conn: &mut crate::db::Connection,
    staff: &Staff,
) -> Result<Vec<crate::db::tokens::TokenRow>, AppError> {
    let owner = (!staff.is_admin()).then_some(staff.account.id);
    Ok(ApiToken::list(conn, owner).await?)
}

/// The flash message named by `?ok=` after a redirect (unreadable queries: none).
fn notice(request: &HttpRequest) -> Option<&'static str> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    match pairs.iter().find(|(k, _)| k == "ok")?.1.as_str() {
        "revoked" => Some("Đã thu hồi mã truy cập. Mã này không còn dùng được."),
        _ => None,
    }
}

async fn list(
    state: web::Data<AppState>,
    staff: Staff,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let rows = visible(&mut conn, &staff).await?;
    let errors = FieldErrors::new();
    Ok(html(
        views::tokens(
            &staff,
            &TokensPage {
                rows: Some(&rows),
                name: "",
                errors: &errors,
                notice: notice(&request),
                created: None,
            },
        ),
        200,
    ))
}

#[derive(Deserialize)]
struct NewTokenForm {
    #[serde(default)]
    name: String,
}

/// A token's name, checked.
struct TokenName(String);

impl TryFrom<&NewTokenForm> for TokenName {
    type Error = FieldErrors;

    fn try_from(form: &NewTokenForm) -> Result<Self, FieldErrors> {
        let name = form.name.trim();
        let mut errors = FieldErrors::new();
        if name.is_empty() {
            errors.insert("name", "Vui lòng nhập tên mã.".into());
        } else if name.chars().count() > MAX_NAME_CHARS {
            errors.insert(
                "name",
                format!("Tên mã quá dài (tối đa {MAX_NAME_CHARS} ký tự)."),
            );
        } else if name.chars().any(char::is_control) {
            errors.insert("name", "Tên mã không được chứa ký tự điều khiển.".into());
        }
        if errors.is_empty() {
            Ok(TokenName(name.to_string()))
        } else {
            Err(errors)
        }
    }
}

async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<NewTokenForm>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let errors = match TokenName::try_from(&form) {
        Ok(TokenName(name)) => {
            let secret = token::generate();
            match crate::app::tokens::create(&mut conn, &staff, &name, &secret.sha256).await? {
                Ok(created) => {
                    tracing::info!(
                        token = created.id,
                        account = staff.account.id,
                        "API token created"
                    );
                    let rows = visible(&mut conn, &staff).await?;
                    let errors = FieldErrors::new();
                    // Not a redirect: the token is shown on this answer and nowhere else.
                    return Ok(html(
                        views::tokens(
                            &staff,
                            &TokensPage {
                                rows: Some(&rows),
                                name: "",
                                errors: &errors,
                                notice: None,
                                created: Some((&created, &secret.text)),
                            },
                        ),
                        201,
                    ));
                }
                Err(TokenRefusal::DuplicateName) => FieldErrors::from([(
                    "name",
                    "Anh/Chị đã có một mã đang dùng với tên này. Vui lòng chọn tên khác."
                        .to_string(),
                )]),
            }
        }
        Err(errors) => errors,
    };
    Ok(html(
        views::tokens(
            &staff,
            &TokensPage {
                rows: None,
                name: &form.name,
                errors: &errors,
                notice: None,
                created: None,
            },
        ),
        422,
    ))
}

async fn revoke(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let token = ApiToken::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if token.account_id != staff.account.id && !staff.is_admin() {
        return Err(AppError::NotFound);
    }
    crate::app::tokens::revoke(&mut conn, &staff, token.id).await?;
    Ok(see_other(&format!("{PATH}?ok=revoked")))
}
