//! The one piece of shared state every handler receives.

use anyhow::Context;
use std::sync::Arc;

use keel_shared::Config;
use keel_shared::accounts::Accounts;
use keel_shared::auth::jwt::JwtKeys;
use keel_shared::db::PgPool;
use keel_shared::jobs::Queue;
use keel_shared::media::Media;
use keel_shared::ratelimit::Limiter;
use keel_shared::redis::RedisPool;
use keel_shared::{db, redis};

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

impl AppState {
    /// Builds the pools (connecting lazily: nothing is dialled here), the keys, the account
    /// operations and the prebuilt contract from `config`.
    pub fn new(config: Config) -> anyhow::Result<Self> {
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
        let media = Media::new(&config.media)
            .context("cannot open media storage (KEEL_MEDIA_ROOT / KEEL_MEDIA_S3_*)")?;
        let config = Arc::new(config);
        let accounts =
            keel_shared::accounts::Accounts::new(db.clone(), Arc::clone(&config), Arc::clone(&jwt));
        Ok(Self {
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
            security_headers: Arc::new(SecurityHeaders::new(&config.security_headers)),
            config,
        })
    }
}
