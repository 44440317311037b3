//! THE table of periodic jobs, in UTC, with seconds. The scheduler only enqueues; the work
//! happens in the worker. `KEEL_SCHEDULE` can turn entries off or change their expression.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use keel_shared::Config;
use keel_shared::jobs::payloads::{
    PurgeDeadJobs, PurgeExpiredTokens, PurgeSentEmails, RecordQueueDepth,
};
use keel_shared::jobs::{Envelope, Job, Queue};

/// What to do with slots missed while no scheduler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misfire {
    /// Log and count them; run nothing.
    Skip,
    /// Run the latest missed slot once, if it is within the misfire grace window.
    Once,
}

/// How an entry builds its job.
pub type MakeJob = fn(&Config) -> Result<JobSpec, serde_json::Error>;

/// The job an entry enqueues (name, version, queue, payload).
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Job name.
    pub name: &'static str,
    /// Payload version.
    pub version: u32,
    /// Queue.
    pub queue: &'static str,
    /// Payload.
    pub payload: serde_json::Value,
}

impl JobSpec {
    /// The spec of a typed job.
    pub fn of<J: Job>(job: &J) -> Result<Self, serde_json::Error> {
        Ok(Self {
            name: J::NAME,
            version: J::VERSION,
            queue: J::QUEUE,
            payload: serde_json::to_value(job)?,
        })
    }

    /// A fresh envelope for the slot at `slot`.
    pub fn envelope(&self, slot: DateTime<Utc>) -> Envelope {
        let mut envelope =
            Queue::envelope(self.name, self.version, self.queue, self.payload.clone());
        envelope.due_at_ms = slot.timestamp_millis();
        envelope
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Stable name (also part of each slot's id).
    pub name: &'static str,
    /// Cron expression with seconds: `sec min hour day-of-month month day-of-week [year]`.
    pub cron: &'static str,
    /// Missed-slot policy.
    pub misfire: Misfire,
    /// The job it enqueues.
    pub job: MakeJob,
}

/// Every periodic job Keel runs. Add new ones here, and nowhere else.
pub fn entries() -> Vec<Entry> {
    vec![
        Entry {
            name: "purge_dead_jobs",
            cron: "0 0 * * * *",
            misfire: Misfire::Once,
            job: |c| {
                JobSpec::of(&PurgeDeadJobs {
                    older_than_hours: c.worker.dead_retention_hours,
                })
            },
        },
        Entry {
            name: "purge_expired_tokens",
            cron: "0 15 * * * *",
            misfire: Misfire::Once,
            job: |_| JobSpec::of(&PurgeExpiredTokens {}),
        },
        Entry {
            name: "purge_sent_emails",
            cron: "0 30 3 * * *",
            misfire: Misfire::Once,
            job: |_| {
                JobSpec::of(&PurgeSentEmails {
                    older_than_days: 30,
                })
            },
        },
        Entry {
            name: "record_queue_depth",
            cron: "*/15 * * * * *",
            misfire: Misfire::Skip,
            job: |_| JobSpec::of(&RecordQueueDepth {}),
        },
    ]
}

/// An entry with its configuration applied.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The entry's name.
    pub name: &'static str,
    /// The effective schedule, or `None` when turned off.
    pub schedule: Option<cron::Schedule>,
    /// Missed-slot policy.
    pub misfire: Misfire,
    /// The job.
    pub job: JobSpec,
}

impl Resolved {
    /// The next `n` fire times after `after`.
    pub fn next_fires(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.schedule
            .as_ref()
            .map(|s| s.after(&after).take(n).collect())
            .unwrap_or_default()
    }

    /// Roughly the time between two fires (the first two after `now`).
    pub fn period(&self, now: DateTime<Utc>) -> Duration {
        match self.next_fires(now, 2).as_slice() {
            [a, b] => (*b - *a).to_std().unwrap_or(Duration::from_secs(1)),
            _ => Duration::from_secs(3600),
        }
    }
}

/// Why the table could not be resolved (reported as a `KEEL_SCHEDULE` configuration error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// An override names no entry.
    #[error("names no entry {0:?} (entries: {1})")]
    UnknownEntry(String, String),
    /// A cron expression does not parse.
    #[error("entry {0}: invalid cron expression {1:?}: {2}")]
    BadCron(String, String, String),
    /// An entry's job does not serialise.
    #[error("entry {0}: cannot build its job: {1}")]
    Job(String, String),
}

/// Applies `KEEL_SCHEDULE` overrides to `entries`.
pub fn resolve(entries: &[Entry], config: &Config) -> Result<Vec<Resolved>, ScheduleError> {
    for (name, _) in &config.scheduler.overrides {
        if !entries.iter().any(|e| e.name == name) {
            let known: Vec<_> = entries.iter().map(|e| e.name).collect();
            return Err(ScheduleError::UnknownEntry(name.clone(), known.join(", ")));
        }
    }
    entries
        .iter()
        .map(|entry| {
            let expression = config
                .scheduler
                .overrides
                .iter()
                .rev()
                .find(|(n, _)| n == entry.name)
                .map_or(entry.cron, |(_, v)| v.as_str());
            let schedule = if expression.eq_ignore_ascii_case("off") {
                None
            } else {
                Some(cron::Schedule::from_str(expression).map_err(|e| {
                    ScheduleError::BadCron(
                        entry.name.to_owned(),
                        expression.to_owned(),
                        e.to_string(),
                    )
                })?)
            };
            let job = (entry.job)(config)
                .map_err(|e| ScheduleError::Job(entry.name.to_owned(), e.to_string()))?;
            Ok(Resolved {
                name: entry.name,
                schedule,
                misfire: entry.misfire,
                job,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(schedule: &str) -> Config {
        Config::from_vars([("KEEL_SCHEDULE", schedule)]).expect("config")
    }

    #[test]
    fn every_entry_resolves_with_the_defaults() {
        let resolved = resolve(&entries(), &config("")).expect("valid table");
        assert_eq!(resolved.len(), entries().len());
        assert!(resolved.iter().all(|r| r.schedule.is_some()));
    }

    #[test]
    fn an_override_can_turn_an_entry_off_or_change_its_expression() {
        let resolved = resolve(
            &entries(),
            &config("purge_sent_emails=off; record_queue_depth=* * * * * *"),
        )
        .expect("valid");
        let by_name = |n: &str| resolved.iter().find(|r| r.name == n).expect("entry");
        assert!(by_name("purge_sent_emails").schedule.is_none());
        let now = Utc::now();
        assert_eq!(
            by_name("record_queue_depth").period(now),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn an_override_naming_no_entry_is_refused() {
        let err = resolve(&entries(), &config("nope=off")).expect_err("must fail");
        assert!(matches!(err, ScheduleError::UnknownEntry(name, _) if name == "nope"));
    }

    #[test]
    fn a_bad_cron_expression_is_refused_naming_the_entry() {
        let err =
            resolve(&entries(), &config("purge_dead_jobs=every hour")).expect_err("must fail");
        assert!(matches!(err, ScheduleError::BadCron(name, _, _) if name == "purge_dead_jobs"));
    }

    #[test]
    fn entry_names_are_unique() {
        let mut names: Vec<_> = entries().iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), entries().len());
    }
}
