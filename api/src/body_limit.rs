//! Request body caps. Every route's JSON, form and raw bodies are capped at
//! `KEEL_API_BODY_LIMIT_BYTES` (64 KiB by default, set app-wide by [`caps`] in `startup.rs`);
//! a route that needs another cap says so on its handler, and only there:
//!
//! ```ignore
//! #[post("/api/v1/users/me/avatar", wrap = "BodyLimit::bytes(2 * 1024 * 1024)")]
//! // or, from a setting of its own:
//! #[post("/api/v1/users/me/avatar", wrap = "BodyLimit::from_config(|c| c.media.max_bytes)")]
//! ```
//!
//! [`BodyLimit`] puts the route's own extractor settings in front of the app's (actix looks
//! up extractor settings from the innermost scope outwards). A body over the cap is answered
//! 413 `payload_too_large` naming the cap, before the handler runs.

use std::cell::OnceCell;
use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::dev::{Extensions, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, web};
use keel_shared::Config;

use crate::error::{form_error_handler, json_error_handler};
use crate::state::AppState;

/// The extractor settings that cap JSON, form and raw bodies at `limit` bytes, each
/// rejecting a larger body with 413 problem+json naming `limit`.
pub fn caps(limit: usize) -> (web::JsonConfig, web::FormConfig, web::PayloadConfig) {
    (
        web::JsonConfig::default()
            .limit(limit)
            .error_handler(json_error_handler(limit)),
        web::FormConfig::default()
            .limit(limit)
            .error_handler(form_error_handler(limit)),
        web::PayloadConfig::default().limit(limit),
    )
}

/// Where a route's cap comes from.
#[derive(Clone, Copy)]
enum Cap {
    Bytes(usize),
    Config(fn(&Config) -> usize),
}

/// A route's own body cap (`wrap = "BodyLimit::bytes(..)"` on its handler).
#[derive(Clone, Copy)]
pub struct BodyLimit(Cap);

impl BodyLimit {
    /// At most `limit` bytes.
    pub const fn bytes(limit: usize) -> Self {
        Self(Cap::Bytes(limit))
    }

    /// At most what `setting` reads from the configuration (read once per worker thread).
    pub const fn from_config(setting: fn(&Config) -> usize) -> Self {
        Self(Cap::Config(setting))
    }
}

impl<S, B> Transform<S, ServiceRequest> for BodyLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = BodyLimitService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BodyLimitService {
            service,
            cap: self.0,
            settings: OnceCell::new(),
        }))
    }
}

/// [`BodyLimit`] around one route.
pub struct BodyLimitService<S> {
    service: S,
    cap: Cap,
    /// The route's extractor settings, made on its first request.
    settings: OnceCell<Rc<Extensions>>,
}

impl<S> BodyLimitService<S> {
    fn settings(&self, req: &ServiceRequest) -> Option<Rc<Extensions>> {
        if let Some(settings) = self.settings.get() {
            return Some(Rc::clone(settings));
        }
        let limit = match self.cap {
            Cap::Bytes(limit) => limit,
            Cap::Config(setting) => setting(&req.app_data::<web::Data<AppState>>()?.config),
        };
        let (json, form, payload) = caps(limit);
        let mut settings = Extensions::new();
        settings.insert(json);
        settings.insert(form);
        settings.insert(payload);
        Some(Rc::clone(self.settings.get_or_init(|| Rc::new(settings))))
    }
}

impl<S, B> Service<ServiceRequest> for BodyLimitService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = S::Future;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if let Some(settings) = self.settings(&req) {
            req.add_data_container(settings);
        }
        self.service.call(req)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::{App, HttpResponse, post, test};

    use super::*;

    #[derive(serde::Deserialize)]
    struct Note {
        #[expect(dead_code, reason = "the body only has to parse")]
        text: String,
    }

    #[post("/small")]
    async fn small(_: web::Json<Note>) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    #[post("/large", wrap = "BodyLimit::bytes(4096)")]
    async fn large(_: web::Json<Note>) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    #[post(
        "/configured",
        wrap = "BodyLimit::from_config(|c| c.api.body_limit * 4)"
    )]
    async fn configured(_: web::Json<Note>) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    fn note(len: usize) -> serde_json::Value {
        serde_json::json!({ "text": "x".repeat(len) })
    }

    #[actix_web::test]
    async fn a_route_with_its_own_cap_accepts_more_than_the_app_wide_one() {
        let (json, form, payload) = caps(64);
        let app = test::init_service(
            App::new()
                .app_data(json)
                .app_data(form)
                .app_data(payload)
                .service(small)
                .service(large),
        )
        .await;
        let send = |path: &'static str, len: usize| {
            test::TestRequest::post()
                .uri(path)
                .set_json(note(len))
                .to_request()
        };

        let res = test::call_service(&app, send("/large", 1000)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);

        let res = test::call_service(&app, send("/small", 1000)).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["code"], "payload_too_large");
        assert!(body["detail"].as_str().is_some_and(|d| d.contains(" 64 ")));

        let res = test::call_service(&app, send("/large", 5000)).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: serde_json::Value = test::read_body_json(res).await;
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains(" 4096 ")),
            "{body}"
        );
    }

    #[actix_web::test]
    async fn a_cap_can_come_from_the_configuration() {
        let config = Config::from_vars([("KEEL_API_BODY_LIMIT_BYTES", "100")]).expect("valid");
        let (json, form, payload) = caps(config.api.body_limit);
        let state = AppState::new(config).expect("state builds without dialling anything");
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(state))
                .app_data(json)
                .app_data(form)
                .app_data(payload)
                .service(small)
                .service(configured),
        )
        .await;
        let send = |path: &'static str| {
            test::TestRequest::post()
                .uri(path)
                .set_json(note(300))
                .to_request()
        };

        assert_eq!(
            test::call_service(&app, send("/configured")).await.status(),
            StatusCode::NO_CONTENT,
            "4 × KEEL_API_BODY_LIMIT_BYTES"
        );
        let res = test::call_service(&app, send("/small")).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
