//! The HTTP api: where it listens, its worker threads and the largest body it accepts.

use std::net::SocketAddr;

use super::ConfigError;
use super::vars::Vars;

/// HTTP api settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `KEEL_API_ADDR`: where the api listens.
    pub addr: SocketAddr,
    /// `KEEL_API_WORKERS`: HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// `KEEL_API_BODY_LIMIT_BYTES`: the largest request body accepted.
    pub body_limit: usize,
}

impl ApiConfig {
    /// `KEEL_API_ADDR`, `KEEL_API_WORKERS` and `KEEL_API_BODY_LIMIT_BYTES`.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            addr: v.parse_or("KEEL_API_ADDR", SocketAddr::from(([127, 0, 0, 1], 8000)))?,
            workers: v.parse_or("KEEL_API_WORKERS", 0)?,
            body_limit: v.size_or("KEEL_API_BODY_LIMIT_BYTES", 256 * 1024)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_listen_locally_with_a_256_kib_body_limit() {
        let c = accepted(ApiConfig::from_vars, &[]);
        assert_eq!(c.addr.to_string(), "127.0.0.1:8000");
        assert_eq!((c.workers, c.body_limit), (0, 262_144));
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
    fn a_zero_body_limit_is_refused() {
        refused(ApiConfig::from_vars, "KEEL_API_BODY_LIMIT_BYTES", "0");
    }
}
