//! PostgreSQL: the connection URL and the pool's size and timeouts.

use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;
use super::vars::Vars;

/// PostgreSQL pool settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL` (may hold a password).
    pub url: SecretString,
    /// `KEEL_DB_POOL_SIZE`: connections per process.
    pub pool_size: usize,
    /// `KEEL_DB_CONNECT_TIMEOUT_MS`: TCP connect + startup.
    pub connect_timeout: Duration,
    /// `KEEL_DB_ACQUIRE_TIMEOUT_MS`: how long a request waits for a free connection.
    pub acquire_timeout: Duration,
    /// `KEEL_DB_STATEMENT_TIMEOUT_MS`: server-side `statement_timeout` of every session.
    pub statement_timeout: Duration,
}

impl DatabaseConfig {
    /// `DATABASE_URL` (checked) and the `KEEL_DB_*` pool settings.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let url = v.get_or(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/keel_dev",
        );
        parse_url(url)?;
        Ok(Self {
            url: SecretString::from(url.to_owned()),
            pool_size: v.size_or("KEEL_DB_POOL_SIZE", 16)?,
            connect_timeout: v.millis_or("KEEL_DB_CONNECT_TIMEOUT_MS", 3_000)?,
            acquire_timeout: v.millis_or("KEEL_DB_ACQUIRE_TIMEOUT_MS", 2_000)?,
            statement_timeout: v.millis_or("KEEL_DB_STATEMENT_TIMEOUT_MS", 5_000)?,
        })
    }
}

/// `DATABASE_URL` parsed, with a database name. The error never echoes the URL: it may hold
/// a password.
pub(super) fn parse_url(url: &str) -> Result<tokio_postgres::Config, ConfigError> {
    let pg: tokio_postgres::Config = url.parse().map_err(|e| {
        ConfigError::new("DATABASE_URL", format!("not a valid PostgreSQL URL: {e}"))
    })?;
    if pg.get_dbname().is_none() {
        return Err(ConfigError::new("DATABASE_URL", "names no database"));
    }
    Ok(pg)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_point_at_the_local_development_database() {
        let c = accepted(DatabaseConfig::from_vars, &[]);
        assert_eq!(
            c.url.expose_secret(),
            "postgres://postgres@127.0.0.1:5432/keel_dev"
        );
        assert_eq!(c.pool_size, 16);
        assert_eq!(c.statement_timeout, Duration::from_secs(5));
    }

    #[test]
    fn a_malformed_database_url_is_refused_without_echoing_it() {
        let err = refused(
            DatabaseConfig::from_vars,
            "DATABASE_URL",
            "postgres://u:hunter2@[bad/x",
        );
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn a_url_without_a_database_name_is_refused() {
        let err = refused(
            DatabaseConfig::from_vars,
            "DATABASE_URL",
            "host=db user=app",
        );
        assert_eq!(
            err.to_string(),
            "configuration error: DATABASE_URL: names no database"
        );
    }

    #[test]
    fn a_zero_pool_size_or_timeout_is_refused() {
        for name in [
            "KEEL_DB_POOL_SIZE",
            "KEEL_DB_CONNECT_TIMEOUT_MS",
            "KEEL_DB_ACQUIRE_TIMEOUT_MS",
            "KEEL_DB_STATEMENT_TIMEOUT_MS",
        ] {
            refused(DatabaseConfig::from_vars, name, "0");
        }
    }
}
