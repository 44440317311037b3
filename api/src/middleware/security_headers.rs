//! The security headers of every response, built once from
//! [`keel_shared::config::SecurityHeadersConfig`] and stamped on the way out: the fixed set
//! and the Content-Security-Policy of the path (each unless the handler set its own), HSTS in
//! production or when the request came over HTTPS, and `Cache-Control: no-store` on
//! authenticated and auth responses.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use keel_shared::config::SecurityHeadersConfig;

use super::proxy::ClientAddr;
use crate::state::AppState;

/// The headers, parsed once at startup.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    always: Vec<(HeaderName, HeaderValue)>,
    csp: Option<HeaderValue>,
    csp_paths: Vec<(String, HeaderValue)>,
    hsts: Option<HeaderValue>,
    hsts_always: bool,
}

/// Auth endpoints answer with tokens or about credentials: never cached.
const AUTH_PREFIX: &str = "/api/v1/auth/";

fn value(v: &str) -> HeaderValue {
    // The config refused anything that is not a valid header value.
    HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl SecurityHeaders {
    /// Parses the configured values.
    pub fn new(config: &SecurityHeadersConfig) -> Self {
        Self {
            always: config
                .always
                .iter()
                .map(|(name, v)| (HeaderName::from_static(name), value(v)))
                .collect(),
            csp: config.csp.as_deref().map(value),
            csp_paths: config
                .csp_paths
                .iter()
                .map(|(prefix, policy)| (prefix.clone(), value(policy)))
                .collect(),
            hsts: config.hsts.as_deref().map(value),
            hsts_always: config.hsts_always,
        }
    }

    fn csp_for(&self, path: &str) -> Option<&HeaderValue> {
        self.csp_paths
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, policy)| policy)
            .or(self.csp.as_ref())
    }
}

/// The middleware (`from_fn(security_headers)`).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let no_store =
        req.path().starts_with(AUTH_PREFIX) || req.headers().contains_key(header::AUTHORIZATION);
    let mut res = next.call(req).await?.map_into_boxed_body();
    let set = &state.security_headers;
    let https = res
        .request()
        .extensions()
        .get::<ClientAddr>()
        .is_some_and(|c| c.https);
    let csp = set.csp_for(res.request().path()).cloned();
    let headers = res.headers_mut();
    for (name, value) in &set.always {
        // A handler that set one of these meant it (the media route lets other origins
        // embed its images with `Cross-Origin-Resource-Policy: cross-origin`).
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    if let Some(csp) = csp
        && !headers.contains_key(header::CONTENT_SECURITY_POLICY)
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if let Some(hsts) = &set.hsts
        && (set.hsts_always || https)
    {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    if no_store {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.remove(header::SERVER);
    Ok(res)
}
