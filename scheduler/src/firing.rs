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

    /// Handles every slot of every entry due at or before `now`, after each entry's shared
    /// cursor.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, QueueError> {
        self.tick_after(now, None).await
    }

    /// [`Self::tick`], where `handled_until` is when this replica's previous tick succeeded:
    /// every slot up to then was handled (by some replica), so the slots after it are walked
    /// without reading the cursors, one round trip less before each fire. A slot another
    /// replica fired meanwhile still fires once: the `SET NX` here fails.
    pub async fn tick_after(
        &self,
        now: DateTime<Utc>,
        handled_until: Option<DateTime<Utc>>,
    ) -> Result<TickReport, QueueError> {
        let mut report = TickReport::default();
        for entry in &self.entries {
            let Some(schedule) = &entry.schedule else {
                continue;
            };
            let cursor = match handled_until {
                Some(at) => at,
                None => match self.queue.slot_cursor(entry.name).await? {
                    Some(ms) => Utc.timestamp_millis_opt(ms).single().unwrap_or(now),
                    None => {
                        // First run ever: nothing was missed; start from now.
                        self.queue
                            .advance_slot_cursor(entry.name, now.timestamp_millis())
                            .await?;
                        continue;
                    }
                },
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

    /// The earliest slot of any enabled entry strictly after `after`.
    pub fn next_slot(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.entries
            .iter()
            .filter_map(|entry| entry.schedule.as_ref()?.after(&after).next())
            .min()
    }

    /// Ticks until `stop` resolves: once at start (to catch up on missed slots), then at each
    /// slot's time, sleeping in between (at most [`MAX_SLEEP`] at a time, so a step of the
    /// wall clock is noticed) and touching Redis only when a slot is due; after the first
    /// successful tick, from its own last successful tick ([`Self::tick_after`]). A tick that
    /// fails (Redis down) is retried after 100 ms, doubling up to [`MAX_SLEEP`]: a slot stays
    /// due until some replica handles it.
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let mut due = Utc::now();
        let mut retry = RETRY_FIRST;
        let mut handled_until = None;
        loop {
            let now = Utc::now();
            if now >= due {
                match self.tick_after(now, handled_until).await {
                    Ok(_) => {
                        handled_until = Some(now);
                        retry = RETRY_FIRST;
                        due = self.next_slot(now).unwrap_or(DateTime::<Utc>::MAX_UTC);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = retry.as_millis() as u64, "scheduler tick failed; retrying");
                        due = now + retry;
                        retry = (retry * 2).min(MAX_SLEEP);
                    }
                }
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(sleep_until(due, Utc::now())) => {}
            }
        }
    }
}

/// The longest the firing loop sleeps before it looks at the clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(1);
/// The first delay before a failed tick is tried again.
const RETRY_FIRST: Duration = Duration::from_millis(100);

/// How long to sleep at `now` to wake at `due`: zero when it is past, at most [`MAX_SLEEP`].
pub fn sleep_until(due: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (due - now).to_std().unwrap_or_default().min(MAX_SLEEP)
}

/// The deterministic id of an entry's slot.
pub fn slot_key(entry: &str, slot: DateTime<Utc>) -> String {
    format!("sched:{entry}:{}", slot.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_767_225_600_000 + ms)
            .single()
            .expect("time")
    }

    #[test]
    fn the_loop_sleeps_exactly_until_a_near_due_time() {
        assert_eq!(
            sleep_until(at_ms(1_250), at_ms(1_000)),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn a_due_time_already_past_means_no_sleep() {
        assert_eq!(sleep_until(at_ms(1_000), at_ms(1_004)), Duration::ZERO);
        assert_eq!(sleep_until(at_ms(1_000), at_ms(1_000)), Duration::ZERO);
    }

    #[test]
    fn a_far_due_time_is_slept_towards_at_most_max_sleep_at_a_time() {
        assert_eq!(sleep_until(at_ms(3_600_000), at_ms(0)), MAX_SLEEP);
        assert_eq!(sleep_until(DateTime::<Utc>::MAX_UTC, at_ms(0)), MAX_SLEEP);
    }
}
