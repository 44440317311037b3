//! The process-wide basics: the deployment environment (`APP_ENV`) and the secret key.

use std::str::FromStr;

use secrecy::SecretString;

use super::ConfigError;
use super::vars::{Vars, one_of};

/// The secret key used when none is set outside production. Production refuses it.
pub const DEVELOPMENT_SECRET_KEY: &str = "keel-development-secret-key-do-not-use-in-production";

/// The deployment environment, from `APP_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// A developer's machine: pretty logs, `.env` is read, development defaults allowed.
    Development,
    /// The test suite.
    Test,
    /// A real deployment: JSON logs, insecure settings refused.
    Production,
}

impl FromStr for AppEnv {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        one_of(
            s,
            &[
                ("development", Self::Development),
                ("test", Self::Test),
                ("production", Self::Production),
            ],
        )
    }
}

impl AppEnv {
    /// `APP_ENV`, development when unset — unless `KEEL_SECRET_KEY` holds a real secret (not
    /// the development key): a deployment that forgot `APP_ENV` would otherwise run with
    /// every production check off, so it refuses to start naming `APP_ENV` instead.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        if v.get("APP_ENV").is_none()
            && v.get("KEEL_SECRET_KEY")
                .is_some_and(|key| key != DEVELOPMENT_SECRET_KEY)
        {
            return Err(ConfigError::new(
                "APP_ENV",
                "must be set when KEEL_SECRET_KEY is set to a real secret: `production` for a \
                 deployment (unset means development, which skips the production checks)",
            ));
        }
        v.parse_or("APP_ENV", Self::Development)
    }
}

/// `KEEL_SECRET_KEY`, or the development key when unset (production refuses that earlier,
/// in `production::require_secret_key`).
pub(super) fn secret_key_from_vars(v: &Vars) -> SecretString {
    SecretString::from(
        v.get_or("KEEL_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::vars::refused;

    #[test]
    fn app_env_defaults_to_development_and_reads_each_name() {
        assert_eq!(AppEnv::from_vars(&Vars::of(&[])), Ok(AppEnv::Development));
        let test = Vars::of(&[("APP_ENV", "test")]);
        assert_eq!(AppEnv::from_vars(&test), Ok(AppEnv::Test));
    }

    #[test]
    fn an_unset_app_env_with_a_real_secret_key_is_refused() {
        let vars = Vars::of(&[("KEEL_SECRET_KEY", "0123456789abcdef0123456789abcdef")]);
        let err = AppEnv::from_vars(&vars).expect_err("must not mean development");
        assert_eq!(err.var, "APP_ENV");
        let dev_key = Vars::of(&[("KEEL_SECRET_KEY", DEVELOPMENT_SECRET_KEY)]);
        assert_eq!(AppEnv::from_vars(&dev_key), Ok(AppEnv::Development));
        let explicit = Vars::of(&[
            ("APP_ENV", "development"),
            ("KEEL_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ]);
        assert_eq!(AppEnv::from_vars(&explicit), Ok(AppEnv::Development));
    }

    #[test]
    fn an_unknown_app_env_is_refused_with_the_choices() {
        let err = refused(AppEnv::from_vars, "APP_ENV", "staging");
        assert_eq!(
            err.to_string(),
            "configuration error: APP_ENV: invalid value \"staging\": \
             expected one of development, test, production"
        );
    }

    #[test]
    fn the_secret_key_defaults_to_the_development_key() {
        let unset = secret_key_from_vars(&Vars::of(&[("KEEL_SECRET_KEY", "")]));
        assert_eq!(unset.expose_secret(), DEVELOPMENT_SECRET_KEY);
        let set = secret_key_from_vars(&Vars::of(&[("KEEL_SECRET_KEY", "abc")]));
        assert_eq!(set.expose_secret(), "abc");
    }
}
