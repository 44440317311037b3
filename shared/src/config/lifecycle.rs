//! Process lifecycle shared by the binaries: probe ports, readiness timeout, shutdown grace.
//!
//! These stay top-level fields of [`Config`](super::Config) (`config.shutdown_grace`, ...);
//! this file only owns reading them.

use std::net::SocketAddr;
use std::time::Duration;

use super::ConfigError;
use super::vars::Vars;

/// The lifecycle settings, copied into [`Config`](super::Config)'s own fields.
#[derive(Debug)]
pub(super) struct Lifecycle {
    /// `KEEL_WORKER_HEALTH_ADDR`.
    pub(super) worker_health_addr: SocketAddr,
    /// `KEEL_SCHEDULER_HEALTH_ADDR`.
    pub(super) scheduler_health_addr: SocketAddr,
    /// `KEEL_SHUTDOWN_GRACE_SECS`.
    pub(super) shutdown_grace: Duration,
    /// `KEEL_READY_TIMEOUT_MS`.
    pub(super) ready_timeout: Duration,
}

impl Lifecycle {
    /// The probe addresses (worker 8001, scheduler 8002 on loopback), the shutdown grace and
    /// the readiness timeout.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            worker_health_addr: v.parse_or(
                "KEEL_WORKER_HEALTH_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8001)),
            )?,
            scheduler_health_addr: v.parse_or(
                "KEEL_SCHEDULER_HEALTH_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8002)),
            )?,
            shutdown_grace: Duration::from_secs(v.parse_or("KEEL_SHUTDOWN_GRACE_SECS", 30)?),
            ready_timeout: v.millis_or("KEEL_READY_TIMEOUT_MS", 1_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_put_the_probes_on_loopback_next_to_the_api() {
        let c = accepted(Lifecycle::from_vars, &[]);
        assert_eq!(c.worker_health_addr.to_string(), "127.0.0.1:8001");
        assert_eq!(c.scheduler_health_addr.to_string(), "127.0.0.1:8002");
        assert_eq!(c.shutdown_grace, Duration::from_secs(30));
        assert_eq!(c.ready_timeout, Duration::from_secs(1));
    }

    #[test]
    fn a_zero_ready_timeout_or_a_bare_port_is_refused() {
        refused(Lifecycle::from_vars, "KEEL_READY_TIMEOUT_MS", "0");
        refused(Lifecycle::from_vars, "KEEL_SCHEDULER_HEALTH_ADDR", "8002");
        refused(Lifecycle::from_vars, "KEEL_SHUTDOWN_GRACE_SECS", "-5");
    }
}
