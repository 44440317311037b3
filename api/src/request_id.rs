//! Request ids: taken from the client's `X-Request-Id` when well-formed, generated (UUID v7)
//! otherwise; echoed in the response and recorded on the request's span, so every log line of
//! the request carries it. Also logs one line per completed request.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

/// The header carrying the id in both directions.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client id is kept when it is 1 to 128 characters of `A-Z a-z 0-9 - _ . :`; anything else
/// (empty, too long, spaces, control characters) would pollute logs, so a new one is made.
pub fn is_well_formed(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The middleware (`actix_web::middleware::from_fn(request_id)`).
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_well_formed(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "http.request",
        request_id = %id,
        http.method = %req.method(),
        http.path = %req.path(),
    );
    let started = Instant::now();
    // Handlers turn their errors into responses; an `Err` here comes from a middleware
    // further in, and actix renders it after this one, without our header.
    let mut res = next
        .call(req)
        .instrument(span.clone())
        .await
        .inspect_err(|e| {
            span.in_scope(|| tracing::warn!(error = %e, "request failed in middleware"))
        })?
        .map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = res.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(http.status = status, duration_ms, "request completed"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::is_well_formed;

    #[test]
    fn ordinary_ids_are_kept() {
        assert!(is_well_formed("0190f1c2-7d4e-7a00-8000-000000000000"));
        assert!(is_well_formed("req_abc.123:x"));
    }

    #[test]
    fn hostile_ids_are_replaced() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("a b"));
        assert!(!is_well_formed("line\nbreak"));
        assert!(!is_well_formed(&"x".repeat(129)));
    }
}
