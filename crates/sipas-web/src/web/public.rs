//! The public results ("công khai kết quả"), for everyone, without sign-in. They read only the
//! snapshots stored when an admin published a period (`published_results`), never the live
//! figures: later responses do not change what was published. Unpublished: 404.

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::db::published::Published;
use crate::error::AppError;
use crate::views::public as views;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(views::LIST_PATH)
            .route(web::get().to(list))
            .default_service(web::to(super::not_found)),
    )
    .service(
        web::resource("/cong-khai/{id}")
            .route(web::get().to(show))
            .default_service(web::to(super::not_found)),
    );
}

fn page(markup: maud::Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // Short: a withdrawn publication disappears from caches within a minute.
        .insert_header(("Cache-Control", "public, max-age=60"))
        .body(markup.into_string())
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let published = Published::list(&mut conn).await?;
    Ok(page(views::list(&published)))
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = match path.parse::<i32>() {
        Ok(id) if id > 0 && path.bytes().all(|b| b.is_ascii_digit()) => id,
        _ => return Err(AppError::NotFound),
    };
    let mut conn = state.pool.get().await?;
    let published = Published::snapshot_of(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(page(views::show(&published)))
}
