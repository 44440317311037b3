//! Builds the api: pools, state, routes, middleware, and the HTTP server on its own listener
//! (port 0 in tests).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use keel_shared::jobs::Queue;
use keel_shared::{Config, db, redis};
use utoipa_actix_web::AppExt;

use crate::error::{
    form_error_handler, json_error_handler, path_error_handler, query_error_handler,
};
use crate::fallback::{RouteTable, fallback};
use crate::middleware;
use crate::request_id::request_id;
use crate::state::AppState;

/// Body limits and the problem+json rejections of every extractor (JSON, form, raw bytes,
/// path, query): no actix rejection leaves as `text/plain`.
pub fn configure_extractors(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .error_handler(json_error_handler(body_limit)),
    )
    .app_data(
        web::FormConfig::default()
            .limit(body_limit)
            .error_handler(form_error_handler(body_limit)),
    )
    .app_data(web::PathConfig::default().error_handler(path_error_handler))
    .app_data(web::QueryConfig::default().error_handler(query_error_handler))
    .app_data(web::PayloadConfig::default().limit(body_limit));
}

/// A built, bound, not yet running api.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `KEEL_API_ADDR` and prepares the server. Pools connect lazily, so a database
    /// that is down does not stop the api from starting (it answers `/readyz` 503).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        keel_shared::auth::password::limit_concurrency(config.auth.hash_concurrency);
        let db = db::pool(&config.database, "keel-api")?;
        let redis = redis::pool(&config.redis)?;
        let doc = crate::openapi::document_for(&config.docs);
        let queue = Queue::new(
            redis.clone(),
            keel_shared::redis::Keys::new(config.redis.key_prefix.clone()),
        );
        let limiter = keel_shared::ratelimit::Limiter::new(
            redis.clone(),
            keel_shared::redis::Keys::new(config.redis.key_prefix.clone()),
        );
        let jwt = Arc::new(keel_shared::auth::jwt::JwtKeys::new(
            &config.auth.jwt_keys,
            config.auth.access_ttl,
            &config.auth.jwt_issuer,
            &config.auth.jwt_audience,
        ));
        let oauth = keel_shared::oauth::OAuth::new(
            config.oauth.clone(),
            redis.clone(),
            keel_shared::redis::Keys::new(config.redis.key_prefix.clone()),
        );
        let media = keel_shared::media::Media::new(&config.media)
            .context("cannot open media storage (KEEL_MEDIA_ROOT / KEEL_MEDIA_S3_*)")?;
        let config = Arc::new(config);
        let accounts =
            keel_shared::accounts::Accounts::new(db.clone(), Arc::clone(&config), Arc::clone(&jwt));
        let state = AppState {
            db,
            redis,
            queue,
            jwt,
            accounts,
            limiter,
            media,
            oauth,
            routes: Arc::new(RouteTable::from_openapi(&doc)),
            schema: Arc::new(crate::openapi::SchemaDocument::new(&doc)),
            security_headers: Arc::new(middleware::security_headers::SecurityHeaders::new(
                &config.security_headers,
            )),
            config,
        };
        let listener = TcpListener::bind(state.config.api.addr)
            .with_context(|| format!("cannot listen on KEEL_API_ADDR={}", state.config.api.addr))?;
        let port = listener.local_addr()?.port();
        let workers = match state.config.api.workers {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        let grace = state.config.shutdown_grace.as_secs();
        let limit = state.config.api.body_limit;
        let docs_pages = state.config.docs.pages;
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
                .wrap(from_fn(crate::observe::tag_request))
                .wrap(from_fn(middleware::proxy::client_addr))
                .wrap(from_fn(middleware::cors::cors))
                .wrap(from_fn(middleware::security_headers::security_headers))
                .wrap(from_fn(request_id))
                .wrap(crate::observe::sentry_middleware())
        })
        .workers(workers)
        .shutdown_timeout(grace)
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self { port, server })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop it gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped through [`Application::handle`]; in-flight requests get
    /// `KEEL_SHUTDOWN_GRACE_SECS` to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
