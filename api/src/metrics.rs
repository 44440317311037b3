//! Prometheus metrics of the api's requests, served (with the process's other metrics) on
//! the separate `KEEL_API_METRICS_ADDR` listener by `keel_shared::probe`, never on the
//! public port.
//!
//! `keel_api_requests_total` and `keel_api_request_duration_seconds` are labelled by method,
//! route template (never the raw path, which holds ids; every path no route matches is
//! `(no route)`) and status class, and `keel_api_requests_in_flight` counts the requests
//! being answered. Labels cost nothing per request: each route's series are registered
//! once, on the route's first request with that method and status class, and kept as
//! handles (atomics) in [`RouteMetrics`].

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use metrics::{Counter, Gauge, Histogram};

/// The route label of requests no route matched (404s, 405s): one label, so that random
/// paths cannot create series.
pub const NO_ROUTE: &str = "(no route)";

/// The method labels; anything else is `OTHER` (methods are client-chosen strings).
const METHODS: [(Method, &str); 7] = [
    (Method::GET, "GET"),
    (Method::HEAD, "HEAD"),
    (Method::POST, "POST"),
    (Method::PUT, "PUT"),
    (Method::PATCH, "PATCH"),
    (Method::DELETE, "DELETE"),
    (Method::OPTIONS, "OPTIONS"),
];
const OTHER_METHOD: &str = "OTHER";

/// Status classes, by `status / 100 - 1`.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A request's count and duration series.
type Series = (Counter, Histogram);

/// One route template's series, made on first use.
pub struct RouteMetrics {
    template: String,
    series: [[OnceLock<Series>; CLASSES.len()]; METHODS.len() + 1],
}

impl RouteMetrics {
    fn new(template: String) -> Self {
        Self {
            template,
            series: Default::default(),
        }
    }

    /// The route template (`/api/v1/auth/sessions/{id}`), or [`NO_ROUTE`].
    pub fn template(&self) -> &str {
        &self.template
    }

    fn record(&self, method: usize, status: StatusCode, started: Instant) {
        let class = usize::from(status.as_u16() / 100)
            .saturating_sub(1)
            .min(CLASSES.len() - 1);
        let (count, duration) = self.series[method][class].get_or_init(|| {
            let method = METHODS.get(method).map_or(OTHER_METHOD, |(_, label)| label);
            let labels = [
                ("method", method.to_owned()),
                ("route", self.template.clone()),
                ("status_class", CLASSES[class].to_owned()),
            ];
            (
                metrics::counter!("keel_api_requests_total", &labels),
                metrics::histogram!("keel_api_request_duration_seconds", &labels),
            )
        });
        count.increment(1);
        duration.record(started.elapsed().as_secs_f64());
    }
}

/// The route of a request, in its extensions (set by [`observe`]; Sentry tags it too).
#[derive(Clone)]
pub struct Route(pub Arc<RouteMetrics>);

/// Every route template seen, with its series. Bounded: the templates are the app's
/// registered routes plus [`NO_ROUTE`].
static ROUTES: LazyLock<RwLock<HashMap<String, Arc<RouteMetrics>>>> =
    LazyLock::new(RwLock::default);

static IN_FLIGHT: LazyLock<Gauge> =
    LazyLock::new(|| metrics::gauge!("keel_api_requests_in_flight"));

fn route(template: Option<String>) -> Arc<RouteMetrics> {
    let template = template.unwrap_or_else(|| NO_ROUTE.to_owned());
    if let Some(found) = ROUTES
        .read()
        .ok()
        .and_then(|routes| routes.get(&template).cloned())
    {
        return found;
    }
    let mut routes = ROUTES
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Arc::clone(
        routes
            .entry(template.clone())
            .or_insert_with(|| Arc::new(RouteMetrics::new(template))),
    )
}

/// Makes the api's counters and gauges exist from the start (at 0), so that rates and
/// alerts over them have a series before the first event.
pub fn register_counters() {
    for limit in ["global", "endpoint"] {
        metrics::counter!("keel_api_rate_limited_total", "limit" => limit).increment(0);
    }
    metrics::counter!("keel_api_rate_limit_fail_open_total").increment(0);
    for gauge in [
        "keel_password_hashes_in_flight",
        "keel_password_hashes_waiting",
    ] {
        metrics::gauge!(gauge).increment(0.0);
    }
    IN_FLIGHT.increment(0.0);
}

/// Counts the request in `keel_api_requests_in_flight` while it lives.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        IN_FLIGHT.increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.decrement(1.0);
    }
}

/// The middleware (`from_fn(observe)`); wrap it outermost but Sentry's, so that it times
/// and counts every answer, those of the other middleware included.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let _in_flight = InFlight::enter();
    let route = route(req.match_pattern());
    let method = METHODS
        .iter()
        .position(|(m, _)| m == req.method())
        .unwrap_or(METHODS.len());
    req.extensions_mut().insert(Route(Arc::clone(&route)));
    let result = next.call(req).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    route.record(method, status, started);
    result.map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_registered_once() {
        let a = route(Some("/api/v1/test/{id}".to_owned()));
        let b = route(Some("/api/v1/test/{id}".to_owned()));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(route(None).template(), NO_ROUTE);
    }
}
