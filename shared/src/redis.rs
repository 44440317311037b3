//! Redis access: the pool, key naming under the configured prefix, and readiness ping.

use deadpool_redis::{PoolConfig, Runtime, Timeouts};
use secrecy::ExposeSecret;

use crate::config::RedisConfig;

/// The Redis connection pool every process uses.
pub type RedisPool = deadpool_redis::Pool;

/// Why the pool could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PoolBuildError {
    /// deadpool refused the settings.
    #[error("cannot build the Redis pool: {0}")]
    Pool(#[from] deadpool_redis::BuildError),
    /// `REDIS_URL` or `KEEL_REDIS_CA_FILE` is unusable.
    #[error("cannot use REDIS_URL: {0}")]
    Url(#[from] redis::RedisError),
    /// `KEEL_REDIS_CA_FILE` could not be read.
    #[error("KEEL_REDIS_CA_FILE: {0}")]
    CaFile(#[from] std::io::Error),
}

/// Builds the pool. Like the PostgreSQL pool it connects lazily, and every wait is bounded by
/// `KEEL_REDIS_TIMEOUT_MS`. `rediss://` goes over rustls, trusting `KEEL_REDIS_CA_FILE` when
/// set, the system's roots otherwise.
pub fn pool(cfg: &RedisConfig) -> Result<RedisPool, PoolBuildError> {
    crate::tls::install_crypto_provider();
    let manager = match &cfg.ca_file {
        None => deadpool_redis::Manager::new(cfg.url.expose_secret())?,
        Some(path) => {
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(std::fs::read(path)?),
            };
            let client = redis::Client::build_with_tls(cfg.url.expose_secret(), certs)?;
            // deadpool's own `Config` drops TLS parameters; its manager keeps them.
            deadpool_redis::Manager::new(client.get_connection_info().clone())?
        }
    };
    let config = PoolConfig {
        max_size: cfg.pool_size,
        timeouts: Timeouts {
            wait: Some(cfg.timeout),
            create: Some(cfg.timeout),
            recycle: Some(cfg.timeout),
        },
        ..PoolConfig::default()
    };
    Ok(RedisPool::builder(manager)
        .config(config)
        .runtime(Runtime::Tokio1)
        .build()?)
}

/// Builds key names under the configured prefix, so several deployments (or tests) can share
/// one Redis without seeing each other's keys.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// `"<prefix>:<name>"`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The glob matching every key under the prefix (for `SCAN ... MATCH`).
    pub fn pattern(&self) -> String {
        format!("{}:*", self.prefix)
    }
}

/// Errors talking to Redis through the pool.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// No connection could be had in time.
    #[error("no Redis connection: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    /// The server answered with an error, or the connection broke mid-command.
    #[error("Redis command failed: {0}")]
    Command(#[from] redis::RedisError),
}

/// Checks that a connection can be had and answers `PING`.
#[tracing::instrument(skip_all)]
pub async fn ping(pool: &RedisPool) -> Result<(), RedisError> {
    let mut conn = pool.get().await?;
    let _: String = redis::cmd("PING").query_async(&mut conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn keys_are_namespaced_under_the_prefix() {
        let keys = Keys::new("keel");
        assert_eq!(keys.key("queue:default"), "keel:queue:default");
        assert_eq!(keys.pattern(), "keel:*");
    }
}
