//! Logging: the `RUST_LOG` filter and the line format.

use std::str::FromStr;

use super::vars::{Vars, one_of};
use super::{AppEnv, ConfigError};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Multi-line, coloured, for a developer's terminal.
    Pretty,
    /// One line per event, human-readable.
    Compact,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        one_of(
            s,
            &[
                ("pretty", Self::Pretty),
                ("compact", Self::Compact),
                ("json", Self::Json),
            ],
        )
    }
}

/// Logging settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `RUST_LOG`, an `EnvFilter` directive (checked at startup).
    pub filter: String,
    /// `KEEL_LOG_FORMAT`; defaults to JSON in production, pretty in development.
    pub format: LogFormat,
}

impl LogConfig {
    /// `RUST_LOG` (checked as an `EnvFilter`) and `KEEL_LOG_FORMAT`, whose default depends on
    /// `env`.
    pub(super) fn from_vars(v: &Vars, env: AppEnv) -> Result<Self, ConfigError> {
        let filter = v.get_or("RUST_LOG", "info").to_owned();
        tracing_subscriber::EnvFilter::try_new(&filter)
            .map_err(|e| ConfigError::new("RUST_LOG", format!("invalid filter {filter:?}: {e}")))?;
        let default_format = match env {
            AppEnv::Production => LogFormat::Json,
            AppEnv::Test => LogFormat::Compact,
            AppEnv::Development => LogFormat::Pretty,
        };
        Ok(Self {
            filter,
            format: v.parse_or("KEEL_LOG_FORMAT", default_format)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    fn development(v: &Vars) -> Result<LogConfig, ConfigError> {
        LogConfig::from_vars(v, AppEnv::Development)
    }

    #[test]
    fn the_format_defaults_by_environment_and_the_filter_to_info() {
        let none = Vars::of(&[]);
        let dev = LogConfig::from_vars(&none, AppEnv::Development).expect("valid");
        assert_eq!(
            (dev.filter.as_str(), dev.format),
            ("info", LogFormat::Pretty)
        );
        let test = LogConfig::from_vars(&none, AppEnv::Test).expect("valid");
        assert_eq!(test.format, LogFormat::Compact);
        let prod = LogConfig::from_vars(&none, AppEnv::Production).expect("valid");
        assert_eq!(prod.format, LogFormat::Json);
    }

    #[test]
    fn an_explicit_format_wins_over_the_environment_default() {
        let production = |v: &Vars| LogConfig::from_vars(v, AppEnv::Production);
        let c = accepted(production, &[("KEEL_LOG_FORMAT", "compact")]);
        assert_eq!(c.format, LogFormat::Compact);
    }

    #[test]
    fn a_bad_log_filter_names_rust_log() {
        refused(development, "RUST_LOG", "info,[[[");
    }

    #[test]
    fn an_unknown_format_lists_the_choices() {
        let err = refused(development, "KEEL_LOG_FORMAT", "xml");
        assert_eq!(
            err.to_string(),
            "configuration error: KEEL_LOG_FORMAT: invalid value \"xml\": \
             expected one of pretty, compact, json"
        );
    }
}
