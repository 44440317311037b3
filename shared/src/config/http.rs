//! The HTTP edge in front of the api: which peers are trusted proxies (and so whose
//! forwarding headers are believed) and whether plain HTTP is redirected to HTTPS.

use std::net::IpAddr;

use ipnet::IpNet;

use super::vars::Vars;
use super::{AppEnv, ConfigError};

/// The default `KEEL_TRUSTED_PROXIES`: loopback only (a proxy on the same host).
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1/128";

/// Proxies and HTTPS.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `KEEL_TRUSTED_PROXIES`: comma-separated CIDRs (or single addresses). Only a peer in
    /// one of them has its `X-Forwarded-For` / `X-Forwarded-Proto` / `Forwarded` believed,
    /// and only hops inside them are skipped when finding the client's address. Empty
    /// (`none`): no proxy is trusted.
    pub trusted_proxies: Vec<IpNet>,
    /// `KEEL_FORCE_HTTPS`: answer a plain-HTTP request (as seen through a trusted proxy) with
    /// 308 to the same URL over https, except `/healthz` and `/readyz`. On by default in
    /// production.
    pub force_https: bool,
}

impl HttpConfig {
    /// `KEEL_TRUSTED_PROXIES` and `KEEL_FORCE_HTTPS` (whose default depends on `env`).
    pub(super) fn from_vars(v: &Vars, env: AppEnv) -> Result<Self, ConfigError> {
        Ok(Self {
            trusted_proxies: v.parse_with(
                "KEEL_TRUSTED_PROXIES",
                DEFAULT_TRUSTED_PROXIES,
                parse_cidrs,
            )?,
            force_https: v.parse_or("KEEL_FORCE_HTTPS", env == AppEnv::Production)?,
        })
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

/// `10.0.0.0/8, 192.168.1.7, ::1/128` → networks; `none` → no network.
fn parse_cidrs(raw: &str) -> Result<Vec<IpNet>, String> {
    if raw.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpNet>()
                .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| format!("{p:?} is not an IP address or a CIDR like 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    fn http(v: &Vars) -> Result<HttpConfig, ConfigError> {
        HttpConfig::from_vars(v, AppEnv::Development)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn by_default_only_loopback_is_trusted_and_https_is_not_forced() {
        let c = accepted(http, &[]);
        assert!(c.is_trusted(ip("127.0.0.1")));
        assert!(c.is_trusted(ip("::1")));
        assert!(c.is_trusted(ip("::ffff:127.0.0.1")), "IPv4-mapped loopback");
        assert!(!c.is_trusted(ip("10.0.0.1")));
        assert!(!c.force_https);
    }

    #[test]
    fn production_forces_https_unless_told_not_to() {
        let c = HttpConfig::from_vars(&Vars::of(&[]), AppEnv::Production).expect("valid");
        assert!(c.force_https);
        let c = HttpConfig::from_vars(
            &Vars::of(&[("KEEL_FORCE_HTTPS", "false")]),
            AppEnv::Production,
        )
        .expect("valid");
        assert!(!c.force_https);
    }

    #[test]
    fn cidrs_and_single_addresses_are_read() {
        let c = accepted(
            http,
            &[("KEEL_TRUSTED_PROXIES", "10.1.2.3/8, 192.168.0.7,fd00::/8")],
        );
        assert!(c.is_trusted(ip("10.200.0.1")));
        assert!(c.is_trusted(ip("192.168.0.7")));
        assert!(!c.is_trusted(ip("192.168.0.8")));
        assert!(c.is_trusted(ip("fd00::1")));
        assert!(
            !c.is_trusted(ip("127.0.0.1")),
            "the list replaces the default"
        );
    }

    #[test]
    fn none_trusts_no_peer() {
        let c = accepted(http, &[("KEEL_TRUSTED_PROXIES", "none")]);
        assert!(!c.is_trusted(ip("127.0.0.1")));
    }

    #[test]
    fn malformed_proxies_and_flags_name_their_variable() {
        let err = refused(http, "KEEL_TRUSTED_PROXIES", "10.0.0.0/33");
        assert!(err.problem.contains("10.0.0.0/33"), "{err}");
        refused(http, "KEEL_TRUSTED_PROXIES", "proxy.internal");
        refused(http, "KEEL_FORCE_HTTPS", "sometimes");
    }
}
