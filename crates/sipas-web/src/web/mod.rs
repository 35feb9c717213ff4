//! HTTP: routes, shared state, middleware.

pub mod api;
mod codes_api;
mod health;
pub mod metrics;
mod privacy;
mod public;
pub mod staff;
mod survey;

use std::net::{IpAddr, Ipv6Addr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::KeepAlive;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::db::Pool;
use crate::error::AppError;
use crate::forms::FormRegistry;

pub use crate::views::staff::report::REPORT_STYLESHEET;
use crate::views::{FAVICON, STAFF_STYLESHEET, STYLESHEET};
pub use crate::views::{
    FAVICON_PATH, REPORT_STYLESHEET_HREF, STAFF_STYLESHEET_HREF, STYLESHEET_HREF,
};
pub use crate::views::{REPORT_STYLESHEET_PATH, STAFF_STYLESHEET_PATH, STYLESHEET_PATH};

/// What every handler can reach, through `web::Data`.
pub struct AppState {
    pub pool: Pool,
    pub forms: FormRegistry,
    pub config: Config,
    /// Signs and encrypts session cookies and keys hashes of client addresses: the configured
    /// `SIPAS_SESSION_KEY`, or a random one for this process.
    pub secret: Vec<u8>,
    /// Where citizens' responses wait while the database is unreachable (`crate::spool`).
    pub spool: Arc<crate::spool::Spool>,
    /// The desks behind the public codes, as this instance knows them
    /// (`crate::desk_directory`).
    pub desks: Arc<crate::desk_directory::DeskDirectory>,
    /// The kiosks this instance has verified (trusted while the database cannot be asked).
    pub kiosks: crate::db::kiosks::VerifiedKiosks,
    /// Unknown one-time codes tried per client (`/v/{code}`), in this instance's memory.
    pub code_guesses: survey::CodeGuesses,
    /// What `GET /metrics` shows ([`metrics`]): counted by the handlers, the request timer
    /// ([`metrics::timed`]) and the loops beside the server.
    pub metrics: crate::app::metrics::Metrics,
    /// The places of residence the forms offer (`crate::app::residence`).
    pub residence_places: Arc<crate::app::residence::PlaceCache>,
}

impl AppState {
    /// The places of residence `form` offers from the unit tree: none when it asks no residence
    /// or lists its own places (no query then).
    pub async fn residence_places(
        &self,
        form: &crate::forms::Form,
    ) -> Arc<Vec<crate::forms::ResidencePlace>> {
        match form.residence_item().map(|i| &i.kind) {
            Some(crate::forms::ItemKind::Residence { places: None }) => {
                self.residence_places
                    .get(&self.pool, self.spool.outage_is_recent())
                    .await
            }
            _ => Arc::default(),
        }
    }
}

/// Largest JSON body the API reads (`web::Json`).
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Largest urlencoded body read through `web::Form` (the citizen's survey and the staff forms
/// read their bodies with limits of their own).
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// Largest raw body read through `web::Bytes` / `String`.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// How long a client may take to send a request's headers (slow clients, "slowloris").
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body once its headers are in (slow bodies):
/// a reader of the body then gets an error, and the connection is closed after the answer.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an idle keep-alive connection stays open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long requests in progress may finish once the server is asked to stop.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// The client as the per-client limits count it (the survey's limits and the sign-in
/// throttle alike): [`limiting_key`] of its address, which is the peer's, or, when the peer is
/// a trusted reverse proxy (loopback, or listed in `SIPAS_TRUSTED_PROXIES`), the last entry of
/// `X-Forwarded-For` (the one that proxy added; earlier entries are whatever the client
/// claimed).
pub(crate) fn client_limit_key(config: &Config, request: &actix_web::HttpRequest) -> String {
    // A dual-stack listener reports IPv4 peers as mapped IPv6 addresses.
    let peer = request.peer_addr().map(|a| a.ip().to_canonical());
    let trusted =
        peer.is_some_and(|ip| ip.is_loopback() || config.visits.trusted_proxies.contains(&ip));
    if trusted {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
            .and_then(|v| v.parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return limiting_key(ip);
        }
    }
    peer.map_or_else(|| "unknown".to_string(), limiting_key)
}

/// What a client address counts as for the per-client limits: an IPv4 address as it is, an
/// IPv4-mapped IPv6 address (`::ffff:10.3.1.1`) as its IPv4 address, any other IPv6 address
/// as its /64 (`2001:db8:1:2::/64`): a subscriber holds at least a whole /64, and would
/// otherwise have 2^64 buckets.
pub fn limiting_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
    }
}

/// A request body that must arrive whole before a deadline (see [`BODY_TIMEOUT`]).
struct BodyDeadline {
    inner: actix_web::dev::Payload,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl futures_util::Stream for BodyDeadline {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        use std::task::Poll;
        if let Poll::Ready(item) = std::pin::Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            tracing::info!("request body not received within {BODY_TIMEOUT:?}");
            return Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "request body too slow"),
            ))));
        }
        Poll::Pending
    }
}

/// Gives every request body [`BODY_TIMEOUT`] to arrive, counted from its headers: actix-web's
/// `client_request_timeout` covers the headers only.
async fn body_deadline(
    mut request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody + 'static>,
    actix_web::Error,
> {
    let payload = request.parts_mut().1.take();
    if matches!(payload, actix_web::dev::Payload::None) {
        request.set_payload(payload);
    } else {
        let limited: std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>> =
            Box::pin(BodyDeadline {
                inner: payload,
                deadline: Box::pin(tokio::time::sleep(BODY_TIMEOUT)),
            });
        request.set_payload(limited.into());
    }
    next.call(request).await
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
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ))
}

/// A JSON body the API cannot read: 413 when too large, 400 otherwise, in the API's JSON shape.
fn json_error(error: actix_web::error::JsonPayloadError) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let too_large = matches!(error, E::Overflow { .. } | E::OverflowKnownLength { .. });
    let (status, code, message) = if too_large {
        (
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Nội dung gửi lên vượt quá {} KB.", MAX_JSON_BYTES / 1024),
        )
    } else {
        (
            actix_web::http::StatusCode::BAD_REQUEST,
            "bad_request",
            "Nội dung JSON không đọc được.".to_string(),
        )
    };
    let body = serde_json::json!({ "error": message, "code": code });
    actix_web::error::InternalError::from_response(
        error,
        HttpResponse::build(status)
            .content_type("application/json")
            .body(body.to_string()),
    )
    .into()
}

/// A form body that cannot be read: our 413 page when too large, our 400 page otherwise.
fn form_error(error: actix_web::error::UrlencodedError) -> AppError {
    use actix_web::error::UrlencodedError as E;
    match error {
        E::Overflow { .. } => AppError::PayloadTooLarge,
        _ => AppError::BadRequest,
    }
}

/// The span every request's log lines carry: the method, the route's pattern ("/v/{code}", never
/// the one-time code itself: with the time of the request, it would lead from the code, and the
/// dossier it was handed out with, to the response stored at that second), the status and the
/// error. No query string (a comment search), no address, no user agent: the logs say what the
/// service did, not who asked (docs/privacy.md, "Logs").
pub struct PrivateRootSpan;

impl tracing_actix_web::RootSpanBuilder for PrivateRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage as _;
        // Found once by the request timer (outermost), else here.
        let found = request
            .extensions()
            .get::<metrics::RoutePattern>()
            .map(|pattern| pattern.0.clone());
        let route = found
            .unwrap_or_else(|| request.match_pattern())
            .unwrap_or_else(|| "(no route)".to_string());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Starts the HTTP server on an already bound listener.
pub fn server(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            // gzip for what compresses (HTML, CSS, JSON, CSV; not images); the innermost
            // layer, so that the security headers and the log see the final response.
            .wrap(actix_web::middleware::Compress::default())
            .wrap(crate::auth::session_middleware(
                &state.config,
                &state.secret,
            ))
            .wrap(security_headers())
            .wrap(TracingLogger::<PrivateRootSpan>::new())
            .wrap(actix_web::middleware::from_fn(body_deadline))
            // Outermost: the latency of everything above, by route pattern.
            .wrap(actix_web::middleware::from_fn(metrics::timed))
            .app_data(state.clone())
            // Unreadable query strings, paths and forms get our 400 page, not a bare text.
            .app_data(web::QueryConfig::default().error_handler(|_, _| AppError::BadRequest.into()))
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_FORM_BYTES)
                    .error_handler(|e, _| form_error(e).into()),
            )
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_JSON_BYTES)
                    .error_handler(|e, _| json_error(e)),
            )
            .app_data(web::PayloadConfig::default().limit(MAX_PAYLOAD_BYTES))
            .service(health::healthz)
            .service(metrics::exposition)
            .configure(survey::routes)
            .route("/", web::get().to(home))
            .route(STYLESHEET_PATH, web::get().to(|| stylesheet(STYLESHEET)))
            .route(
                STAFF_STYLESHEET_PATH,
                web::get().to(|| stylesheet(STAFF_STYLESHEET)),
            )
            .route(
                REPORT_STYLESHEET_PATH,
                web::get().to(|| stylesheet(REPORT_STYLESHEET)),
            )
            // The addresses the pages link, under the files' content hash: cached for a year.
            .route(
                STYLESHEET_HREF.as_str(),
                web::get().to(|| immutable_stylesheet(STYLESHEET)),
            )
            .route(
                STAFF_STYLESHEET_HREF.as_str(),
                web::get().to(|| immutable_stylesheet(STAFF_STYLESHEET)),
            )
            .route(
                REPORT_STYLESHEET_HREF.as_str(),
                web::get().to(|| immutable_stylesheet(REPORT_STYLESHEET)),
            )
            .route(FAVICON_PATH, web::get().to(favicon))
            .configure(staff::routes)
            .configure(api::routes)
            .configure(public::routes)
            .configure(privacy::routes)
            .default_service(web::to(not_found))
    })
    // Slow or idle clients do not hold connections for long; a stop lets requests in progress
    // finish, within limits.
    .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
    .client_disconnect_timeout(Duration::from_secs(2))
    .keep_alive(KeepAlive::Timeout(KEEP_ALIVE))
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
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

/// A stylesheet at its hashed address: its content never changes there.
async fn immutable_stylesheet(css: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(css)
}

/// The site's icon, cached for 30 days (its address has no hash).
async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/x-icon")
        .insert_header(("Cache-Control", "public, max-age=2592000"))
        .body(FAVICON)
}

pub(crate) async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_slash_64_and_mapped_ipv4_as_ipv4() {
        let key = |text: &str| limiting_key(text.parse().unwrap());
        assert_eq!(key("10.3.1.1"), "10.3.1.1");
        assert_eq!(key("::ffff:10.3.1.1"), "10.3.1.1");
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::1"), "::/64");
    }
}
