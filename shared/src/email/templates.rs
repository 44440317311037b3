//! Email templates: each has a subject, a plain-text body and an HTML body with `{{field}}`
//! placeholders. Values are HTML-escaped in the HTML part. A missing field is an error (the
//! job fails permanently) rather than an email with a hole in it.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Product-wide values every template may use: `{{product_name}}`, `{{frontend_url}}`.
#[derive(Debug, Clone)]
pub struct Branding {
    /// `KEEL_PRODUCT_NAME`.
    pub product_name: String,
    /// `KEEL_FRONTEND_URL`.
    pub frontend_url: String,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text alternative.
    pub text: String,
    /// HTML alternative.
    pub html: String,
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// No template has that name.
    #[error("unknown email template {0:?}")]
    UnknownTemplate(String),
    /// The job's data lacks a field the template uses.
    #[error("template {template:?} needs field {field:?}")]
    MissingField {
        /// The template.
        template: String,
        /// The missing field.
        field: String,
    },
}

struct Template {
    name: &'static str,
    subject: &'static str,
    text: &'static str,
    html: &'static str,
}

const LAYOUT: &str = "<!doctype html><html><body style=\"font-family:sans-serif;max-width:560px;margin:auto\">{{body}}<hr><p style=\"color:#777;font-size:12px\">{{product_name}}</p></body></html>";

const TEMPLATES: &[Template] = &[
    Template {
        name: "verify_email",
        subject: "Confirm your email for {{product_name}}",
        text: "Hello {{name}},\n\nConfirm your email address by opening this link:\n{{link}}\n\nIf you did not sign up for {{product_name}}, ignore this email.\n",
        html: "<p>Hello {{name}},</p><p>Confirm your email address:</p><p><a href=\"{{link}}\">Confirm my email</a></p><p>If you did not sign up for {{product_name}}, ignore this email.</p>",
    },
    Template {
        name: "password_reset",
        subject: "Reset your {{product_name}} password",
        text: "Hello {{name}},\n\nReset your password with this link (valid for one hour):\n{{link}}\n\nIf you did not ask for this, ignore this email; your password is unchanged.\n",
        html: "<p>Hello {{name}},</p><p>Reset your password (the link is valid for one hour):</p><p><a href=\"{{link}}\">Reset my password</a></p><p>If you did not ask for this, ignore this email; your password is unchanged.</p>",
    },
    Template {
        name: "password_changed",
        subject: "Your {{product_name}} password was changed",
        text: "Hello {{name}},\n\nThe password of your {{product_name}} account was just changed, and every other session was signed out.\n\nIf this was not you, reset your password now: {{frontend_url}}/forgot-password\n",
        html: "<p>Hello {{name}},</p><p>The password of your {{product_name}} account was just changed, and every other session was signed out.</p><p>If this was not you, <a href=\"{{frontend_url}}/forgot-password\">reset your password now</a>.</p>",
    },
    Template {
        name: "two_factor_enabled",
        subject: "Two-factor authentication is on for {{product_name}}",
        text: "Hello {{name}},\n\nTwo-factor authentication was turned on for your {{product_name}} account. Keep your recovery codes somewhere safe.\n\nIf this was not you, reset your password now: {{frontend_url}}/forgot-password\n",
        html: "<p>Hello {{name}},</p><p>Two-factor authentication was turned on for your {{product_name}} account. Keep your recovery codes somewhere safe.</p><p>If this was not you, <a href=\"{{frontend_url}}/forgot-password\">reset your password now</a>.</p>",
    },
    Template {
        name: "two_factor_disabled",
        subject: "Two-factor authentication is off for {{product_name}}",
        text: "Hello {{name}},\n\nTwo-factor authentication was turned off for your {{product_name}} account.\n\nIf this was not you, reset your password now: {{frontend_url}}/forgot-password\n",
        html: "<p>Hello {{name}},</p><p>Two-factor authentication was turned off for your {{product_name}} account.</p><p>If this was not you, <a href=\"{{frontend_url}}/forgot-password\">reset your password now</a>.</p>",
    },
    Template {
        name: "new_login",
        subject: "New sign-in to {{product_name}}",
        text: "Hello {{name}},\n\nYour {{product_name}} account was just signed in to from {{ip}} ({{user_agent}}).\n\nIf this was not you, reset your password now: {{frontend_url}}/forgot-password\n",
        html: "<p>Hello {{name}},</p><p>Your {{product_name}} account was just signed in to from {{ip}} ({{user_agent}}).</p><p>If this was not you, <a href=\"{{frontend_url}}/forgot-password\">reset your password now</a>.</p>",
    },
    Template {
        name: "account_exists",
        subject: "Sign-up attempt on {{product_name}}",
        text: "Hello,\n\nSomeone tried to create a {{product_name}} account with this address, which already has one. If it was you, sign in or reset your password: {{frontend_url}}/forgot-password\n\nIf not, you can ignore this email.\n",
        html: "<p>Hello,</p><p>Someone tried to create a {{product_name}} account with this address, which already has one. If it was you, sign in or <a href=\"{{frontend_url}}/forgot-password\">reset your password</a>.</p><p>If not, you can ignore this email.</p>",
    },
    Template {
        name: "notice",
        subject: "{{subject}}",
        text: "{{message}}\n",
        html: "<p>{{message}}</p>",
    },
];

/// Every template name.
pub fn names() -> Vec<&'static str> {
    TEMPLATES.iter().map(|t| t.name).collect()
}

/// Renders template `name` with `data` (a JSON object) and the branding.
pub fn render(name: &str, data: &Value, branding: &Branding) -> Result<Rendered, RenderError> {
    let t = TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| RenderError::UnknownTemplate(name.to_owned()))?;
    let lookup = |field: &str| -> Result<String, RenderError> {
        match field {
            "product_name" => Ok(branding.product_name.clone()),
            "frontend_url" => Ok(branding.frontend_url.clone()),
            _ => match data.get(field) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Null) | None => Err(RenderError::MissingField {
                    template: name.to_owned(),
                    field: field.to_owned(),
                }),
                Some(other) => Ok(other.to_string()),
            },
        }
    };
    let body = fill(t.html, &|f| lookup(f).map(|v| escape_html(&v)))?;
    let layout = fill(LAYOUT, &|f| {
        if f == "body" {
            Ok(body.clone())
        } else {
            lookup(f).map(|v| escape_html(&v))
        }
    })?;
    Ok(Rendered {
        // Header injection: a subject never spans lines.
        subject: fill(t.subject, &lookup)?.replace(['\r', '\n'], " "),
        text: fill(t.text, &lookup)?,
        html: layout,
    })
}

fn fill(
    template: &str,
    lookup: &dyn Fn(&str) -> Result<String, RenderError>,
) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        out.push_str(&lookup(after[..end].trim())?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

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
        let r = render(
            "verify_email",
            &json!({"name": "Ada", "link": "https://app.example/verify-email?token=t"}),
            &branding(),
        )
        .expect("renders");
        assert_eq!(r.subject, "Confirm your email for Acme");
        assert!(r.text.contains("Hello Ada,") && r.text.contains("token=t"));
        assert!(
            r.html
                .contains("<a href=\"https://app.example/verify-email?token=t\">")
        );
        assert!(r.html.contains("Acme</p>"));
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let r = render(
            "notice",
            &json!({"subject": "Hi", "message": "<b>&</b>"}),
            &branding(),
        )
        .expect("renders");
        assert_eq!(r.text, "<b>&</b>\n");
        assert!(r.html.contains("&lt;b&gt;&amp;&lt;/b&gt;"));
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let r = render(
            "notice",
            &json!({"subject": "a\r\nBcc: x@y", "message": "m"}),
            &branding(),
        )
        .expect("renders");
        assert!(!r.subject.contains('\n'));
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = render("verify_email", &json!({"name": "Ada"}), &branding()).expect_err("fails");
        assert_eq!(
            err,
            RenderError::MissingField {
                template: "verify_email".into(),
                field: "link".into()
            }
        );
    }

    #[test]
    fn an_unknown_template_is_an_error() {
        assert!(matches!(
            render("nope", &json!({}), &branding()),
            Err(RenderError::UnknownTemplate(_))
        ));
    }
}
