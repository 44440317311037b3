//! The worker: which queues it serves and how it treats stuck and dead jobs.

use std::time::Duration;

use super::ConfigError;
use super::vars::Vars;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `KEEL_WORKER_QUEUES`: the queues this worker serves, each with its concurrency
    /// (`critical=4,default=16,email=4`).
    pub queues: Vec<(String, usize)>,
    /// `KEEL_JOB_REDELIVERY_SECS`: a job held this long by a worker that stopped
    /// heartbeating (killed) is delivered to another.
    pub redelivery_timeout: Duration,
    /// `KEEL_DEAD_JOB_RETENTION_HOURS`: dead jobs older than this are purged.
    pub dead_retention_hours: u64,
}

impl WorkerConfig {
    /// `KEEL_WORKER_QUEUES` (checked), the redelivery timeout (0 reads as 1 s) and the dead
    /// job retention.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            queues: v.parse_with(
                "KEEL_WORKER_QUEUES",
                "critical=4,default=16,email=4",
                parse_queues,
            )?,
            redelivery_timeout: v.secs_at_least_one("KEEL_JOB_REDELIVERY_SECS", 30)?,
            dead_retention_hours: v.parse_or("KEEL_DEAD_JOB_RETENTION_HOURS", 24 * 7)?,
        })
    }
}

/// `critical=4,default=16` → `[("critical", 4), ("default", 16)]`.
fn parse_queues(raw: &str) -> Result<Vec<(String, usize)>, String> {
    let mut queues: Vec<(String, usize)> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, n) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not queue=concurrency"))?;
        let (name, n) = (name.trim(), n.trim());
        if !crate::jobs::is_valid_queue_name(name) {
            return Err(format!("{name:?} is not a valid queue name (a-z 0-9 _ -)"));
        }
        let n: usize = n
            .parse()
            .ok()
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| format!("concurrency of {name} must be 1..=1024, not {n:?}"))?;
        if queues.iter().any(|(q, _)| q == name) {
            return Err(format!("queue {name} is listed twice"));
        }
        queues.push((name.to_owned(), n));
    }
    if queues.is_empty() {
        return Err("lists no queue".into());
    }
    Ok(queues)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_serve_the_three_standard_queues() {
        let c = accepted(WorkerConfig::from_vars, &[]);
        let names: Vec<&str> = c.queues.iter().map(|(q, _)| q.as_str()).collect();
        assert_eq!(names, ["critical", "default", "email"]);
        assert_eq!(c.redelivery_timeout, Duration::from_secs(30));
        assert_eq!(c.dead_retention_hours, 168);
    }

    #[test]
    fn worker_queues_parse_with_their_concurrency() {
        let c = accepted(
            WorkerConfig::from_vars,
            &[("KEEL_WORKER_QUEUES", "email=2, default=8")],
        );
        assert_eq!(
            c.queues,
            vec![("email".to_owned(), 2), ("default".to_owned(), 8)]
        );
    }

    #[test]
    fn malformed_worker_queues_are_refused() {
        for bad in ["email", "email=0", "Email=1", "a=1,a=2", "email=x", ","] {
            refused(WorkerConfig::from_vars, "KEEL_WORKER_QUEUES", bad);
        }
    }

    #[test]
    fn a_negative_dead_job_retention_is_refused() {
        refused(
            WorkerConfig::from_vars,
            "KEEL_DEAD_JOB_RETENTION_HOURS",
            "-1",
        );
    }
}
