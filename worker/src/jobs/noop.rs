//! `noop`: does nothing, optionally after a sleep. For smoke tests and benchmarks.

use std::time::Duration;

use keel_shared::jobs::payloads::Noop;

use super::JobResult;
use crate::context::JobContext;

/// Sleeps `sleep_ms` (capped at a minute), then succeeds.
#[tracing::instrument(name = "noop", skip_all, fields(noop.sleep_ms = job.sleep_ms))]
pub async fn run(_ctx: JobContext, job: Noop) -> JobResult {
    if let Some(ms) = job.sleep_ms {
        tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    }
    Ok(())
}
