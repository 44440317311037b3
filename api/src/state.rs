//! The one piece of shared state every handler receives.

use std::sync::Arc;

use keel_shared::Config;
use keel_shared::accounts::Accounts;
use keel_shared::auth::jwt::JwtKeys;
use keel_shared::db::PgPool;
use keel_shared::jobs::Queue;
use keel_shared::media::Media;
use keel_shared::ratelimit::Limiter;
use keel_shared::redis::RedisPool;

use crate::fallback::RouteTable;
use crate::middleware::security_headers::SecurityHeaders;

/// Pools, configuration and the prebuilt API contract; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// PostgreSQL.
    pub db: PgPool,
    /// Redis.
    pub redis: RedisPool,
    /// The job queue: handlers enqueue work here (or through the outbox, in their
    /// transaction) instead of doing it in the request.
    pub queue: Queue,
    /// Access-token keys (the bearer extractor checks tokens with them).
    pub jwt: Arc<JwtKeys>,
    /// The account operations (registration, login, sessions, 2FA, profile).
    pub accounts: Accounts,
    /// Abuse limits.
    pub limiter: Limiter,
    /// Media storage (avatars).
    pub media: Media,
    /// Social login.
    pub oauth: keel_shared::oauth::OAuth,
    /// The process configuration.
    pub config: Arc<Config>,
    /// The OpenAPI document, serialised (JSON and YAML) once at startup.
    pub schema: Arc<crate::openapi::SchemaDocument>,
    /// Documented routes, for 405 answers.
    pub routes: Arc<RouteTable>,
    /// The security headers, parsed once.
    pub security_headers: Arc<SecurityHeaders>,
}
