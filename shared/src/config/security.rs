//! The security headers the api puts on every response: one table of defaults, each value
//! overridable from the environment (`KEEL_HEADER_<NAME>`, `off` drops the header), and
//! per-path-prefix Content-Security-Policies for pages that need more than an API response
//! (the API docs).

use super::vars::Vars;
use super::{AppEnv, ConfigError};

/// The API responses' policy: nothing may load, nothing may frame them.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// What the documentation pages need (same-origin scripts, styles with inline attributes,
/// data: images, the ReDoc search worker) and nothing wider.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' \
    'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src \
    'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// One year, subdomains included, eligible for the browsers' preload list.
pub const HSTS: &str = "max-age=31536000; includeSubDomains; preload";

/// Every powerful feature denied to every origin.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), ambient-light-sensor=(), autoplay=(), \
    battery=(), bluetooth=(), camera=(), display-capture=(), document-domain=(), \
    encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), hid=(), \
    idle-detection=(), interest-cohort=(), magnetometer=(), microphone=(), midi=(), \
    payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), \
    serial=(), sync-xhr=(), usb=(), web-share=(), xr-spatial-tracking=()";

/// (header, variable, default) for the headers sent on every response. The
/// Content-Security-Policy and HSTS have rules of their own and are read apart.
const TABLE: &[(&str, &str, &str)] = &[
    (
        "x-content-type-options",
        "KEEL_HEADER_X_CONTENT_TYPE_OPTIONS",
        "nosniff",
    ),
    ("x-frame-options", "KEEL_HEADER_X_FRAME_OPTIONS", "DENY"),
    (
        "referrer-policy",
        "KEEL_HEADER_REFERRER_POLICY",
        "strict-origin-when-cross-origin",
    ),
    (
        "permissions-policy",
        "KEEL_HEADER_PERMISSIONS_POLICY",
        PERMISSIONS_POLICY,
    ),
    (
        "cross-origin-opener-policy",
        "KEEL_HEADER_CROSS_ORIGIN_OPENER_POLICY",
        "same-origin",
    ),
    (
        "cross-origin-resource-policy",
        "KEEL_HEADER_CROSS_ORIGIN_RESOURCE_POLICY",
        "same-origin",
    ),
    (
        "x-dns-prefetch-control",
        "KEEL_HEADER_X_DNS_PREFETCH_CONTROL",
        "off",
    ),
    (
        "x-download-options",
        "KEEL_HEADER_X_DOWNLOAD_OPTIONS",
        "noopen",
    ),
    (
        "x-permitted-cross-domain-policies",
        "KEEL_HEADER_X_PERMITTED_CROSS_DOMAIN_POLICIES",
        "none",
    ),
    // Browsers' XSS auditors are gone or were themselves exploitable; `0` switches off any
    // that remains (see SECURITY.md).
    ("x-xss-protection", "KEEL_HEADER_X_XSS_PROTECTION", "0"),
];

/// The security headers.
#[derive(Debug, Clone)]
pub struct SecurityHeadersConfig {
    /// Sent on every response: (lower-case header name, value), in the table's order.
    pub always: Vec<(&'static str, String)>,
    /// `KEEL_HEADER_CONTENT_SECURITY_POLICY`: the policy of every response whose path has no
    /// policy of its own in `csp_paths` (and whose handler set none).
    pub csp: Option<String>,
    /// `KEEL_CSP_PATHS`: `prefix=policy` entries separated by `|`; the longest matching
    /// prefix wins. Default: the docs pages (`/api/docs/`, `/api/redoc/`) get [`DOCS_CSP`].
    pub csp_paths: Vec<(String, String)>,
    /// `KEEL_HEADER_STRICT_TRANSPORT_SECURITY`.
    pub hsts: Option<String>,
    /// Send HSTS on every response (production), not only on those to HTTPS requests.
    pub hsts_always: bool,
}

impl SecurityHeadersConfig {
    /// Every `KEEL_HEADER_*` variable and `KEEL_CSP_PATHS`.
    pub(super) fn from_vars(v: &Vars, env: AppEnv) -> Result<Self, ConfigError> {
        let mut always = Vec::with_capacity(TABLE.len());
        for (header, var, default) in TABLE {
            if let Some(value) = value_or_off(v, var, default)? {
                always.push((*header, value));
            }
        }
        let default_paths = format!("/api/docs/={DOCS_CSP}|/api/redoc/={DOCS_CSP}");
        Ok(Self {
            always,
            csp: value_or_off(v, "KEEL_HEADER_CONTENT_SECURITY_POLICY", API_CSP)?,
            csp_paths: v.parse_with("KEEL_CSP_PATHS", &default_paths, parse_csp_paths)?,
            hsts: value_or_off(v, "KEEL_HEADER_STRICT_TRANSPORT_SECURITY", HSTS)?,
            hsts_always: env == AppEnv::Production,
        })
    }

    /// The Content-Security-Policy for a response to `path`.
    pub fn csp_for(&self, path: &str) -> Option<&str> {
        self.csp_paths
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, policy)| policy.as_str())
            .or(self.csp.as_deref())
    }
}

/// `var`'s value (or `default`), `None` for `off`; refused unless it is a valid header value.
fn value_or_off(v: &Vars, var: &'static str, default: &str) -> Result<Option<String>, ConfigError> {
    let value = v.get_or(var, default);
    if value.eq_ignore_ascii_case("off") && var != "KEEL_HEADER_X_DNS_PREFETCH_CONTROL" {
        return Ok(None);
    }
    check_value(value).map_err(|e| ConfigError::new(var, e))?;
    Ok(Some(value.to_owned()))
}

/// A header value: visible ASCII and spaces only (no line breaks that could split a header).
fn check_value(value: &str) -> Result<(), String> {
    if value
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    {
        Ok(())
    } else {
        Err("must be printable ASCII on one line".to_owned())
    }
}

/// `/api/docs/=policy|/other/=policy` → pairs; `none` → no path policy.
fn parse_csp_paths(raw: &str) -> Result<Vec<(String, String)>, String> {
    if raw.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    raw.split('|')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (prefix, policy) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?} is not prefix=policy"))?;
            let (prefix, policy) = (prefix.trim(), policy.trim());
            if !prefix.starts_with('/') || policy.is_empty() {
                return Err(format!(
                    "{entry:?}: the prefix must start with / and the policy must not be empty"
                ));
            }
            check_value(policy)?;
            Ok((prefix.to_owned(), policy.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    fn headers(v: &Vars) -> Result<SecurityHeadersConfig, ConfigError> {
        SecurityHeadersConfig::from_vars(v, AppEnv::Development)
    }

    #[test]
    fn defaults_cover_the_whole_set() {
        let c = accepted(headers, &[]);
        let names: Vec<&str> = c.always.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), 10);
        assert!(names.contains(&"permissions-policy"));
        assert_eq!(c.csp_for("/api/v1/users/me"), Some(API_CSP));
        assert_eq!(c.csp_for("/api/docs/"), Some(DOCS_CSP));
        assert_eq!(c.csp_for("/api/redoc/x.js"), Some(DOCS_CSP));
        assert_eq!(c.hsts.as_deref(), Some(HSTS));
        assert!(!c.hsts_always);
        for feature in ["camera", "microphone", "geolocation", "payment", "usb"] {
            assert!(PERMISSIONS_POLICY.contains(&format!("{feature}=()")));
        }
    }

    #[test]
    fn values_are_overridden_or_switched_off() {
        let c = accepted(
            headers,
            &[
                ("KEEL_HEADER_REFERRER_POLICY", "no-referrer"),
                ("KEEL_HEADER_X_XSS_PROTECTION", "off"),
                ("KEEL_HEADER_STRICT_TRANSPORT_SECURITY", "max-age=600"),
                ("KEEL_CSP_PATHS", "/a/=default-src 'self' | /a/b/=img-src *"),
            ],
        );
        assert!(
            c.always
                .contains(&("referrer-policy", "no-referrer".into()))
        );
        assert!(!c.always.iter().any(|(n, _)| *n == "x-xss-protection"));
        assert_eq!(c.hsts.as_deref(), Some("max-age=600"));
        assert_eq!(c.csp_for("/a/x"), Some("default-src 'self'"));
        assert_eq!(
            c.csp_for("/a/b/x"),
            Some("img-src *"),
            "the longest prefix wins"
        );
        assert_eq!(
            c.csp_for("/api/docs/"),
            Some(API_CSP),
            "the list replaces the default"
        );
    }

    #[test]
    fn production_sends_hsts_always() {
        let c = SecurityHeadersConfig::from_vars(&Vars::of(&[]), AppEnv::Production).expect("ok");
        assert!(c.hsts_always);
    }

    #[test]
    fn malformed_values_name_their_variable() {
        refused(headers, "KEEL_HEADER_X_FRAME_OPTIONS", "DENY\u{7f}");
        refused(headers, "KEEL_CSP_PATHS", "no-slash=default-src 'none'");
        refused(headers, "KEEL_CSP_PATHS", "/docs/");
    }
}
