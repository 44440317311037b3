//! `record_queue_depth`: samples every queue's depth into the `keel_queue_depth` gauges (and
//! the debug log).

use keel_shared::jobs::payloads::RecordQueueDepth;

use super::JobResult;
use crate::context::JobContext;

/// Reads every queue's counts and records them as gauges.
#[tracing::instrument(name = "record_queue_depth", skip_all)]
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
        // Debug, not info: it runs every 15 s and the gauges already carry the figures.
        tracing::debug!(
            queue.name = %s.queue, queue.pending = s.pending, queue.in_flight = s.in_flight,
            queue.scheduled = s.scheduled, queue.dead = s.dead, "queue depth"
        );
    }
    Ok(())
}
