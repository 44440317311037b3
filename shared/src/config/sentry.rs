//! Sentry: where errors and traces go, under which environment and release, and how many
//! transactions are sampled. Without `SENTRY_DSN` nothing is sent.

use secrecy::SecretString;

use super::vars::Vars;
use super::{AppEnv, ConfigError};

/// Sentry settings.
#[derive(Debug, Clone)]
pub struct SentryConfig {
    /// `SENTRY_DSN`: the project's ingest address; `None` switches Sentry off.
    pub dsn: Option<SecretString>,
    /// `SENTRY_ENVIRONMENT`: defaults to `APP_ENV`'s value.
    pub environment: String,
    /// `SENTRY_RELEASE`: overrides the release reported (default: `keel@<version>+<git sha>`).
    pub release: Option<String>,
    /// `SENTRY_TRACES_SAMPLE_RATE`: the share of requests and jobs traced, 0 to 1 (default 0.1).
    pub traces_sample_rate: f32,
}

impl SentryConfig {
    /// `SENTRY_DSN` (checked), `SENTRY_ENVIRONMENT`, `SENTRY_RELEASE` and
    /// `SENTRY_TRACES_SAMPLE_RATE` (between 0 and 1).
    pub(super) fn from_vars(v: &Vars, env: AppEnv) -> Result<Self, ConfigError> {
        let dsn = match v.get("SENTRY_DSN") {
            None => None,
            Some(raw) => {
                raw.parse::<sentry::types::Dsn>().map_err(|e| {
                    ConfigError::new("SENTRY_DSN", format!("not a valid Sentry DSN: {e}"))
                })?;
                Some(SecretString::from(raw.to_owned()))
            }
        };
        let env_name = match env {
            AppEnv::Development => "development",
            AppEnv::Test => "test",
            AppEnv::Production => "production",
        };
        let traces_sample_rate = v.parse_with("SENTRY_TRACES_SAMPLE_RATE", "0.1", |s| {
            s.parse::<f32>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| format!("invalid value {s:?}: expected a number from 0 to 1"))
        })?;
        Ok(Self {
            dsn,
            environment: v.get_or("SENTRY_ENVIRONMENT", env_name).to_owned(),
            release: v.get("SENTRY_RELEASE").map(str::to_owned),
            traces_sample_rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::vars::refused;

    fn production(v: &Vars) -> Result<SentryConfig, ConfigError> {
        SentryConfig::from_vars(v, AppEnv::Production)
    }

    #[test]
    fn sentry_is_off_by_default_with_a_tenth_of_traces_and_the_app_env() {
        let c = production(&Vars::of(&[])).expect("valid");
        assert!(c.dsn.is_none());
        assert_eq!(c.environment, "production");
        assert_eq!(c.release, None);
        assert!((c.traces_sample_rate - 0.1).abs() < f32::EPSILON);
    }

    #[test]
    fn every_setting_can_be_given() {
        let v = Vars::of(&[
            ("SENTRY_DSN", "https://public@sentry.example.com/42"),
            ("SENTRY_ENVIRONMENT", "staging"),
            ("SENTRY_RELEASE", "keel@1.2.3"),
            ("SENTRY_TRACES_SAMPLE_RATE", "1"),
        ]);
        let c = production(&v).expect("valid");
        let dsn = c.dsn.expect("set");
        assert_eq!(dsn.expose_secret(), "https://public@sentry.example.com/42");
        assert_eq!(c.environment, "staging");
        assert_eq!(c.release.as_deref(), Some("keel@1.2.3"));
        assert!((c.traces_sample_rate - 1.0).abs() < f32::EPSILON);
    }

    #[test]
    fn a_malformed_dsn_is_refused() {
        refused(production, "SENTRY_DSN", "not a dsn");
    }

    #[test]
    fn a_sample_rate_outside_zero_to_one_is_refused() {
        for bad in ["1.5", "-0.1", "ten"] {
            let err = refused(production, "SENTRY_TRACES_SAMPLE_RATE", bad);
            assert!(err.problem.contains("from 0 to 1"), "{bad}: {err}");
        }
    }
}
