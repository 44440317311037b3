//! The global request limit on `/api/v1`: every request counted in a fixed window, per user
//! for a valid bearer token and per client address (IPv6: per /64) otherwise, in addition to
//! the per-endpoint abuse limits of `auth.rs`.

use std::time::Duration;

use super::ConfigError;
use super::vars::Vars;

/// Global rate limit settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalRateLimitConfig {
    /// `KEEL_GLOBAL_RATE_LIMIT_WINDOW_SECS`: the window both limits are counted in.
    pub window: Duration,
    /// `KEEL_GLOBAL_RATE_LIMIT_PER_IP`: requests per window from one client address without
    /// a valid access token.
    pub per_ip: u32,
    /// `KEEL_GLOBAL_RATE_LIMIT_PER_USER`: requests per window with one user's valid access
    /// tokens (from anywhere).
    pub per_user: u32,
    /// `KEEL_GLOBAL_RATE_LIMIT_TIMEOUT_MS`: how long a request waits for its count (a free
    /// Redis connection included) before it is served uncounted: a hung Redis delays each
    /// request by at most this much.
    pub timeout: Duration,
}

impl GlobalRateLimitConfig {
    /// The window (60 s; 0 reads as 1 s), both limits (300 per address, 600 per user) and
    /// the wait for Redis (100 ms).
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            window: v.secs_at_least_one("KEEL_GLOBAL_RATE_LIMIT_WINDOW_SECS", 60)?,
            per_ip: v.count_or("KEEL_GLOBAL_RATE_LIMIT_PER_IP", 300)?,
            per_user: v.count_or("KEEL_GLOBAL_RATE_LIMIT_PER_USER", 600)?,
            timeout: v.millis_or("KEEL_GLOBAL_RATE_LIMIT_TIMEOUT_MS", 100)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_allow_300_per_address_and_600_per_user_a_minute() {
        let c = accepted(GlobalRateLimitConfig::from_vars, &[]);
        assert_eq!(
            c,
            GlobalRateLimitConfig {
                window: Duration::from_secs(60),
                per_ip: 300,
                per_user: 600,
                timeout: Duration::from_millis(100),
            }
        );
    }

    #[test]
    fn limits_are_read_and_zero_is_refused() {
        let c = accepted(
            GlobalRateLimitConfig::from_vars,
            &[
                ("KEEL_GLOBAL_RATE_LIMIT_WINDOW_SECS", "0"),
                ("KEEL_GLOBAL_RATE_LIMIT_PER_IP", "7"),
                ("KEEL_GLOBAL_RATE_LIMIT_PER_USER", "9"),
            ],
        );
        assert_eq!(
            (c.window, c.per_ip, c.per_user),
            (Duration::from_secs(1), 7, 9)
        );
        for name in [
            "KEEL_GLOBAL_RATE_LIMIT_PER_IP",
            "KEEL_GLOBAL_RATE_LIMIT_PER_USER",
            "KEEL_GLOBAL_RATE_LIMIT_TIMEOUT_MS",
        ] {
            refused(GlobalRateLimitConfig::from_vars, name, "0");
            refused(GlobalRateLimitConfig::from_vars, name, "-1");
        }
        refused(
            GlobalRateLimitConfig::from_vars,
            "KEEL_GLOBAL_RATE_LIMIT_PER_IP",
            "4294967296",
        );
    }
}
