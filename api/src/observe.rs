//! Sentry on the api. `sentry-actix` gives each request a hub of its own and a transaction
//! named by method and route template (continuing a `sentry-trace` header); [`tag_request`]
//! tags the request's scope with its id and route template; [`set_user`] records the signed-in
//! user's id (nothing else about them).
//!
//! Errors reach Sentry where they are logged: a 5xx is logged at `error` level by
//! `error::ApiError`, once, and Sentry's tracing layer turns that line into the event. So
//! sentry-actix's own capture of 5xx responses is off (it would report each one twice), and
//! 4xx, logged below `error`, are never events. Panics are reported by the panic integration
//! on the request's hub.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use crate::request_id::RequestId;

/// The hub-per-request middleware; wrap it outside [`tag_request`] and the request id
/// middleware, so that everything they do happens on the request's hub.
pub fn sentry_middleware() -> sentry_actix::Sentry {
    sentry_actix::Sentry::builder()
        .start_transaction(true)
        .capture_server_errors(false)
        .finish()
}

/// Tags the request's Sentry scope with `request_id` and `route` (the template, never the raw
/// path, which may hold ids). Wrap it inside the request id middleware.
pub async fn tag_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    // The metrics middleware found the template already (it wraps this one).
    let found = req
        .extensions()
        .get::<crate::metrics::Route>()
        .map(|r| r.0.template().to_owned());
    let route = found
        .or_else(|| req.match_pattern())
        .unwrap_or_else(|| crate::metrics::NO_ROUTE.to_owned());
    // The transaction's copy of the request skips `before_send`: give it the scrubbed one.
    let request = scrubbed_request(&req, &route);
    sentry::configure_scope(|scope| {
        if let Some(id) = &request_id {
            scope.set_tag("request_id", id);
        }
        scope.set_tag("route", &route);
        if let Some(sentry::TransactionOrSpan::Transaction(transaction)) = scope.get_span() {
            transaction.set_request(request);
        }
    });
    next.call(req).await
}

/// What Sentry may know of a request: method, route template (no raw path, no query) and
/// the headers whose names are not secret.
fn scrubbed_request(req: &ServiceRequest, route: &str) -> sentry::protocol::Request {
    let info = req.connection_info();
    let mut request = sentry::protocol::Request {
        url: format!("{}://{}{route}", info.scheme(), info.host())
            .parse()
            .ok(),
        method: Some(req.method().to_string()),
        ..Default::default()
    };
    request.headers = req
        .headers()
        .iter()
        .filter(|(name, _)| !keel_shared::telemetry::scrub::is_secret_name(name.as_str()))
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect();
    request
}

/// Records the signed-in user's id on the request's Sentry scope.
pub fn set_user(id: impl ToString) {
    sentry::configure_scope(|scope| {
        scope.set_user(Some(sentry::User {
            id: Some(id.to_string()),
            ..Default::default()
        }));
    });
}
