//! The one error type of the web layer.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::views;

/// What can go wrong while serving a request. Bad input is not an error here: handlers answer it
/// with the form and its messages (422).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unreadable request")]
    BadRequest,
    /// A staff page without a valid session: sent to the sign-in page (and back to `next`).
    #[error("sign-in required")]
    SignInRequired { next: Option<String> },
    /// The account's role does not allow the action.
    #[error("forbidden")]
    Forbidden,
    /// A state-changing request without the form's token, or from another site.
    #[error("cross-site request refused")]
    CsrfRejected,
    /// A staff form or query holding a NUL character (PostgreSQL stores no such text): refused
    /// before anything reads it (422).
    #[error("a NUL character in a field")]
    NulCharacter,
    /// The database is down, unreachable or the pool is exhausted.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything unexpected. The cause chain goes to the log, never to the page.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }

    /// The error for the database's `error`, just returned on `conn`, on the citizen's path:
    /// as [`sipas_app::Error::from_db`] tells an outage apart.
    pub async fn from_db(
        conn: &mut diesel_async::AsyncPgConnection,
        error: diesel::result::Error,
    ) -> Self {
        sipas_app::Error::from_db(conn, error).await.into()
    }

    /// `result` of a query just run on `conn`, its error told apart as [`AppError::from_db`]
    /// does.
    pub async fn classify<T>(
        conn: &mut diesel_async::AsyncPgConnection,
        result: diesel::QueryResult<T>,
    ) -> Result<T, Self> {
        Ok(sipas_app::Error::classify(conn, result).await?)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        sipas_app::Error::from(e).into()
    }
}

impl From<sipas_app::Error> for AppError {
    fn from(e: sipas_app::Error) -> Self {
        match e {
            sipas_app::Error::NotFound => AppError::NotFound,
            sipas_app::Error::Unavailable(cause) => AppError::Unavailable(cause),
            sipas_app::Error::Internal(cause) => AppError::Internal(cause),
        }
    }
}

impl From<crate::db::PoolError> for AppError {
    fn from(e: crate::db::PoolError) -> Self {
        sipas_app::Error::from(e).into()
    }
}

/// The message of [`AppError::NulCharacter`].
pub const MSG_NUL_CHARACTER: &str = "Nội dung vừa nhập có ký tự không hợp lệ (ký tự NUL, mã 0), thường do sao chép từ phần mềm khác. Vui lòng quay lại, xóa ký tự đó khỏi ô vừa nhập và gửi lại.";

impl AppError {
    /// A more specific message than the status's own, for the error page.
    fn notice(&self) -> Option<&'static str> {
        match self {
            AppError::Forbidden => {
                Some("Tài khoản của Anh/Chị không có quyền thực hiện thao tác này.")
            }
            AppError::CsrfRejected => Some(
                "Phiên làm việc đã hết hạn hoặc yêu cầu không hợp lệ. Vui lòng tải lại trang và thực hiện lại.",
            ),
            AppError::NulCharacter => Some(MSG_NUL_CHARACTER),
            _ => None,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest => StatusCode::BAD_REQUEST,
            AppError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            AppError::Forbidden | AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::NulCharacter => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::SignInRequired { next } => {
                let location = match next {
                    Some(next) => format!(
                        "/sign-in?next={}",
                        percent_encoding::utf8_percent_encode(
                            next,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ),
                    None => "/sign-in".to_string(),
                };
                return HttpResponse::SeeOther()
                    .insert_header(("Location", location))
                    .finish();
            }
            AppError::NotFound
            | AppError::PayloadTooLarge
            | AppError::BadRequest
            | AppError::Forbidden
            | AppError::CsrfRejected
            | AppError::NulCharacter => {}
            AppError::Unavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "service unavailable")
            }
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error")
            }
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, AppError::Unavailable(_)) {
            response.insert_header(("Retry-After", "30"));
        }
        response.content_type("text/html; charset=utf-8").body(
            views::pages::error_page(self.status_code().as_u16(), self.notice()).into_string(),
        )
    }
}
