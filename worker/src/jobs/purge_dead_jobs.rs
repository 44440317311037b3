//! `purge_dead_jobs`: deletes dead jobs older than the retention period.

use std::time::Duration;

use keel_shared::jobs::payloads::PurgeDeadJobs;

use super::JobResult;
use crate::context::JobContext;

/// Deletes dead jobs that died more than `older_than_hours` ago.
#[tracing::instrument(name = "purge_dead_jobs", skip_all, fields(purge.older_than_hours = job.older_than_hours))]
pub async fn run(ctx: JobContext, job: PurgeDeadJobs) -> JobResult {
    let age = Duration::from_secs(job.older_than_hours.saturating_mul(3600));
    let cutoff = chrono::Utc::now().timestamp_millis()
        - i64::try_from(age.as_millis()).unwrap_or(i64::MAX / 2);
    let purged = ctx
        .queue
        .dead_purge(cutoff)
        .await
        .map_err(anyhow::Error::from)?;
    tracing::info!(purged, "purged old dead jobs");
    Ok(())
}
