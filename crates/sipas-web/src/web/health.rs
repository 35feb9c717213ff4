use actix_web::{HttpResponse, get, web};
use diesel_async::RunQueryDsl;

use super::AppState;

/// 200 when the database answers, 503 when not; both say how many responses wait in this
/// instance's spool and whether it accepts new ones (while the database is down, citizens'
/// responses go there):
/// `{"status":"unavailable","database":"unreachable","spool":{"entries":3,"bytes":1234,
/// "oldest":"2026-11-27T03:00:00Z","accepting":true,...},"desks":"looked up"}`. `desks`:
/// "remembered" while the desk directory hears of desk changes (`crate::desk_directory`), else
/// "looked up" (every page asks the database; a proxy that drops `LISTEN` shows here).
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let answered = match state.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .is_ok(),
        Err(_) => false,
    };
    let body = serde_json::json!({
        "status": if answered { "ok" } else { "unavailable" },
        "database": if answered { "ok" } else { "unreachable" },
        "spool": state.spool.status(),
        "desks": if state.desks.is_listening() { "remembered" } else { "looked up" },
    });
    let mut response = if answered {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(body.to_string())
}
