//! The HTTP api: where it listens (and where its metrics are scraped), its worker threads,
//! the largest body it accepts, and how long and how many connections it keeps.

use std::net::SocketAddr;
use std::time::Duration;

use super::ConfigError;
use super::vars::Vars;

/// HTTP api settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `KEEL_API_ADDR`: where the api listens.
    pub addr: SocketAddr,
    /// `KEEL_API_METRICS_ADDR`: where Prometheus scrapes `/metrics` (a listener of its own,
    /// never the public port); `None` (`off`) serves no metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// `KEEL_API_WORKERS`: HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// `KEEL_API_BODY_LIMIT_BYTES`: the largest request body a route accepts unless it sets
    /// its own cap (`crate::body_limit` in the api).
    pub body_limit: usize,
    /// `KEEL_API_CLIENT_REQUEST_TIMEOUT_MS`: a client must send its request's headers within
    /// this time of connecting (or of its previous request), else it gets 408 and the
    /// connection is closed (slow-header clients hold no connection for long).
    pub client_request_timeout: Duration,
    /// `KEEL_API_CLIENT_DISCONNECT_TIMEOUT_MS`: how long a closing connection may take to
    /// shut down before it is dropped.
    pub client_disconnect_timeout: Duration,
    /// `KEEL_API_KEEP_ALIVE_SECS`: how long an idle keep-alive connection stays open; 0 closes
    /// each connection after its response.
    pub keep_alive: Duration,
    /// `KEEL_API_MAX_CONNECTIONS`: connections each worker thread holds at once; further
    /// connections wait in the listen backlog.
    pub max_connections: usize,
}

impl ApiConfig {
    /// `KEEL_API_ADDR`, `KEEL_API_METRICS_ADDR`, `KEEL_API_WORKERS`,
    /// `KEEL_API_BODY_LIMIT_BYTES` and the connection settings.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            addr: v.parse_or("KEEL_API_ADDR", SocketAddr::from(([127, 0, 0, 1], 8000)))?,
            metrics_addr: v.parse_with("KEEL_API_METRICS_ADDR", "127.0.0.1:9100", |raw| {
                if raw.eq_ignore_ascii_case("off") {
                    return Ok(None);
                }
                raw.parse::<SocketAddr>()
                    .map(Some)
                    .map_err(|e| format!("invalid value {raw:?}: {e} (or `off`)"))
            })?,
            workers: v.parse_or("KEEL_API_WORKERS", 0)?,
            body_limit: v.size_or("KEEL_API_BODY_LIMIT_BYTES", 64 * 1024)?,
            client_request_timeout: v.millis_or("KEEL_API_CLIENT_REQUEST_TIMEOUT_MS", 5_000)?,
            client_disconnect_timeout: v
                .millis_or("KEEL_API_CLIENT_DISCONNECT_TIMEOUT_MS", 1_000)?,
            keep_alive: Duration::from_secs(v.parse_or("KEEL_API_KEEP_ALIVE_SECS", 75)?),
            max_connections: v.size_or("KEEL_API_MAX_CONNECTIONS", 25_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_listen_locally_with_a_64_kib_body_limit() {
        let c = accepted(ApiConfig::from_vars, &[]);
        assert_eq!(c.addr.to_string(), "127.0.0.1:8000");
        assert_eq!(
            c.metrics_addr.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9100")
        );
        assert_eq!((c.workers, c.body_limit), (0, 65_536));
        assert_eq!(c.client_request_timeout, Duration::from_secs(5));
        assert_eq!(c.client_disconnect_timeout, Duration::from_secs(1));
        assert_eq!(c.keep_alive, Duration::from_secs(75));
        assert_eq!(c.max_connections, 25_000);
    }

    #[test]
    fn metrics_can_be_switched_off_or_moved() {
        let c = accepted(ApiConfig::from_vars, &[("KEEL_API_METRICS_ADDR", "off")]);
        assert_eq!(c.metrics_addr, None);
        let c = accepted(
            ApiConfig::from_vars,
            &[("KEEL_API_METRICS_ADDR", "0.0.0.0:9464")],
        );
        assert_eq!(c.metrics_addr.map(|a| a.port()), Some(9464));
        let err = refused(ApiConfig::from_vars, "KEEL_API_METRICS_ADDR", ":9100");
        assert!(err.problem.contains("`off`"), "{err}");
    }

    #[test]
    fn a_zero_keep_alive_is_allowed_and_closes_connections() {
        let c = accepted(ApiConfig::from_vars, &[("KEEL_API_KEEP_ALIVE_SECS", "0")]);
        assert_eq!(c.keep_alive, Duration::ZERO);
    }

    #[test]
    fn a_malformed_address_names_its_variable() {
        let err = refused(ApiConfig::from_vars, "KEEL_API_ADDR", "localhost");
        assert_eq!(
            err.to_string(),
            "configuration error: KEEL_API_ADDR: invalid value \"localhost\": \
             invalid socket address syntax"
        );
    }

    #[test]
    fn zero_limits_and_timeouts_are_refused() {
        for name in [
            "KEEL_API_BODY_LIMIT_BYTES",
            "KEEL_API_CLIENT_REQUEST_TIMEOUT_MS",
            "KEEL_API_CLIENT_DISCONNECT_TIMEOUT_MS",
            "KEEL_API_MAX_CONNECTIONS",
        ] {
            refused(ApiConfig::from_vars, name, "0");
        }
    }
}
