//! `GET /metrics` (Prometheus, issue 18) and the request timer every route goes through.
//!
//! The exposition is for the machine's own scraper or one holding `SIPAS_METRICS_TOKEN`:
//! any other client gets the same 404 page as an unknown address.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, get, web};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::app::metrics::CONTENT_TYPE;
use crate::config::MetricsToken;
use crate::error::AppError;

/// Headers a reverse proxy adds: behind one, every request comes from loopback, so any of
/// them means the client is somewhere else.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

/// Whether a request may read the metrics: with `Authorization: Bearer {token}` when a token
/// is configured (compared in constant time), or else from a loopback peer that no proxy
/// forwarded. A request presenting a wrong token is refused wherever it comes from.
pub fn may_read(peer: Option<IpAddr>, headers: &HeaderMap, token: Option<&MetricsToken>) -> bool {
    if let Some(presented) = headers.get(AUTHORIZATION) {
        let presented = presented
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        return match (presented, token) {
            // Digests of equal length: the comparison tells nothing of the token's length.
            (Some(presented), Some(token)) => bool::from(
                Sha256::digest(presented.as_bytes()).ct_eq(&Sha256::digest(token.expose())),
            ),
            _ => false,
        };
    }
    let local = peer.is_some_and(|ip| ip.to_canonical().is_loopback());
    local && !FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h))
}

/// The metrics in the OpenMetrics text format, or the 404 page (see [`may_read`]).
#[get("/metrics")]
pub async fn exposition(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let peer = request.peer_addr().map(|a| a.ip());
    if !may_read(peer, request.headers(), state.config.metrics_token.as_ref()) {
        return Err(AppError::NotFound);
    }
    let body = state.metrics.render(&state.spool.status(), &state.pool);
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body))
}

/// The matched route's pattern of a request (`None`: no route matched), found once by
/// [`timed`] and kept in the request's extensions for the request log's span
/// ([`super::PrivateRootSpan`]): finding it walks the routes.
#[derive(Debug, Clone)]
pub struct RoutePattern(pub Option<String>);

/// Times every request into `sipas_http_request_duration_seconds`, labelled by the matched
/// route's pattern (`/s/{code}`, never the code), the method and the status class. Registered
/// once, outermost, in [`super::server`].
pub async fn timed(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let counter = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let route = request.match_pattern();
    request.extensions_mut().insert(RoutePattern(route.clone()));
    let method = request.method().clone();
    let answered = next.call(request).await;
    if let Some(counter) = counter {
        let status = match &answered {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        counter.request(route, method.as_str(), status.as_u16(), started.elapsed());
    }
    answered
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn only_the_machine_itself_or_the_token_holder_reads_the_metrics() {
        let token = MetricsToken::from_lookup(&|_: &str| Some("t".repeat(40)))
            .unwrap()
            .unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let remote: IpAddr = "203.0.113.7".parse().unwrap();
        let bearer = format!("Bearer {}", "t".repeat(40));
        let none = headers(&[]);
        assert!(may_read(Some(loopback), &none, None));
        assert!(may_read(Some(mapped), &none, None));
        assert!(may_read(Some("::1".parse().unwrap()), &none, Some(&token)));
        assert!(!may_read(Some(remote), &none, Some(&token)));
        assert!(!may_read(None, &none, None));
        for forwarded in ["x-forwarded-for", "forwarded", "x-real-ip"] {
            let h = headers(&[(forwarded, "203.0.113.7")]);
            assert!(!may_read(Some(loopback), &h, None), "{forwarded}");
        }
        let with_token = headers(&[("authorization", &bearer), ("x-forwarded-for", "1.2.3.4")]);
        assert!(may_read(Some(remote), &with_token, Some(&token)));
        assert!(!may_read(Some(remote), &with_token, None));
        let wrong = headers(&[("authorization", &format!("Bearer {}", "u".repeat(40)))]);
        assert!(!may_read(Some(remote), &wrong, Some(&token)));
        assert!(!may_read(Some(loopback), &wrong, Some(&token)));
        let basic = headers(&[("authorization", "Basic dGVzdA==")]);
        assert!(!may_read(Some(remote), &basic, Some(&token)));
    }
}
