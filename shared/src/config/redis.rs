//! Redis: the connection URL, the pool and the key prefix every Keel key starts with.
//!
//! `rediss://` connects over TLS (rustls), checking the server's certificate against the
//! system's roots, or against `KEEL_REDIS_CA_FILE` when set. A password goes in the URL
//! (`rediss://:password@host:6380` or `rediss://user:password@...` with ACLs).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;
use super::vars::Vars;

/// Redis pool settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `REDIS_URL` (may hold a password).
    pub url: SecretString,
    /// `KEEL_REDIS_POOL_SIZE`: connections per process.
    pub pool_size: usize,
    /// `KEEL_REDIS_TIMEOUT_MS`: connect and acquire timeout.
    pub timeout: Duration,
    /// `KEEL_REDIS_PREFIX`: every key Keel writes starts with this and a colon.
    pub key_prefix: String,
    /// `KEEL_REDIS_CA_FILE`: PEM file of the CAs trusted for `rediss://` (instead of the
    /// system's roots).
    pub ca_file: Option<PathBuf>,
    /// Whether `REDIS_URL` carries a password.
    pub has_password: bool,
    /// Whether `REDIS_URL` is `rediss://`.
    pub tls: bool,
}

impl RedisConfig {
    /// `REDIS_URL` (checked), `KEEL_REDIS_PREFIX` (checked) and the pool settings.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let url = v.get_or("REDIS_URL", "redis://127.0.0.1:6379");
        let parsed = ::redis::parse_redis_url(url).ok_or_else(|| {
            ConfigError::new("REDIS_URL", "not a valid redis:// or rediss:// URL")
        })?;
        let tls = parsed.scheme() == "rediss";
        let ca_file = v.get("KEEL_REDIS_CA_FILE").map(PathBuf::from);
        if ca_file.is_some() && !tls {
            return Err(ConfigError::new(
                "KEEL_REDIS_CA_FILE",
                "is only used with a rediss:// REDIS_URL",
            ));
        }
        let key_prefix = v.get_or("KEEL_REDIS_PREFIX", "keel").to_owned();
        if !key_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err(ConfigError::new(
                "KEEL_REDIS_PREFIX",
                "may hold only letters, digits, '-', '_', '.' and ':'",
            ));
        }
        Ok(Self {
            url: SecretString::from(url.to_owned()),
            pool_size: v.size_or("KEEL_REDIS_POOL_SIZE", 16)?,
            timeout: v.millis_or("KEEL_REDIS_TIMEOUT_MS", 2_000)?,
            key_prefix,
            ca_file,
            has_password: parsed.password().is_some_and(|p| !p.is_empty()),
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_point_at_the_local_redis_with_the_keel_prefix() {
        let c = accepted(RedisConfig::from_vars, &[]);
        assert_eq!(c.url.expose_secret(), "redis://127.0.0.1:6379");
        assert_eq!(c.key_prefix, "keel");
        assert_eq!(c.timeout, Duration::from_secs(2));
    }

    #[test]
    fn a_url_that_is_not_redis_is_refused() {
        refused(RedisConfig::from_vars, "REDIS_URL", "http://127.0.0.1");
    }

    #[test]
    fn a_redis_prefix_with_spaces_is_refused() {
        let err = refused(RedisConfig::from_vars, "KEEL_REDIS_PREFIX", "a b");
        assert_eq!(
            err.problem,
            "may hold only letters, digits, '-', '_', '.' and ':'"
        );
    }

    #[test]
    fn a_password_and_tls_are_read_from_the_url() {
        let plain = accepted(RedisConfig::from_vars, &[]);
        assert!(!plain.has_password && !plain.tls);
        let c = accepted(
            RedisConfig::from_vars,
            &[
                ("REDIS_URL", "rediss://:s3cret@cache:6380/0"),
                ("KEEL_REDIS_CA_FILE", "/etc/keel/redis-ca.pem"),
            ],
        );
        assert!(c.has_password && c.tls);
        assert_eq!(c.ca_file, Some(PathBuf::from("/etc/keel/redis-ca.pem")));
    }

    #[test]
    fn a_ca_file_without_rediss_is_refused() {
        let err = refused(
            RedisConfig::from_vars,
            "KEEL_REDIS_CA_FILE",
            "/etc/keel/redis-ca.pem",
        );
        assert_eq!(err.problem, "is only used with a rediss:// REDIS_URL");
    }

    #[test]
    fn a_zero_pool_size_or_timeout_is_refused() {
        for name in ["KEEL_REDIS_POOL_SIZE", "KEEL_REDIS_TIMEOUT_MS"] {
            refused(RedisConfig::from_vars, name, "0");
        }
    }
}
