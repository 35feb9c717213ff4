//! HTTP: routes, shared state, middleware.

pub mod api;
mod health;
mod public;
pub mod staff;
mod survey;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::db::Pool;
use crate::error::AppError;
use crate::forms::FormRegistry;

/// The one stylesheet of the citizen's pages (kept small: the survey's budget is 30 KB).
pub const STYLESHEET_PATH: &str = "/static/sipas.css";
const STYLESHEET: &str = include_str!("../../static/sipas.css");
/// Added by the staff pages.
pub const STAFF_STYLESHEET_PATH: &str = "/static/staff.css";
const STAFF_STYLESHEET: &str = include_str!("../../static/staff.css");

/// What every handler can reach, through `web::Data`.
pub struct AppState {
    pub pool: Pool,
    pub forms: FormRegistry,
    pub config: Config,
    /// Signs and encrypts session cookies and keys hashes of client addresses: the configured
    /// `SIPAS_SESSION_KEY`, or a random one for this process.
    pub secret: Vec<u8>,
}

/// Security headers sent with every response.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        // Not "no-referrer": with it, browsers send `Origin: null` on our own form posts, which
        // the staff side's Origin check must refuse. "same-origin" still tells other sites nothing.
        .add(("Referrer-Policy", "same-origin"))
}

/// Starts the HTTP server on an already bound listener.
pub fn server(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(crate::auth::session_middleware(
                &state.config,
                &state.secret,
            ))
            .wrap(security_headers())
            .wrap(TracingLogger::default())
            .app_data(state.clone())
            // Unreadable query strings, paths and forms get our 400 page, not a bare text.
            .app_data(web::QueryConfig::default().error_handler(|_, _| AppError::BadRequest.into()))
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .app_data(web::FormConfig::default().error_handler(|_, _| AppError::BadRequest.into()))
            .service(health::healthz)
            .service(survey::show)
            .service(survey::submit)
            .route("/", web::get().to(home))
            .route(STYLESHEET_PATH, web::get().to(|| stylesheet(STYLESHEET)))
            .route(
                STAFF_STYLESHEET_PATH,
                web::get().to(|| stylesheet(STAFF_STYLESHEET)),
            )
            .configure(staff::routes)
            .configure(api::routes)
            .configure(public::routes)
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

async fn home() -> maud::Markup {
    crate::views::pages::home()
}

async fn stylesheet(css: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(css)
}

pub(crate) async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
