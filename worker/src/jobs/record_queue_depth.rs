//! `record_queue_depth`: samples every queue's depth into metrics and the log.

use keel_shared::jobs::payloads::RecordQueueDepth;

use super::JobResult;
use crate::context::JobContext;

/// Reads every queue's counts and records them as gauges.
pub async fn run(ctx: JobContext, _job: RecordQueueDepth) -> JobResult {
    let queues: Vec<String> = keel_shared::jobs::QUEUES
        .iter()
        .map(|q| (*q).to_owned())
        .collect();
    let stats = ctx
        .queue
        .stats(&queues)
        .await
        .map_err(anyhow::Error::from)?;
    for s in &stats {
        crate::metrics::record_depth(s);
        tracing::info!(
            queue = %s.queue, pending = s.pending, in_flight = s.in_flight,
            scheduled = s.scheduled, dead = s.dead, "queue depth"
        );
    }
    Ok(())
}
