//! Builds the api: pools, state, routes, middleware, and the HTTP server on its own listener
//! (port 0 in tests).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::KeepAlive;
use actix_web::middleware::{Compress, Condition, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use keel_shared::Config;
use keel_shared::probe::{ProbeServer, ProbeState};
use utoipa_actix_web::AppExt;

use crate::error::{path_error_handler, query_error_handler};
use crate::fallback::fallback;
use crate::middleware;
use crate::request_id::request_id;
use crate::state::AppState;

/// Body limits and the problem+json rejections of every extractor (JSON, form, raw bytes,
/// path, query): no actix rejection leaves as `text/plain`. `body_limit` is the app-wide cap;
/// a route sets its own with [`crate::body_limit::BodyLimit`].
pub fn configure_extractors(cfg: &mut web::ServiceConfig, body_limit: usize) {
    let (json, form, payload) = crate::body_limit::caps(body_limit);
    cfg.app_data(json)
        .app_data(form)
        .app_data(payload)
        .app_data(web::PathConfig::default().error_handler(path_error_handler))
        .app_data(web::QueryConfig::default().error_handler(query_error_handler));
}

/// A built, bound, not yet running api.
pub struct Application {
    port: u16,
    server: Server,
    metrics: Option<ProbeServer>,
}

impl Application {
    /// Binds `KEEL_API_ADDR` (and `KEEL_API_METRICS_ADDR`) and prepares the server. Pools
    /// connect lazily, so a database that is down does not stop the api from starting (it
    /// answers `/readyz` 503).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        keel_shared::auth::password::limit_concurrency(config.auth.hash_concurrency);
        // Before any metric is touched, so that every handle records.
        let render = keel_shared::probe::install_metrics();
        crate::metrics::register_counters();
        let state = AppState::new(config)?;
        let listener = TcpListener::bind(state.config.api.addr)
            .with_context(|| format!("cannot listen on KEEL_API_ADDR={}", state.config.api.addr))?;
        let port = listener.local_addr()?.port();
        let metrics = match state.config.api.metrics_addr {
            None => None,
            Some(addr) => Some(
                ProbeServer::start(
                    addr,
                    ProbeState {
                        pg: state.db.clone(),
                        redis: state.redis.clone(),
                        timeout: state.config.ready_timeout,
                        draining: Arc::default(),
                        metrics: Some(render),
                    },
                )
                .with_context(|| format!("cannot listen on KEEL_API_METRICS_ADDR={addr}"))?,
            ),
        };
        let workers = match state.config.api.workers {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        let grace = state.config.shutdown_grace.as_secs();
        let limit = state.config.api.body_limit;
        let docs_pages = state.config.docs.pages;
        // Without a Sentry client (no `SENTRY_DSN`) nothing reaches Sentry: its middleware (a
        // hub, a transaction and a copy of the request per request: half of a `/healthz`
        // answer's CPU) is left out.
        let sentry_on = sentry::Hub::main().client().is_some_and(|c| c.is_enabled());
        let api = state.config.api.clone();
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .configure(crate::routes::configure)
                .split_for_parts();
            app.app_data(data.clone())
                .configure(|cfg| configure_extractors(cfg, limit))
                .configure(|cfg| crate::docs::configure(cfg, docs_pages))
                .default_service(web::to(fallback))
                .wrap(from_fn(crate::object_bodies::refuse_json_arrays))
                .wrap(Compress::default())
                .wrap(Condition::new(
                    sentry_on,
                    from_fn(crate::observe::tag_request),
                ))
                .wrap(from_fn(middleware::rate_limit::rate_limit))
                .wrap(from_fn(middleware::proxy::client_addr))
                .wrap(from_fn(middleware::cors::cors))
                .wrap(from_fn(middleware::security_headers::security_headers))
                .wrap(from_fn(request_id))
                .wrap(from_fn(crate::metrics::observe))
                .wrap(Condition::new(
                    sentry_on,
                    crate::observe::sentry_middleware(),
                ))
        })
        .workers(workers)
        .shutdown_timeout(grace)
        .client_request_timeout(api.client_request_timeout)
        .client_disconnect_timeout(api.client_disconnect_timeout)
        .keep_alive(if api.keep_alive.is_zero() {
            KeepAlive::Disabled
        } else {
            KeepAlive::Timeout(api.keep_alive)
        })
        .max_connections(api.max_connections)
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            metrics,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` is served on (`None` with `KEEL_API_METRICS_ADDR=off`).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|m| m.local_addr().port())
    }

    /// A handle to stop it gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped through [`Application::handle`]; in-flight requests get
    /// `KEEL_SHUTDOWN_GRACE_SECS` to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(metrics) = self.metrics {
            metrics.stop().await;
        }
        served
    }
}
