use actix_web::{HttpResponse, get, web};
use diesel_async::RunQueryDsl;

use super::AppState;

/// 200 when the database answers, 503 when not.
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let answered = match state.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .is_ok(),
        Err(_) => false,
    };
    if answered {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(r#"{"status":"ok","database":"ok"}"#)
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("application/json")
            .body(r#"{"status":"unavailable","database":"unreachable"}"#)
    }
}
