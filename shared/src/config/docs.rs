//! The API's documentation: whether the Swagger UI and ReDoc pages are served, and what the
//! OpenAPI document says about who runs the API and where it lives.

use super::ConfigError;
use super::vars::{Vars, one_of};

/// API documentation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsConfig {
    /// `KEEL_API_DOCS` (`on` | `off`, default `on`): whether `/api/docs/` (Swagger UI) and
    /// `/api/redoc/` (ReDoc) are served. `/api/schema/` stays public either way.
    pub pages: bool,
    /// `KEEL_PUBLIC_URL`: the URL clients reach the api at, without a trailing slash; the
    /// first entry of the document's `servers`.
    pub public_url: String,
    /// `KEEL_API_EXTRA_SERVERS`: more `servers` entries (comma-separated URLs), e.g. staging.
    pub extra_servers: Vec<String>,
    /// `KEEL_API_CONTACT_NAME`: who answers questions about the API.
    pub contact_name: String,
    /// `KEEL_API_CONTACT_EMAIL`: where to write to them.
    pub contact_email: String,
    /// `KEEL_API_LICENSE`: the SPDX expression the API is offered under.
    pub license: String,
    /// `KEEL_API_GUIDE_URL`: the document's `externalDocs` link (where `API_DOCUMENTATION.md`
    /// is published); defaults to the ReDoc page.
    pub guide_url: String,
}

impl DocsConfig {
    /// Reads the `KEEL_API_DOCS`, `KEEL_PUBLIC_URL`, `KEEL_API_*` documentation variables.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let pages = one_of(
            v.get_or("KEEL_API_DOCS", "on"),
            &[("on", true), ("off", false)],
        )
        .map_err(|e| ConfigError::new("KEEL_API_DOCS", e))?;
        let public_url = http_url(
            "KEEL_PUBLIC_URL",
            v.get_or("KEEL_PUBLIC_URL", "http://127.0.0.1:8000"),
        )?;
        let extra_servers = v
            .get("KEEL_API_EXTRA_SERVERS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| http_url("KEEL_API_EXTRA_SERVERS", s))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let contact_email = v
            .get_or("KEEL_API_CONTACT_EMAIL", "api@example.com")
            .to_owned();
        if !contact_email.contains('@') || contact_email.contains(char::is_whitespace) {
            return Err(ConfigError::new(
                "KEEL_API_CONTACT_EMAIL",
                "must be an email address",
            ));
        }
        let guide_url = match v.get("KEEL_API_GUIDE_URL") {
            Some(url) => http_url("KEEL_API_GUIDE_URL", url)?,
            None => format!("{public_url}/api/redoc/"),
        };
        Ok(Self {
            pages,
            extra_servers,
            contact_name: v
                .get_or("KEEL_API_CONTACT_NAME", "Keel API team")
                .to_owned(),
            contact_email,
            license: v
                .get_or("KEEL_API_LICENSE", env!("CARGO_PKG_LICENSE"))
                .to_owned(),
            guide_url,
            public_url,
        })
    }
}

/// An absolute `http(s)://` URL, without its trailing slash.
fn http_url(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty() && !host.starts_with('/') && !raw.contains(char::is_whitespace) =>
        {
            Ok(raw.trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError::new(
            var,
            format!("{raw:?} is not an absolute http:// or https:// URL"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_serve_the_pages_and_point_at_the_local_api() {
        let c = accepted(DocsConfig::from_vars, &[]);
        assert!(c.pages);
        assert_eq!(c.public_url, "http://127.0.0.1:8000");
        assert!(c.extra_servers.is_empty());
        assert_eq!(c.guide_url, "http://127.0.0.1:8000/api/redoc/");
        assert_eq!(c.license, "MIT OR Apache-2.0");
    }

    #[test]
    fn pages_can_be_switched_off_and_servers_added() {
        let c = accepted(
            DocsConfig::from_vars,
            &[
                ("KEEL_API_DOCS", "off"),
                ("KEEL_PUBLIC_URL", "https://api.example.com/"),
                (
                    "KEEL_API_EXTRA_SERVERS",
                    "https://staging.example.com, http://127.0.0.1:8000",
                ),
            ],
        );
        assert!(!c.pages);
        assert_eq!(c.public_url, "https://api.example.com");
        assert_eq!(
            c.extra_servers,
            ["https://staging.example.com", "http://127.0.0.1:8000"]
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        refused(DocsConfig::from_vars, "KEEL_API_DOCS", "maybe");
        refused(DocsConfig::from_vars, "KEEL_PUBLIC_URL", "api.example.com");
        refused(DocsConfig::from_vars, "KEEL_API_EXTRA_SERVERS", "ftp://x");
        refused(DocsConfig::from_vars, "KEEL_API_CONTACT_EMAIL", "nobody");
        refused(DocsConfig::from_vars, "KEEL_API_GUIDE_URL", "/guide");
    }
}
