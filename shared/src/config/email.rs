//! Outgoing email: the SMTP server, the sender and what links in emails point at.

use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;
use super::vars::Vars;

/// The SMTP URL used when none is set (a local SMTP sink). Production refuses it.
pub const DEVELOPMENT_SMTP_URL: &str = "smtp://127.0.0.1:1025";

/// Outgoing email settings.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `SMTP_URL`: `smtp://host:port` (plain), `smtp://...?tls=required` (STARTTLS) or
    /// `smtps://host:port` (TLS), with optional `user:password@`.
    pub smtp_url: SecretString,
    /// `KEEL_SMTP_TIMEOUT_MS`: each SMTP command gives up after this long.
    pub smtp_timeout: Duration,
    /// `KEEL_EMAIL_FROM`: the sender, `Name <address>`.
    pub from: lettre::message::Mailbox,
    /// `KEEL_PRODUCT_NAME`: used in email subjects and bodies.
    pub product_name: String,
    /// `KEEL_FRONTEND_URL`: base of links in emails.
    pub frontend_url: String,
}

impl EmailConfig {
    /// `SMTP_URL` (checked by the SMTP client itself), the sender, the product name and the
    /// frontend URL (trailing `/` dropped).
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let smtp_url = v.get_or("SMTP_URL", DEVELOPMENT_SMTP_URL);
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(smtp_url).map_err(|e| {
            ConfigError::new(
                "SMTP_URL",
                format!("not a valid smtp:// or smtps:// URL: {e}"),
            )
        })?;
        let email = Self {
            smtp_url: SecretString::from(smtp_url.to_owned()),
            smtp_timeout: v.millis_or("KEEL_SMTP_TIMEOUT_MS", 10_000)?,
            from: v.parse_or(
                "KEEL_EMAIL_FROM",
                lettre::message::Mailbox::new(
                    Some("Keel".into()),
                    lettre::Address::new("no-reply", "localhost").map_err(|e| {
                        ConfigError::new("KEEL_EMAIL_FROM", format!("bad default: {e}"))
                    })?,
                ),
            )?,
            product_name: v.get_or("KEEL_PRODUCT_NAME", "Keel").to_owned(),
            frontend_url: v
                .get_or("KEEL_FRONTEND_URL", "http://localhost:3000")
                .trim_end_matches('/')
                .to_owned(),
        };
        if !(email.frontend_url.starts_with("http://")
            || email.frontend_url.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "KEEL_FRONTEND_URL",
                "must start with http:// or https://",
            ));
        }
        Ok(email)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_send_through_the_local_sink_as_keel() {
        let c = accepted(EmailConfig::from_vars, &[]);
        assert_eq!(c.smtp_url.expose_secret(), DEVELOPMENT_SMTP_URL);
        assert_eq!(c.from.to_string(), "Keel <no-reply@localhost>");
        assert_eq!(c.product_name, "Keel");
        assert_eq!(c.frontend_url, "http://localhost:3000");
    }

    #[test]
    fn the_frontend_url_loses_its_trailing_slash() {
        let c = accepted(
            EmailConfig::from_vars,
            &[("KEEL_FRONTEND_URL", "https://app.example.com/")],
        );
        assert_eq!(c.frontend_url, "https://app.example.com");
    }

    #[test]
    fn a_bad_sender_address_or_smtp_url_is_refused() {
        refused(EmailConfig::from_vars, "KEEL_EMAIL_FROM", "not an address");
        let err = refused(EmailConfig::from_vars, "SMTP_URL", "http://mail");
        assert!(
            err.problem
                .starts_with("not a valid smtp:// or smtps:// URL")
        );
    }

    #[test]
    fn a_frontend_url_without_a_scheme_is_refused() {
        let err = refused(
            EmailConfig::from_vars,
            "KEEL_FRONTEND_URL",
            "app.example.com",
        );
        assert_eq!(
            err.to_string(),
            "configuration error: KEEL_FRONTEND_URL: must start with http:// or https://"
        );
    }
}
