//! The firing loop. Every replica computes each due slot of each entry and enqueues it with
//! a deterministic id (`sched:<entry>:<slot ms>`); an atomic `SET NX` + `XADD` in Redis makes
//! any other replica's attempt a no-op, so each slot fires exactly once however many replicas
//! run, and any of them can die.
//!
//! Each entry has a shared cursor in Redis (the latest slot handled). A replica that starts,
//! or falls behind, walks the slots after it: a slot that is due now (within
//! [`ON_TIME`]) fires; older ones were missed while no scheduler ran, and follow the
//! entry's misfire policy.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use keel_shared::jobs::{Queue, QueueError};

use crate::schedule::{Misfire, Resolved};

/// A slot at most this late is on time; later ones count as missed.
pub const ON_TIME: Duration = Duration::from_secs(10);
/// At most this many slots of one entry are looked at per tick (an every-second entry after
/// a long outage); the cursor jumps past older ones.
const MAX_SLOTS_PER_TICK: usize = 10_000;

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// Slots this replica enqueued.
    pub fired: usize,
    /// Slots this replica decided to skip (missed).
    pub skipped: usize,
    /// Slots another replica had already handled.
    pub taken: usize,
}

/// The scheduler of one process.
pub struct Scheduler {
    entries: Vec<Resolved>,
    queue: Queue,
    misfire_grace: Duration,
}

impl Scheduler {
    /// A scheduler for `entries` enqueueing into `queue`.
    pub fn new(entries: Vec<Resolved>, queue: Queue, misfire_grace: Duration) -> Self {
        Self {
            entries,
            queue,
            misfire_grace,
        }
    }

    /// How long a slot's id is kept: long enough that no replica can consider the slot again.
    fn key_ttl(&self) -> Duration {
        self.misfire_grace + ON_TIME + Duration::from_secs(3600)
    }

    /// Handles every slot of every entry due at or before `now`.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, QueueError> {
        let mut report = TickReport::default();
        for entry in &self.entries {
            let Some(schedule) = &entry.schedule else {
                continue;
            };
            let cursor = match self.queue.slot_cursor(entry.name).await? {
                Some(ms) => Utc.timestamp_millis_opt(ms).single().unwrap_or(now),
                None => {
                    // First run ever: nothing was missed; start from now.
                    self.queue
                        .advance_slot_cursor(entry.name, now.timestamp_millis())
                        .await?;
                    continue;
                }
            };
            let due: Vec<DateTime<Utc>> = schedule
                .after(&cursor)
                .take_while(|slot| *slot <= now)
                .take(MAX_SLOTS_PER_TICK)
                .collect();
            let Some(&last) = due.last() else {
                continue;
            };
            let on_time = chrono::Duration::from_std(ON_TIME).unwrap_or_default();
            let grace = chrono::Duration::from_std(self.misfire_grace).unwrap_or_default();
            let (missed, current): (Vec<_>, Vec<_>) =
                due.iter().partition(|slot| now - **slot > on_time);
            // The one missed slot that still runs under `once`: the latest, if within grace.
            let rescued = match entry.misfire {
                Misfire::Once => missed.last().copied().filter(|slot| now - *slot <= grace),
                Misfire::Skip => None,
            };
            for slot in missed {
                if Some(slot) == rescued {
                    self.fire(entry, slot, &mut report).await?;
                } else if self
                    .queue
                    .claim(&slot_key(entry.name, slot), self.key_ttl())
                    .await?
                {
                    report.skipped += 1;
                    metrics::counter!("keel_scheduler_slots_total", "entry" => entry.name, "outcome" => "skipped")
                        .increment(1);
                    tracing::warn!(entry = entry.name, slot = %slot, "missed slot skipped");
                } else {
                    report.taken += 1;
                }
            }
            for slot in current {
                self.fire(entry, slot, &mut report).await?;
            }
            self.queue
                .advance_slot_cursor(entry.name, last.timestamp_millis())
                .await?;
        }
        Ok(report)
    }

    async fn fire(
        &self,
        entry: &Resolved,
        slot: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), QueueError> {
        let envelope = entry.job.envelope(slot);
        if self
            .queue
            .push_unique(&envelope, &slot_key(entry.name, slot), self.key_ttl())
            .await?
        {
            report.fired += 1;
            let lag = (Utc::now() - slot).to_std().unwrap_or_default();
            metrics::counter!("keel_scheduler_slots_total", "entry" => entry.name, "outcome" => "fired")
                .increment(1);
            metrics::histogram!("keel_scheduler_lag_seconds", "entry" => entry.name)
                .record(lag.as_secs_f64());
            tracing::info!(entry = entry.name, slot = %slot, job.id = %envelope.id, lag_ms = lag.as_millis() as u64, "slot fired");
        } else {
            report.taken += 1;
        }
        Ok(())
    }

    /// Ticks until `stop` resolves: every 100 ms, so a slot fires within about that of its
    /// time. Redis errors are logged and retried on the next tick (a slot stays due until
    /// some replica handles it).
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let mut interval = tokio::time::interval(Duration::from_millis(100));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = interval.tick() => {}
            }
            if let Err(e) = self.tick(Utc::now()).await {
                tracing::warn!(error = %e, "scheduler tick failed; retrying");
            }
        }
    }
}

/// The deterministic id of an entry's slot.
pub fn slot_key(entry: &str, slot: DateTime<Utc>) -> String {
    format!("sched:{entry}:{}", slot.timestamp_millis())
}
