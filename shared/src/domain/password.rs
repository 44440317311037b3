//! The password rules for a new password: length, and strength as estimated by zxcvbn with
//! the user's own email and name as known words (so "ada.lovelace1815" is weak for Ada).

use secrecy::{ExposeSecret, SecretString};

/// Why a new password was refused; the message names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    /// Fewer than 10 characters.
    #[error("must be at least 10 characters")]
    TooShort,
    /// More than 128 characters.
    #[error("must be at most 128 characters")]
    TooLong,
    /// Common, guessable, or built from the user's email or name.
    #[error("is too easy to guess{0}")]
    TooWeak(String),
}

/// A password that passed the rules; the secret is never printed.
#[derive(Debug, Clone)]
pub struct NewPassword(SecretString);

impl NewPassword {
    /// Checks `raw` against the rules, with `user_inputs` (email, name) as words to avoid.
    pub fn parse(raw: &str, user_inputs: &[&str]) -> Result<Self, PasswordRejection> {
        let chars = raw.chars().count();
        if chars < 10 {
            return Err(PasswordRejection::TooShort);
        }
        if chars > 128 {
            return Err(PasswordRejection::TooLong);
        }
        let mut inputs: Vec<&str> = Vec::new();
        for input in user_inputs {
            inputs.push(input);
            // The parts of an email address and of a name are words on their own.
            inputs.extend(
                input
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|p| p.len() >= 3),
            );
        }
        let estimate = zxcvbn::zxcvbn(raw, &inputs);
        if (estimate.score() as u8) < 3 {
            let hint = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| format!(": {w}"))
                .unwrap_or_default();
            return Err(PasswordRejection::TooWeak(hint));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_random_password_is_accepted() {
        assert!(NewPassword::parse("violet-anchor-mosaic-71", &["ada@example.com", "Ada"]).is_ok());
    }

    #[test]
    fn short_and_long_passwords_name_the_rule() {
        assert_eq!(
            NewPassword::parse("abc", &[]).expect_err("too short"),
            PasswordRejection::TooShort
        );
        assert_eq!(
            NewPassword::parse(&"a".repeat(129), &[]).expect_err("too long"),
            PasswordRejection::TooLong
        );
    }

    #[test]
    fn a_common_password_is_refused() {
        assert!(matches!(
            NewPassword::parse("password123", &[]),
            Err(PasswordRejection::TooWeak(_))
        ));
    }

    #[test]
    fn a_password_built_from_the_users_email_is_refused() {
        let r = NewPassword::parse(
            "lovelace1815",
            &["ada.lovelace@example.com", "Ada Lovelace"],
        );
        assert!(matches!(r, Err(PasswordRejection::TooWeak(_))), "{r:?}");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let p = NewPassword::parse("violet-anchor-mosaic-71", &[]).expect("valid");
        assert!(!format!("{p:?}").contains("violet"));
    }
}
