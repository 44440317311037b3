//! Cross-origin requests from browsers: which origins may call the api, with which methods and
//! headers, and how long a preflight answer may be cached.

use super::ConfigError;
use super::vars::Vars;

/// The response headers a cross-origin script may read: the request id, when to retry, and
/// the rate-limit headers of every `/api/v1` answer (IETF draft names and `X-` ones).
pub const CORS_EXPOSED_HEADERS: &str = "X-Request-Id, Retry-After, RateLimit-Limit, \
    RateLimit-Remaining, RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, \
    X-RateLimit-Reset";

/// CORS settings.
#[derive(Debug, Clone)]
pub struct CorsConfig {
    /// `KEEL_CORS_ALLOWED_ORIGINS`: exact origins (`https://app.example.com`), comma-separated;
    /// `*` allows any origin (refused in production). Empty: no cross-origin access.
    pub allowed_origins: Vec<String>,
    /// `KEEL_CORS_ALLOWED_METHODS`: answered to preflights.
    pub allowed_methods: String,
    /// `KEEL_CORS_ALLOWED_HEADERS`: request headers a cross-origin script may send.
    pub allowed_headers: String,
    /// `KEEL_CORS_MAX_AGE_SECS`: how long browsers may cache a preflight answer.
    pub max_age_secs: u32,
}

impl CorsConfig {
    /// The `KEEL_CORS_*` variables.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            allowed_origins: v.parse_with("KEEL_CORS_ALLOWED_ORIGINS", "", parse_origins)?,
            allowed_methods: v.parse_with(
                "KEEL_CORS_ALLOWED_METHODS",
                "GET, POST, PUT, PATCH, DELETE",
                |raw| token_list(raw).map(|l| l.join(", ")),
            )?,
            allowed_headers: v.parse_with(
                "KEEL_CORS_ALLOWED_HEADERS",
                "Authorization, Content-Type, X-Request-Id",
                |raw| token_list(raw).map(|l| l.join(", ")),
            )?,
            max_age_secs: v.parse_or("KEEL_CORS_MAX_AGE_SECS", 600)?,
        })
    }

    /// Whether `*` is configured.
    pub fn allows_any_origin(&self) -> bool {
        self.allowed_origins.iter().any(|o| o == "*")
    }

    /// Whether a browser request from `origin` may read the response.
    pub fn allows(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == "*" || o == origin)
    }
}

/// `https://a.example, http://localhost:3000` → the origins, each `scheme://host[:port]`.
fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            if o == "*" {
                return Ok(o.to_owned());
            }
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
                .ok_or_else(|| format!("{o:?} is not an origin like https://app.example.com"))?;
            let host_ok = !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            if !host_ok {
                return Err(format!(
                    "{o:?} is not an origin (scheme://host[:port], no path, no trailing slash)"
                ));
            }
            Ok(o.to_ascii_lowercase())
        })
        .collect()
}

/// `GET, post` → `["GET", "post"]`: HTTP tokens only.
fn token_list(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                Ok(t.to_owned())
            } else {
                Err(format!("{t:?} is not a method or header name"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn by_default_no_origin_is_allowed() {
        let c = accepted(CorsConfig::from_vars, &[]);
        assert!(!c.allows("https://app.example.com"));
        assert_eq!(c.allowed_methods, "GET, POST, PUT, PATCH, DELETE");
        assert_eq!(c.max_age_secs, 600);
    }

    #[test]
    fn exact_origins_are_matched_exactly() {
        let c = accepted(
            CorsConfig::from_vars,
            &[(
                "KEEL_CORS_ALLOWED_ORIGINS",
                "https://App.example.com, http://localhost:3000",
            )],
        );
        assert!(c.allows("https://app.example.com"));
        assert!(c.allows("http://localhost:3000"));
        assert!(!c.allows("https://app.example.com.evil.test"));
        assert!(!c.allows("http://app.example.com"));
        assert!(!c.allows_any_origin());
    }

    #[test]
    fn malformed_origins_and_lists_name_their_variable() {
        refused(
            CorsConfig::from_vars,
            "KEEL_CORS_ALLOWED_ORIGINS",
            "app.example.com",
        );
        refused(
            CorsConfig::from_vars,
            "KEEL_CORS_ALLOWED_ORIGINS",
            "https://app.example.com/",
        );
        refused(
            CorsConfig::from_vars,
            "KEEL_CORS_ALLOWED_METHODS",
            "GET;POST",
        );
        refused(CorsConfig::from_vars, "KEEL_CORS_MAX_AGE_SECS", "-1");
    }
}
