//! Background jobs: typed payloads with stable names, the envelope they travel in, and the
//! queue handle the api, the scheduler and the worker share.
//!
//! The queue is Keel's own, on Redis Streams (see ARCHITECTURE.md for why not apalis-redis):
//! one stream per queue with a consumer group, a sorted set per queue for delayed jobs and
//! retries, and a dead set. Delivery is at least once: an entry is acknowledged only after its
//! handler finished, and entries a dead worker held are claimed again by a live one.

pub mod envelope;
pub mod outbox;
pub mod payloads;
pub mod queue;
mod scripts;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use envelope::{DeadJob, Delivery, Envelope};
pub use queue::{Queue, QueueError, QueueStats};

/// The queues every deployment has. A job type names the one it runs on.
pub const QUEUES: &[&str] = &["critical", "default", "email"];

/// A job type: a small serde payload (ids, not rows) with a name that never changes once
/// released. Handlers live in the worker; payloads live here so the api and the scheduler can
/// enqueue without depending on the worker.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name; renaming it orphans jobs already queued.
    const NAME: &'static str;
    /// Payload version; bump it when the payload changes incompatibly (and keep a handler
    /// for the old version until the queue has drained).
    const VERSION: u32 = 1;
    /// The queue it runs on.
    const QUEUE: &'static str = "default";
    /// Attempts before the job goes to the dead set.
    const MAX_ATTEMPTS: u32 = 5;
    /// First retry delay; each further retry doubles it (with jitter), up to [`MAX_BACKOFF`].
    const BACKOFF: Duration = Duration::from_secs(2);
    /// A run taking longer than this is stopped and counts as a failed attempt.
    const TIMEOUT: Duration = Duration::from_secs(600);
}

/// No retry waits longer than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// The delay before attempt `attempt + 1` after attempt `attempt` failed: exponential, capped,
/// with "equal jitter" (between half and all of the exponential value) so retries of many jobs
/// that failed together spread out.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(MAX_BACKOFF);
    let half = capped / 2;
    half + half.mul_f64(fastrand::f64())
}

/// Counts a job of type `name` handed to Redis (`via` = `queue`) or written to the outbox in
/// a transaction (`via` = `outbox`; a transaction rolled back afterwards is counted too) in
/// `keel_jobs_enqueued_total`. Moves by the outbox relay and hand-backs are not new jobs and
/// are not counted.
pub(crate) fn count_enqueued(name: impl Into<metrics::SharedString>, via: &'static str) {
    metrics::counter!("keel_jobs_enqueued_total", "job" => name, "via" => via).increment(1);
}

/// Whether `name` can be a queue name: 1-32 of `a-z 0-9 _ -`.
pub fn is_valid_queue_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let base = Duration::from_secs(2);
        for attempt in 1..=5 {
            let full = base * (1 << (attempt - 1));
            let d = backoff(base, attempt);
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d:?} vs {full:?}"
            );
        }
        assert!(backoff(base, 40) <= MAX_BACKOFF);
    }

    #[test]
    fn queue_names_are_restricted() {
        assert!(is_valid_queue_name("email"));
        assert!(!is_valid_queue_name("Email"));
        assert!(!is_valid_queue_name("a:b"));
        assert!(!is_valid_queue_name(""));
    }
}
