//! The privacy notice (`/quyen-rieng-tu`), for everyone, without sign-in: see
//! [`crate::views::privacy`].

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::views::privacy as views;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(views::NOTICE_PATH)
            .route(web::get().to(notice))
            .default_service(web::to(super::not_found)),
    );
}

/// The query: the form to return to, if any. Anything unusable (not a survey form's path, a
/// malformed query) is ignored: the notice is shown without the link back.
#[derive(serde::Deserialize)]
struct Query {
    #[serde(rename = "quay-lai")]
    back: Option<String>,
}

async fn notice(state: web::Data<AppState>, request: actix_web::HttpRequest) -> HttpResponse {
    let back = web::Query::<Query>::from_query(request.query_string())
        .ok()
        .and_then(|q| q.into_inner().back)
        .filter(|path| views::is_form_path(path));
    let page = views::notice(
        &state.config.privacy,
        &state.config.retention,
        back.as_deref(),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(page.into_string())
}
