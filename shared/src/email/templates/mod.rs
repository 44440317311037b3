//! Every email Keel sends, as one [`Email`] enum holding the values each needs, rendered by
//! an exhaustive `match` over templates kept one file each. A template without a variant, or a
//! variant without a field its template uses, does not compile.
//!
//! Values are HTML-escaped in the HTML part; subjects never span lines.

mod account_exists;
mod account_locked;
mod address_in_use;
mod email_changed;
mod new_login;
mod notice;
mod password_changed;
mod password_reset;
mod two_factor_disabled;
mod two_factor_enabled;
mod verify_email;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Product-wide values every template may use.
#[derive(Debug, Clone)]
pub struct Branding {
    /// `KEEL_PRODUCT_NAME`, shown in subjects and the footer.
    pub product_name: String,
    /// `KEEL_FRONTEND_URL`, the base of links into the web app.
    pub frontend_url: String,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line (one line).
    pub subject: String,
    /// Plain-text alternative.
    pub text: String,
    /// HTML alternative, inside the common layout.
    pub html: String,
}

/// One email and what it says. Serialised with its template name under `template`, as the
/// `send_email` job carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case", deny_unknown_fields)]
pub enum Email {
    /// Confirm an address: at sign-up, on resend, or for an email change.
    VerifyEmail {
        /// The account's display name.
        name: String,
        /// `{KEEL_FRONTEND_URL}/verify-email?token=…`.
        link: String,
    },
    /// A password reset link (valid one hour).
    PasswordReset {
        /// The account's display name.
        name: String,
        /// `{KEEL_FRONTEND_URL}/reset-password?token=…`.
        link: String,
    },
    /// The password was changed (or reset) and other sessions were signed out.
    PasswordChanged {
        /// The account's display name.
        name: String,
    },
    /// Two-factor authentication was turned on.
    TwoFactorEnabled {
        /// The account's display name.
        name: String,
    },
    /// Two-factor authentication was turned off.
    TwoFactorDisabled {
        /// The account's display name.
        name: String,
    },
    /// The account was signed in to.
    NewLogin {
        /// The account's display name.
        name: String,
        /// The client address the sign-in came from.
        ip: String,
        /// The client's `User-Agent`.
        user_agent: String,
    },
    /// Someone tried to register an address that already has an account.
    AccountExists,
    /// The account's email changed: sent to the previous address, with an undo link.
    EmailChanged {
        /// The account's display name.
        name: String,
        /// The address the account uses now.
        new_email: String,
        /// `{KEEL_FRONTEND_URL}/undo-email-change?token=…` (valid 72 hours).
        undo_link: String,
    },
    /// Someone tried to change another account's email to this address, which has one.
    AddressInUse,
    /// Too many failed logins from all clients together: password sign-in is paused until
    /// the window ends or the password is reset.
    AccountLocked {
        /// The account's display name.
        name: String,
        /// How long the pause lasts at most.
        minutes: u64,
    },
    /// A free-form notice (operators, tests).
    Notice {
        /// The subject line.
        subject: String,
        /// The body, as plain text.
        message: String,
    },
}

impl Email {
    /// The template's stable name (recorded with each delivery).
    pub fn template(&self) -> &'static str {
        match self {
            Self::VerifyEmail { .. } => "verify_email",
            Self::PasswordReset { .. } => "password_reset",
            Self::PasswordChanged { .. } => "password_changed",
            Self::TwoFactorEnabled { .. } => "two_factor_enabled",
            Self::TwoFactorDisabled { .. } => "two_factor_disabled",
            Self::NewLogin { .. } => "new_login",
            Self::AccountExists => "account_exists",
            Self::EmailChanged { .. } => "email_changed",
            Self::AddressInUse => "address_in_use",
            Self::AccountLocked { .. } => "account_locked",
            Self::Notice { .. } => "notice",
        }
    }

    /// Renders the email with the product's branding.
    pub fn render(&self, b: &Branding) -> Rendered {
        match self {
            Self::VerifyEmail { name, link } => verify_email::render(b, name, link),
            Self::PasswordReset { name, link } => password_reset::render(b, name, link),
            Self::PasswordChanged { name } => password_changed::render(b, name),
            Self::TwoFactorEnabled { name } => two_factor_enabled::render(b, name),
            Self::TwoFactorDisabled { name } => two_factor_disabled::render(b, name),
            Self::NewLogin {
                name,
                ip,
                user_agent,
            } => new_login::render(b, name, ip, user_agent),
            Self::AccountExists => account_exists::render(b),
            Self::EmailChanged {
                name,
                new_email,
                undo_link,
            } => email_changed::render(b, name, new_email, undo_link),
            Self::AddressInUse => address_in_use::render(b),
            Self::AccountLocked { name, minutes } => account_locked::render(b, name, *minutes),
            Self::Notice { subject, message } => notice::render(b, subject, message),
        }
    }

    /// Reads an email from the untyped form of `send_email` version 1 (a template name and
    /// a JSON object of values), so jobs queued before the upgrade still send.
    pub fn from_template(template: &str, data: &serde_json::Value) -> Result<Self, LegacyError> {
        let mut object = match data {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            _ => return Err(LegacyError("the data is not a JSON object".to_owned())),
        };
        object.insert("template".to_owned(), template.into());
        serde_json::from_value(serde_json::Value::Object(object))
            .map_err(|e| LegacyError(format!("template {template:?}: {e}")))
    }
}

/// A version-1 `send_email` payload that does not make an [`Email`] (unknown template, a
/// missing or unexpected field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LegacyError(String);

/// Builds a [`Rendered`] email: the subject kept to one line, the HTML body in the layout.
fn email(b: &Branding, subject: String, text: String, html_body: &str) -> Rendered {
    Rendered {
        // Header injection: a subject never spans lines.
        subject: subject.replace(['\r', '\n'], " "),
        text,
        html: format!(
            "<!doctype html><html><body style=\"font-family:sans-serif;max-width:560px;margin:auto\">{html_body}<hr><p style=\"color:#777;font-size:12px\">{}</p></body></html>",
            escape_html(&b.product_name)
        ),
    }
}

/// The closing line of security notices, in text and HTML.
fn not_you(b: &Branding) -> (String, String) {
    let url = format!("{}/forgot-password", b.frontend_url);
    (
        format!("If this was not you, reset your password now: {url}\n"),
        format!(
            "<p>If this was not you, <a href=\"{}\">reset your password now</a>.</p>",
            escape_html(&url)
        ),
    )
}

/// Escapes a value for HTML text and attribute positions.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A Message-ID local part derived from an idempotency key (hex of its SHA-256 prefix).
pub fn message_id_part(key: &str) -> String {
    Sha256::digest(key.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn branding() -> Branding {
        Branding {
            product_name: "Acme".into(),
            frontend_url: "https://app.example".into(),
        }
    }

    #[test]
    fn a_template_renders_both_parts_with_branding() {
        let r = Email::VerifyEmail {
            name: "Ada".into(),
            link: "https://app.example/verify-email?token=t".into(),
        }
        .render(&branding());
        assert_eq!(r.subject, "Confirm your email for Acme");
        assert!(r.text.contains("Hello Ada,") && r.text.contains("token=t"));
        assert!(
            r.html
                .contains("<a href=\"https://app.example/verify-email?token=t\">")
        );
        assert!(r.html.contains("Acme</p>"));
    }

    #[test]
    fn the_account_locked_notice_names_the_pause_and_the_reset_that_unlocks() {
        let email = Email::AccountLocked {
            name: "Ada".into(),
            minutes: 15,
        };
        let r = email.render(&branding());
        assert_eq!(r.subject, "Sign-in to your Acme account is paused");
        assert!(r.text.contains("up to 15 minutes"), "{}", r.text);
        assert!(r.text.contains("https://app.example/forgot-password"));
        assert!(
            r.html
                .contains("href=\"https://app.example/forgot-password\"")
        );
        assert_eq!(email.template(), "account_locked");
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let r = Email::Notice {
            subject: "Hi".into(),
            message: "<b>&</b>".into(),
        }
        .render(&branding());
        assert_eq!(r.text, "<b>&</b>\n");
        assert!(r.html.contains("&lt;b&gt;&amp;&lt;/b&gt;"));
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let r = Email::Notice {
            subject: "a\r\nBcc: x@y".into(),
            message: "m".into(),
        }
        .render(&branding());
        assert!(!r.subject.contains('\n'));
    }

    #[test]
    fn the_payload_form_carries_the_template_name() {
        let email = Email::NewLogin {
            name: "Ada".into(),
            ip: "192.0.2.1".into(),
            user_agent: "curl".into(),
        };
        let value = serde_json::to_value(&email).expect("serialises");
        assert_eq!(value["template"], "new_login");
        assert_eq!(value["ip"], "192.0.2.1");
        assert_eq!(email.template(), "new_login");
        assert_eq!(
            serde_json::from_value::<Email>(value).expect("decodes"),
            email
        );
        assert_eq!(
            serde_json::to_value(Email::AccountExists).expect("serialises"),
            json!({"template": "account_exists"})
        );
    }

    #[test]
    fn a_version_one_payload_still_decodes() {
        let email =
            Email::from_template("password_changed", &json!({"name": "Ada"})).expect("decodes");
        assert_eq!(email, Email::PasswordChanged { name: "Ada".into() });
        assert_eq!(
            Email::from_template("account_exists", &json!({})).expect("decodes"),
            Email::AccountExists
        );
    }

    #[test]
    fn a_version_one_payload_missing_a_field_is_named() {
        let err = Email::from_template("verify_email", &json!({"name": "Ada"})).expect_err("fails");
        assert!(err.to_string().contains("link"), "{err}");
    }

    #[test]
    fn an_unknown_version_one_template_is_an_error() {
        let err = Email::from_template("nope", &json!({})).expect_err("fails");
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn every_template_renders_a_subject_and_both_parts() {
        let name = || "Ada".to_owned();
        let all = [
            Email::VerifyEmail {
                name: name(),
                link: "l".into(),
            },
            Email::PasswordReset {
                name: name(),
                link: "l".into(),
            },
            Email::PasswordChanged { name: name() },
            Email::TwoFactorEnabled { name: name() },
            Email::TwoFactorDisabled { name: name() },
            Email::NewLogin {
                name: name(),
                ip: "i".into(),
                user_agent: "u".into(),
            },
            Email::AccountExists,
            Email::EmailChanged {
                name: name(),
                new_email: "n".into(),
                undo_link: "u".into(),
            },
            Email::AddressInUse,
            Email::Notice {
                subject: "s".into(),
                message: "m".into(),
            },
        ];
        for email in all {
            let r = email.render(&branding());
            assert!(
                !r.subject.is_empty() && !r.text.is_empty(),
                "{}",
                email.template()
            );
            assert!(
                r.html.starts_with("<!doctype html>"),
                "{}",
                email.template()
            );
        }
    }
}
