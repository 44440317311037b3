//! One queue's fetch loop, its handlers and its batched acknowledgements.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use keel_shared::jobs::{Delivery, Envelope, Queue, backoff};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::AbortHandle;

use super::Runtime;
use super::disposition::{BuryCause, Disposition, Outcome, disposition};
use crate::context::JobContext;
use crate::jobs::{JobError, Registry};
use crate::metrics;

/// How many entries one fetch takes at most.
const FETCH_BATCH: usize = 256;
/// How long a fetch waits for work (under the Redis client's 500 ms response timeout).
const FETCH_BLOCK: Duration = Duration::from_millis(200);

type InFlight = Arc<Mutex<HashMap<String, (Delivery, Option<AbortHandle>)>>>;

/// Everything one queue needs; cheap to clone.
#[derive(Clone)]
pub(super) struct QueueRunner {
    pub(super) name: String,
    pub(super) slots: Arc<Semaphore>,
    in_flight: InFlight,
    ack_tx: Arc<Mutex<Option<mpsc::UnboundedSender<String>>>>,
    acker: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    ctx: JobContext,
    registry: Arc<Registry>,
    worker_id: String,
}

impl QueueRunner {
    pub(super) fn new(name: String, concurrency: usize, rt: &Runtime) -> Self {
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let acker = tokio::spawn(ack_loop(rt.ctx.queue.clone(), name.clone(), ack_rx));
        Self {
            name,
            slots: Arc::new(Semaphore::new(concurrency)),
            in_flight: Arc::default(),
            ack_tx: Arc::new(Mutex::new(Some(ack_tx))),
            acker: Arc::new(tokio::sync::Mutex::new(Some(acker))),
            ctx: rt.ctx.clone(),
            registry: Arc::clone(&rt.registry),
            worker_id: rt.options.worker_id.clone(),
        }
    }

    pub(super) fn in_flight_count(&self) -> usize {
        self.in_flight.lock().map_or(0, |m| m.len())
    }

    pub(super) fn in_flight_ids(&self) -> Vec<String> {
        self.in_flight
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub(super) async fn fetch_loop(self, mut stop: watch::Receiver<bool>) {
        let mut error_delay = Duration::from_millis(100);
        loop {
            if *stop.borrow() {
                return;
            }
            // Wait for one free slot (or the stop signal), then take as many jobs as slots.
            let first = tokio::select! {
                permit = Arc::clone(&self.slots).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return,
                },
                _ = stop.changed() => return,
            };
            let want = (1 + self.slots.available_permits()).min(FETCH_BATCH);
            let fetched = self
                .ctx
                .queue
                .fetch(&self.name, &self.worker_id, want, FETCH_BLOCK)
                .await;
            match fetched {
                Ok(deliveries) => {
                    error_delay = Duration::from_millis(100);
                    let mut first = Some(first);
                    for delivery in deliveries {
                        let permit = match first.take() {
                            Some(p) => p,
                            None => match Arc::clone(&self.slots).acquire_owned().await {
                                Ok(p) => p,
                                Err(_) => return,
                            },
                        };
                        self.spawn(delivery, permit);
                    }
                }
                Err(e) => {
                    drop(first);
                    tracing::warn!(queue = %self.name, error = %e, "fetch failed; backing off");
                    tokio::select! {
                        _ = tokio::time::sleep(error_delay) => {},
                        _ = stop.changed() => return,
                    }
                    error_delay = (error_delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    pub(super) fn spawn(&self, delivery: Delivery, permit: tokio::sync::OwnedSemaphorePermit) {
        let entry_id = delivery.entry_id.clone();
        {
            let Ok(mut map) = self.in_flight.lock() else {
                return;
            };
            if map.contains_key(&entry_id) {
                // Already running here (claimed back while still in progress).
                return;
            }
            map.insert(entry_id.clone(), (delivery.clone(), None));
        }
        let runner = self.clone();
        let id = entry_id.clone();
        let handle = tokio::spawn(async move {
            // Sentry: the job's hub, tags and transaction (worker/src/observe.rs).
            crate::observe::in_job_scope(delivery, |d| runner.process(d)).await;
            if let Ok(mut map) = runner.in_flight.lock() {
                map.remove(&id);
            }
            drop(permit);
        });
        if let Ok(mut map) = self.in_flight.lock()
            && let Some(slot) = map.get_mut(&entry_id)
        {
            slot.1 = Some(handle.abort_handle());
        }
    }

    /// Runs one delivery and settles it (acknowledged, retried or buried).
    #[tracing::instrument(
        name = "job",
        skip_all,
        fields(
            job.queue = %self.name,
            job.entry = %delivery.entry_id,
            job.id = tracing::field::Empty,
            job.name = tracing::field::Empty,
            job.attempt = tracing::field::Empty,
        )
    )]
    async fn process(&self, delivery: Delivery) {
        let envelope = match delivery.envelope() {
            Ok(e) => e,
            Err(reason) => {
                let outcome = Outcome::Unrunnable(reason);
                let d = disposition(outcome, 0, 1, Duration::ZERO);
                return self.settle(&delivery, None, "(undecodable)", d).await;
            }
        };
        let span = tracing::Span::current();
        span.record("job.id", envelope.id.as_str());
        span.record("job.name", envelope.name.as_str());
        span.record("job.attempt", envelope.attempt);
        let Some(job) = self.registry.get(&envelope.name, envelope.version) else {
            let reason = format!(
                "no handler for job {:?} version {}",
                envelope.name, envelope.version
            );
            let d = disposition(
                Outcome::Unrunnable(reason),
                envelope.attempt,
                1,
                Duration::ZERO,
            );
            return self
                .settle(&delivery, Some(&envelope), &envelope.name, d)
                .await;
        };
        let waited_ms = chrono::Utc::now().timestamp_millis() - envelope.due_at_ms;
        metrics::job_start_latency(
            &self.name,
            Duration::from_millis(u64::try_from(waited_ms).unwrap_or(0)),
        );
        let started = Instant::now();
        let run =
            AssertUnwindSafe(job.run(self.ctx.clone(), envelope.payload.clone())).catch_unwind();
        let outcome = match tokio::time::timeout(job.timeout, run).await {
            Ok(Ok(Ok(()))) => Outcome::Succeeded,
            Ok(Ok(Err(e))) => Outcome::Failed(e),
            Ok(Err(panic)) => Outcome::Failed(JobError::Retry(anyhow::anyhow!(
                "the handler panicked: {}",
                panic_message(&*panic)
            ))),
            Err(_) => Outcome::Failed(JobError::Retry(anyhow::anyhow!(
                "timed out after {} s",
                job.timeout.as_secs()
            ))),
        };
        metrics::job_duration(job.name, started.elapsed());
        let retry_delay = backoff(job.backoff, envelope.attempt);
        let d = disposition(outcome, envelope.attempt, job.max_attempts, retry_delay);
        self.settle(&delivery, Some(&envelope), job.name, d).await;
    }

    /// Acts on a disposition: the one place that acknowledges, retries or buries, counts the
    /// outcome and logs the failure (once, here, where it is handled).
    async fn settle(
        &self,
        delivery: &Delivery,
        envelope: Option<&Envelope>,
        job_name: &str,
        disposition: Disposition,
    ) {
        let queue = &self.ctx.queue;
        match disposition {
            Disposition::Ack => {
                metrics::job_outcome(job_name, &self.name, "processed");
                self.ack(delivery.entry_id.clone());
            }
            Disposition::Retry { after, error } => {
                metrics::job_outcome(job_name, &self.name, "failed");
                metrics::job_outcome(job_name, &self.name, "retried");
                let retry_in_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                tracing::warn!(%error, retry_in_ms, "job failed; will retry");
                let Some(envelope) = envelope else {
                    // Only a decoded job runs, so only a decoded job is retried.
                    tracing::error!("a retry without an envelope; the job will be delivered again");
                    return;
                };
                if let Err(e) = queue.retry_later(delivery, envelope, &error, after).await {
                    tracing::error!(error = %e, "cannot schedule the retry; the job will be delivered again");
                }
            }
            Disposition::Bury {
                cause,
                error,
                attempts,
            } => {
                if cause == BuryCause::Exhausted {
                    metrics::job_outcome(job_name, &self.name, "failed");
                }
                metrics::job_outcome(job_name, &self.name, "dead");
                tracing::error!(%error, "{}", cause.message());
                if let Err(e) = queue.bury(delivery, &error, attempts).await {
                    tracing::error!(error = %e, "cannot bury; the job will be delivered again");
                }
            }
        }
    }

    fn ack(&self, entry_id: String) {
        if let Ok(guard) = self.ack_tx.lock()
            && let Some(tx) = guard.as_ref()
        {
            let _ = tx.send(entry_id);
        }
    }

    /// Aborts what is still running and puts it back on the queue.
    pub(super) async fn hand_back_all(&self) -> usize {
        let left: Vec<(Delivery, Option<AbortHandle>)> = self
            .in_flight
            .lock()
            .map(|mut m| m.drain().map(|(_, v)| v).collect())
            .unwrap_or_default();
        for (delivery, handle) in &left {
            if let Some(h) = handle {
                h.abort();
            }
            if let Err(e) = self.ctx.queue.hand_back(delivery).await {
                tracing::error!(error = %e, "cannot hand back a job; it will be delivered again after the redelivery timeout");
            }
        }
        left.len()
    }

    pub(super) async fn close_acks(&self) {
        if let Ok(mut tx) = self.ack_tx.lock() {
            tx.take();
        }
        if let Some(handle) = self.acker.lock().await.take() {
            let _ = handle.await;
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Acknowledges finished entries in batches: one round trip for many jobs.
async fn ack_loop(queue: Queue, name: String, mut rx: mpsc::UnboundedReceiver<String>) {
    let mut batch = Vec::with_capacity(1024);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(id) => batch.push(id),
                Err(_) => break,
            }
        }
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=5 {
            match queue.ack(&name, &batch).await {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    tracing::warn!(queue = %name, error = %e, "ack failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => tracing::error!(
                    queue = %name, error = %e, jobs = batch.len(),
                    "cannot acknowledge; these jobs will run again after the redelivery timeout"
                ),
            }
        }
        batch.clear();
    }
}
