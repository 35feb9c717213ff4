//! Staff authentication and authorisation: the signed-in account as an extractor, its scope
//! of units, per-form CSRF tokens and an Origin check for every state-changing request.

pub use crate::db::throttle;
pub use sipas_app::password;
pub mod token;

use std::future::Future;
use std::pin::Pin;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionExt, SessionMiddleware};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::db::accounts::Account;
use crate::error::AppError;
use crate::web::AppState;
pub use sipas_app::signed_in::SignedIn;

const ACCOUNT_KEY: &str = "account";
const PASSWORD_AT_KEY: &str = "pwd_at";
const SEEN_KEY: &str = "seen";
const ISSUED_KEY: &str = "valid_after";
const CSRF_KEY: &str = "csrf";
pub use crate::views::CSRF_FIELD;
pub const SESSION_COOKIE: &str = "sipas_session";

pub use crate::domain::access::{Actor, Role, Scope};

/// The signed-in staff member. Extracting it is what makes a handler staff-only: without a
/// valid session the request is sent to the sign-in page.
/// It wraps the [`SignedIn`] staff member that views and use cases take (`staff.account`,
/// `staff.scope`, `staff.audit(..)` read through it).
#[derive(Debug, Clone)]
pub struct Staff(pub SignedIn);

impl std::ops::Deref for Staff {
    type Target = SignedIn;

    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

impl Staff {
    /// Admin-only pages answer 404 to other roles: they do not learn what is there.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// A change anywhere: refused (403) for viewers.
    pub fn require_writer(&self) -> Result<(), AppError> {
        match self.role {
            Role::Viewer => Err(AppError::Forbidden),
            Role::Admin | Role::Unit => Ok(()),
        }
    }

    /// Reading a unit's things: 404 outside the account's scope.
    pub fn require_unit(&self, unit_id: i32) -> Result<(), AppError> {
        if self.scope.contains(unit_id) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// Changing a unit's things: 404 outside the scope, 403 for viewers.
    pub fn require_writable_unit(&self, unit_id: i32) -> Result<(), AppError> {
        self.require_unit(unit_id)?;
        self.require_writer()
    }
}

fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The session's CSRF token, created when missing.
pub fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Ok(Some(token)) = session.get::<String>(CSRF_KEY) {
        return Ok(token);
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    session
        .insert(CSRF_KEY, &token)
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    Ok(token)
}

/// Starts a signed-in session for `account` (with a fresh session and CSRF token).
pub fn sign_in(session: &Session, account: &Account) -> Result<(), AppError> {
    session.renew();
    session.clear();
    let insert = |key: &str, value: serde_json::Value| {
        session
            .insert(key, value)
            .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
    };
    insert(ACCOUNT_KEY, account.id.into())?;
    insert(
        PASSWORD_AT_KEY,
        account.password_changed_at.timestamp_micros().into(),
    )?;
    insert(SEEN_KEY, now_seconds().into())?;
    // The account's sessions_valid_after as read at sign-in (the database's clock, never
    // ours): signing out moves it, and this session stops matching.
    insert(
        ISSUED_KEY,
        account.sessions_valid_after.timestamp_micros().into(),
    )?;
    insert(CSRF_KEY, hex::encode(rand::random::<[u8; 32]>()).into())?;
    Ok(())
}

/// The account of the session, if any (without checking it: for signing out).
pub fn session_account(session: &Session) -> Option<i32> {
    session.get::<i32>(ACCOUNT_KEY).ok().flatten()
}

/// Keeps the session valid after the account's own password change.
pub fn password_changed(session: &Session, account: &Account) -> Result<(), AppError> {
    session
        .insert(
            PASSWORD_AT_KEY,
            account.password_changed_at.timestamp_micros(),
        )
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

fn sign_in_required(request: &HttpRequest) -> AppError {
    let next = (request.method() == Method::GET).then(|| match request.query_string() {
        "" => request.path().to_string(),
        query => format!("{}?{query}", request.path()),
    });
    AppError::SignInRequired { next }
}

impl FromRequest for Staff {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = request
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("no application state")))?;
            let session = request.get_session();
            let Ok(Some(account_id)) = session.get::<i32>(ACCOUNT_KEY) else {
                return Err(sign_in_required(&request));
            };
            let seen = session.get::<i64>(SEEN_KEY).ok().flatten().unwrap_or(0);
            if now_seconds() - seen > state.config.session_idle_minutes * 60 {
                session.purge();
                return Err(sign_in_required(&request));
            }
            let mut conn = state.pool.get().await?;
            let password_at = session.get::<i64>(PASSWORD_AT_KEY).ok().flatten();
            let issued = session.get::<i64>(ISSUED_KEY).ok().flatten();
            let account = match Account::find(&mut conn, account_id).await? {
                Some(a)
                    if a.active
                        && Some(a.password_changed_at.timestamp_micros()) == password_at
                        && Some(a.sessions_valid_after.timestamp_micros()) == issued =>
                {
                    a
                }
                // Disabled, deleted, signed out, or its password changed elsewhere: the
                // session ends.
                _ => {
                    session.purge();
                    return Err(sign_in_required(&request));
                }
            };
            let actor = Account::actor(&mut conn, &account).await?.ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("unknown role {}", account.role))
            })?;
            session
                .insert(SEEN_KEY, now_seconds())
                .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
            let csrf = csrf_token(&session)?;
            Ok(Staff(SignedIn {
                account,
                actor,
                csrf,
            }))
        })
    }
}

/// Compares two tokens in time independent of where they differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Largest staff form body accepted.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// An urlencoded form whose `_csrf` field matches the session's token. Every state-changing
/// staff handler takes its input through this extractor.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = request.get_session();
        let payload = web::Payload::from_request(request, payload).into_inner();
        Box::pin(async move {
            let payload = payload.map_err(|_| AppError::BadRequest)?;
            let body = match payload.to_bytes_limited(MAX_FORM_BYTES).await {
                Ok(Ok(body)) => body,
                Ok(Err(_)) => return Err(AppError::BadRequest),
                Err(_) => return Err(AppError::PayloadTooLarge),
            };
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&body).map_err(|_| AppError::BadRequest)?;
            let sent = pairs.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v);
            let expected = session.get::<String>(CSRF_KEY).ok().flatten();
            match (sent, expected) {
                (Some(sent), Some(expected)) if same_token(sent, &expected) => {}
                _ => return Err(AppError::CsrfRejected),
            }
            // PostgreSQL stores no NUL in text: every staff text field is refused here, in one
            // place, rather than failing (500) wherever it reaches the database.
            if pairs
                .iter()
                .any(|(k, v)| k.contains('\0') || v.contains('\0'))
            {
                return Err(AppError::NulCharacter);
            }
            let value = serde_urlencoded::from_bytes(&body).map_err(|_| AppError::BadRequest)?;
            Ok(CsrfForm(value))
        })
    }
}

/// Whether `sent` is the session's CSRF token (for the bodies [`CsrfForm`] does not read: the
/// multipart upload of the unit import).
pub fn csrf_matches(request: &HttpRequest, sent: Option<&str>) -> bool {
    let expected = request.get_session().get::<String>(CSRF_KEY).ok().flatten();
    match (sent, expected) {
        (Some(sent), Some(expected)) => same_token(sent, &expected),
        _ => false,
    }
}

/// Refuses a state-changing request whose Origin header names another site. (Browsers send
/// Origin with every cross-site POST; the per-form token catches the rest.)
pub async fn check_origin(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && let Some(origin) = request.headers().get(actix_web::http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let info = request.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        let public = request
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.public_url.origin().ascii_serialization());
        if origin != own && Some(origin) != public.as_deref() {
            drop(info);
            tracing::warn!(origin, "refused a cross-site request");
            return Err(AppError::CsrfRejected.into());
        }
    }
    next.call(request).await
}

/// Refuses a request whose query string holds an encoded NUL (`%00`): staff filters and
/// searches reach PostgreSQL, which stores and compares no NUL in text (422, not 500).
pub async fn refuse_nul_in_query(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    if request.query_string().contains("%00") {
        return Err(AppError::NulCharacter.into());
    }
    next.call(request).await
}

/// The cookie session: signed and encrypted, HttpOnly, SameSite=Strict, Secure outside local
/// development, ending after `session_idle_minutes` without a request.
pub fn session_middleware(config: &Config, key: &[u8]) -> SessionMiddleware<CookieSessionStore> {
    let idle = actix_web::cookie::time::Duration::minutes(config.session_idle_minutes);
    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(key))
        .cookie_name(SESSION_COOKIE.to_string())
        .cookie_secure(config.cookie_secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Strict)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(idle)
                .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_roles() {
        let scope = Scope::Units(vec![3, 4]);
        assert!(scope.contains(3) && !scope.contains(5));
        assert!(Scope::All.contains(5));
        for role in [Role::Admin, Role::Unit, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abcd", "abcd"));
        assert!(!same_token("abcd", "abce"));
        assert!(!same_token("abcd", "abc"));
    }
}
