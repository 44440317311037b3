//! Heartbeats, redelivery of dead workers' jobs, delayed-job promotion, the outbox relay and
//! consumer cleanup: one loop per worker process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_shared::jobs::outbox;
use tokio::sync::watch;

use super::Options;
use super::queue_runner::QueueRunner;
use crate::context::JobContext;

/// Heartbeats, redelivery of dead workers' jobs, delayed-job promotion, the outbox relay and
/// consumer cleanup.
pub(super) async fn maintenance_loop(
    runners: Vec<QueueRunner>,
    ctx: JobContext,
    options: Options,
    stop: watch::Receiver<bool>,
) {
    let tick = (options.redelivery_timeout / 6).max(Duration::from_millis(200));
    let min_idle = options.redelivery_timeout * 2 / 3;
    let mut last_heartbeat = Instant::now();
    let mut last_forget = Instant::now();
    let mut last_depth = Instant::now() - Duration::from_secs(60);
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        // Promote due delayed jobs and retries.
        for runner in &runners {
            loop {
                match ctx.queue.promote_due(&runner.name, 1000).await {
                    Ok(1000) => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(queue = %runner.name, error = %e, "cannot promote due jobs");
                        break;
                    }
                }
            }
        }
        // Relay the outbox.
        loop {
            match outbox::relay(&ctx.db, &ctx.queue, 1000).await {
                Ok(1000) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay failed; rows stay for the next try");
                    break;
                }
            }
        }
        if last_heartbeat.elapsed() >= tick {
            last_heartbeat = Instant::now();
            for runner in &runners {
                if let Err(e) = ctx
                    .queue
                    .touch(&runner.name, &options.worker_id, &runner.in_flight_ids())
                    .await
                {
                    tracing::warn!(queue = %runner.name, error = %e, "heartbeat failed");
                }
                if *stop.borrow() {
                    continue;
                }
                match ctx
                    .queue
                    .reclaim(&runner.name, &options.worker_id, min_idle, 100)
                    .await
                {
                    Ok(claimed) => {
                        for delivery in claimed {
                            tracing::warn!(queue = %runner.name, entry = %delivery.entry_id, "running a job whose worker stopped");
                            match Arc::clone(&runner.slots).acquire_owned().await {
                                Ok(permit) => runner.spawn(delivery, permit),
                                Err(_) => break,
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(queue = %runner.name, error = %e, "redelivery scan failed")
                    }
                }
            }
        }
        if last_depth.elapsed() >= Duration::from_secs(5) {
            last_depth = Instant::now();
            let names: Vec<String> = runners.iter().map(|r| r.name.clone()).collect();
            match ctx.queue.stats(&names).await {
                Ok(stats) => stats.iter().for_each(crate::metrics::record_depth),
                Err(e) => tracing::debug!(error = %e, "cannot sample queue depth"),
            }
        }
        if last_forget.elapsed() >= Duration::from_secs(300) {
            last_forget = Instant::now();
            for runner in &runners {
                let _ = ctx
                    .queue
                    .forget_idle_consumers(&runner.name, Duration::from_secs(3600))
                    .await;
            }
        }
    }
}
