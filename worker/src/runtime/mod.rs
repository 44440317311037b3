//! The worker runtime: per queue, a fetch loop feeding up to `concurrency` concurrent
//! handlers; acknowledgements batched; retries and the dead set; redelivery of jobs whose
//! worker died; delayed jobs promoted; the outbox relayed; graceful drain on shutdown.
//!
//! Timing, with `T` = `KEEL_JOB_REDELIVERY_SECS`: every worker touches the entries it holds
//! every `T/6`, and claims entries idle for more than `2T/3` every `T/6`, so a killed
//! worker's jobs run again within `5T/6` (under 30 s by default).

mod disposition;
mod maintenance;
mod queue_runner;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use keel_shared::jobs::Queue;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::context::JobContext;
use crate::jobs::Registry;
use maintenance::maintenance_loop;
use queue_runner::QueueRunner;

/// The runtime's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Queues served, each with its concurrency.
    pub queues: Vec<(String, usize)>,
    /// `T`: see the module documentation.
    pub redelivery_timeout: Duration,
    /// How long in-flight jobs may run after shutdown starts.
    pub grace: Duration,
    /// This process's consumer name (unique per process).
    pub worker_id: String,
}

/// A unique identity for this process: host, pid and a random part.
pub fn worker_id() -> String {
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!(
        "{host}-{}-{:06x}",
        std::process::id(),
        fastrand::u32(..0x00ff_ffff)
    )
}

/// One process's job runtime.
pub struct Runtime {
    ctx: JobContext,
    registry: Arc<Registry>,
    options: Options,
    draining: Arc<AtomicBool>,
}

impl Runtime {
    /// A runtime running `registry`'s jobs with `ctx`.
    /// `draining` is set when shutdown starts (the probe's `/readyz` then answers 503).
    pub fn new(
        ctx: JobContext,
        registry: Registry,
        options: Options,
        draining: Arc<AtomicBool>,
    ) -> Self {
        Self {
            ctx,
            registry: Arc::new(registry),
            options,
            draining,
        }
    }

    /// Runs until `shutdown` resolves, then drains: stops fetching, lets in-flight jobs finish
    /// within the grace period, hands back the rest, flushes acknowledgements.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let queue = self.ctx.queue.clone();
        for (name, _) in &self.options.queues {
            ensure_group_with_retry(&queue, name).await;
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut loops = JoinSet::new();
        let mut runners = Vec::new();
        for (name, concurrency) in &self.options.queues {
            let runner = QueueRunner::new(name.clone(), *concurrency, &self);
            runners.push(runner.clone());
            loops.spawn(runner.clone().fetch_loop(stop_rx.clone()));
        }
        let mut background = JoinSet::new();
        background.spawn(maintenance_loop(
            runners.clone(),
            self.ctx.clone(),
            self.options.clone(),
            stop_rx.clone(),
        ));
        tracing::info!(
            worker.id = %self.options.worker_id,
            queues = ?self.options.queues,
            "worker started"
        );

        shutdown.await;
        self.draining.store(true, Ordering::SeqCst);
        tracing::info!(
            grace_secs = self.options.grace.as_secs(),
            "draining: no new jobs"
        );
        let _ = stop_tx.send(true);
        while loops.join_next().await.is_some() {}

        let deadline = Instant::now() + self.options.grace;
        while runners.iter().any(|r| r.in_flight_count() > 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut handed_back = 0;
        for runner in &runners {
            handed_back += runner.hand_back_all().await;
        }
        if handed_back > 0 {
            tracing::warn!(
                handed_back,
                "jobs unfinished after the grace period were handed back"
            );
        }
        for runner in &runners {
            runner.close_acks().await;
        }
        background.abort_all();
        while background.join_next().await.is_some() {}
        tracing::info!("worker drained");
        Ok(())
    }
}

async fn ensure_group_with_retry(queue: &Queue, name: &str) {
    let mut delay = Duration::from_millis(100);
    loop {
        match queue.ensure_group(name).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(queue = name, error = %e, "cannot create the consumer group; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
