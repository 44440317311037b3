//! Prometheus metrics of the worker, served on its probe port at `/metrics`.

use std::time::Duration;

use keel_shared::jobs::QueueStats;

/// A job finished with `outcome` (`processed`, `failed`, `retried`, `dead`).
pub fn job_outcome(name: &str, queue: &str, outcome: &'static str) {
    metrics::counter!("keel_jobs_total", "job" => name.to_owned(), "queue" => queue.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// How long a job's handler ran.
pub fn job_duration(name: &str, elapsed: Duration) {
    metrics::histogram!("keel_job_duration_seconds", "job" => name.to_owned())
        .record(elapsed.as_secs_f64());
}

/// How long a job waited between becoming due and starting.
pub fn job_start_latency(queue: &str, waited: Duration) {
    metrics::histogram!("keel_job_start_latency_seconds", "queue" => queue.to_owned())
        .record(waited.as_secs_f64());
}

/// Queue depth gauges.
pub fn record_depth(s: &QueueStats) {
    for (state, value) in [
        ("pending", s.pending),
        ("in_flight", s.in_flight),
        ("scheduled", s.scheduled),
        ("dead", s.dead),
    ] {
        #[expect(
            clippy::cast_precision_loss,
            reason = "queue depths are far below 2^52"
        )]
        metrics::gauge!("keel_queue_depth", "queue" => s.queue.clone(), "state" => state)
            .set(value as f64);
    }
}
