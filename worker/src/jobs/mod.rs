//! THE list of job types this worker runs ([`registry`]), and the machinery that maps a
//! job's name and version to its handler.

pub mod delete_media;
pub mod noop;
pub mod purge_dead_jobs;
pub mod purge_expired_tokens;
pub mod purge_sent_emails;
pub mod record_queue_depth;
pub mod send_email;
pub mod send_email_link;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use keel_shared::jobs::Job;
use serde_json::Value;

use crate::context::JobContext;

/// How a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (network, a dependency down, a lock held).
    #[error("{0:#}")]
    Retry(anyhow::Error),
    /// Retrying cannot help (bad payload, a record that no longer exists): straight to the
    /// dead set.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        Self::Retry(e)
    }
}

/// A handler's result.
pub type JobResult = Result<(), JobError>;

type BoxFuture = Pin<Box<dyn Future<Output = JobResult> + Send>>;
type Handler = Arc<dyn Fn(JobContext, Value) -> BoxFuture + Send + Sync>;

/// One registered job type.
#[derive(Clone)]
pub struct Registered {
    /// The job's stable name.
    pub name: &'static str,
    /// Its queue.
    pub queue: &'static str,
    /// Attempts before the dead set.
    pub max_attempts: u32,
    /// First retry delay.
    pub backoff: Duration,
    /// Longest run.
    pub timeout: Duration,
    handler: Handler,
    validate: fn(&Value) -> Result<(), String>,
}

impl Registered {
    /// Checks that `payload` decodes as this job type's payload.
    pub fn validate(&self, payload: &Value) -> Result<(), String> {
        (self.validate)(payload)
    }

    /// Decodes `payload` and runs the handler. A payload that does not decode is a
    /// permanent failure.
    pub async fn run(&self, ctx: JobContext, payload: Value) -> JobResult {
        (self.handler)(ctx, payload).await
    }
}

/// Job types by (name, version).
#[derive(Clone, Default)]
pub struct Registry {
    jobs: HashMap<&'static str, Vec<(u32, Registered)>>,
}

impl Registry {
    /// Registers job type `J` with its handler.
    pub fn register<J, F, Fut>(&mut self, handler: F) -> &mut Self
    where
        J: Job,
        F: Fn(JobContext, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |ctx, payload| {
            let handler = Arc::clone(&handler);
            Box::pin(async move {
                let job: J = serde_json::from_value(payload).map_err(|e| {
                    JobError::Permanent(anyhow::anyhow!(
                        "payload of {} does not decode: {e}",
                        J::NAME
                    ))
                })?;
                handler(ctx, job).await
            })
        });
        let versions = self.jobs.entry(J::NAME).or_default();
        versions.retain(|(v, _)| *v != J::VERSION);
        versions.push((
            J::VERSION,
            Registered {
                name: J::NAME,
                queue: J::QUEUE,
                max_attempts: J::MAX_ATTEMPTS.max(1),
                backoff: J::BACKOFF,
                timeout: J::TIMEOUT,
                handler: erased,
                validate: |payload| {
                    serde_json::from_value::<J>(payload.clone())
                        .map(drop)
                        .map_err(|e| e.to_string())
                },
            },
        ));
        self
    }

    /// The job type for a name and payload version.
    pub fn get(&self, name: &str, version: u32) -> Option<&Registered> {
        self.jobs
            .get(name)?
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, r)| r)
    }

    /// The newest version registered under `name`, with its version.
    pub fn latest(&self, name: &str) -> Option<(u32, &Registered)> {
        self.jobs
            .get(name)?
            .iter()
            .max_by_key(|(v, _)| *v)
            .map(|(v, r)| (*v, r))
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.jobs.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

/// Every job type Keel runs. Add new ones here, and nowhere else.
pub fn registry() -> Registry {
    use keel_shared::jobs::payloads::*;
    let mut r = Registry::default();
    r.register::<Noop, _, _>(noop::run)
        .register::<SendEmail, _, _>(send_email::run)
        .register::<SendEmailV1, _, _>(send_email::run_v1)
        .register::<SendEmailLink, _, _>(send_email_link::run)
        .register::<DeleteMedia, _, _>(delete_media::run)
        .register::<PurgeDeadJobs, _, _>(purge_dead_jobs::run)
        .register::<PurgeExpiredTokens, _, _>(purge_expired_tokens::run)
        .register::<PurgeSentEmails, _, _>(purge_sent_emails::run)
        .register::<RecordQueueDepth, _, _>(record_queue_depth::run);
    r
}
