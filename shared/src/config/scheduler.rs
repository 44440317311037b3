//! The scheduler: per-entry schedule overrides and how late a missed slot may still fire.

use std::time::Duration;

use super::ConfigError;
use super::vars::Vars;

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// `KEEL_SCHEDULE`: per-entry overrides, `name=<cron expression>` or `name=off`,
    /// separated by `;`. Checked against the entries by the scheduler at startup.
    pub overrides: Vec<(String, String)>,
    /// `KEEL_SCHEDULER_MISFIRE_GRACE_SECS`: a slot missed while no scheduler ran is still run
    /// (policy `once`) when the scheduler is back within this long.
    pub misfire_grace: Duration,
}

impl SchedulerConfig {
    /// `KEEL_SCHEDULE` split into pairs (names and expressions are checked by the scheduler,
    /// which knows the entries) and the misfire grace.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            overrides: v.parse_with("KEEL_SCHEDULE", "", parse_overrides)?,
            misfire_grace: Duration::from_secs(
                v.parse_or("KEEL_SCHEDULER_MISFIRE_GRACE_SECS", 300)?,
            ),
        })
    }
}

/// `a=0 0 * * * *;b=off` → `[("a", "0 0 * * * *"), ("b", "off")]`.
fn parse_overrides(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=<cron expression> or name=off"))?;
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_override_nothing_with_a_five_minute_grace() {
        let c = accepted(SchedulerConfig::from_vars, &[]);
        assert!(c.overrides.is_empty());
        assert_eq!(c.misfire_grace, Duration::from_secs(300));
    }

    #[test]
    fn overrides_split_on_semicolons_and_keep_spaces_inside_expressions() {
        let c = accepted(
            SchedulerConfig::from_vars,
            &[("KEEL_SCHEDULE", "a=0 0 * * * * ; b=off;")],
        );
        assert_eq!(
            c.overrides,
            vec![
                ("a".to_owned(), "0 0 * * * *".to_owned()),
                ("b".to_owned(), "off".to_owned())
            ]
        );
    }

    #[test]
    fn a_schedule_override_without_equals_is_refused() {
        let err = refused(
            SchedulerConfig::from_vars,
            "KEEL_SCHEDULE",
            "purge_dead_jobs",
        );
        assert_eq!(
            err.to_string(),
            "configuration error: KEEL_SCHEDULE: \"purge_dead_jobs\" is not \
             name=<cron expression> or name=off"
        );
    }

    #[test]
    fn a_non_numeric_misfire_grace_is_refused() {
        refused(
            SchedulerConfig::from_vars,
            "KEEL_SCHEDULER_MISFIRE_GRACE_SECS",
            "5m",
        );
    }
}
