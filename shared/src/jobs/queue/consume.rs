//! The worker's side of the queue: fetch, acknowledge, retry, bury, redeliver, promote.

use std::time::Duration;

use redis::AsyncCommands;
use redis::streams::{StreamAutoClaimReply, StreamReadReply};
use serde_json::Value;

use super::{GROUP, Queue, QueueError, delivery, now_ms};
use crate::jobs::envelope::{DeadJob, Delivery, Envelope};
use crate::jobs::scripts;

impl Queue {
    /// Creates the consumer group of `queue` (and the stream) if missing.
    pub async fn ensure_group(&self, queue: &str) -> Result<(), QueueError> {
        let mut conn = self.redis.get().await?;
        let created: redis::RedisResult<()> = conn
            .xgroup_create_mkstream(self.stream(queue), GROUP, "0")
            .await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => Ok(other?),
        }
    }

    /// Takes up to `count` new jobs of `queue` for `consumer`, waiting up to `block` for one.
    pub async fn fetch(
        &self,
        queue: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut conn = self.redis.get().await?;
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(0))
            .arg("STREAMS")
            .arg(self.stream(queue))
            .arg(">")
            .query_async(&mut *conn)
            .await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|entry| delivery(queue, entry, 1))
            .collect())
    }

    /// Claims entries of `queue` that some consumer has held for longer than `min_idle`
    /// (its worker died): at-least-once redelivery.
    pub async fn reclaim(
        &self,
        queue: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut conn = self.redis.get().await?;
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(self.stream(queue))
            .arg(GROUP)
            .arg(consumer)
            .arg(u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX))
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut *conn)
            .await?;
        Ok(reply
            .claimed
            .into_iter()
            .map(|entry| delivery(queue, entry, 2))
            .collect())
    }

    /// Resets the idle time of entries this consumer is still working on, so a long job is
    /// not claimed by another worker while its own is alive.
    pub async fn touch(
        &self,
        queue: &str,
        consumer: &str,
        entry_ids: &[String],
    ) -> Result<(), QueueError> {
        if entry_ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.redis.get().await?;
        let _: Value = redis::cmd("XCLAIM")
            .arg(self.stream(queue))
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(entry_ids)
            .arg("JUSTID")
            .query_async(&mut *conn)
            .await
            .map(|_: redis::Value| Value::Null)?;
        Ok(())
    }

    /// Acknowledges finished entries and counts them as processed.
    pub async fn ack(&self, queue: &str, entry_ids: &[String]) -> Result<(), QueueError> {
        if entry_ids.is_empty() {
            return Ok(());
        }
        let stream = self.stream(queue);
        let mut conn = self.redis.get().await?;
        let _: () = redis::pipe()
            .atomic()
            .xack(&stream, GROUP, entry_ids)
            .ignore()
            .xdel(&stream, entry_ids)
            .ignore()
            .incr(self.counter(queue, "processed"), entry_ids.len())
            .ignore()
            .query_async(&mut *conn)
            .await?;
        Ok(())
    }

    /// Acknowledges a failed delivery and schedules attempt `envelope.attempt + 1` after
    /// `delay`.
    pub async fn retry_later(
        &self,
        delivery: &Delivery,
        envelope: &Envelope,
        error: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let mut next = envelope.clone();
        next.attempt += 1;
        next.last_error = Some(error.to_owned());
        next.due_at_ms = now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        // Counted first, so whoever sees the retry (or, below, the dead job) sees the failure
        // that caused it too.
        self.count_failure(&delivery.queue).await?;
        let mut conn = self.redis.get().await?;
        let _: i64 = scripts::RETRY
            .key(self.stream(&delivery.queue))
            .key(self.scheduled(&delivery.queue))
            .key(self.counter(&delivery.queue, "retried"))
            .arg(GROUP)
            .arg(&delivery.entry_id)
            .arg(next.due_at_ms)
            .arg(serde_json::to_string(&next)?)
            .invoke_async(&mut *conn)
            .await?;
        Ok(())
    }

    /// Counts one failed attempt of `queue`.
    pub async fn count_failure(&self, queue: &str) -> Result<(), QueueError> {
        let mut conn = self.redis.get().await?;
        let _: () = conn.incr(self.counter(queue, "failed"), 1).await?;
        Ok(())
    }

    /// Moves a delivery to the dead set with its last error.
    pub async fn bury(
        &self,
        delivery: &Delivery,
        error: &str,
        attempts: u32,
    ) -> Result<String, QueueError> {
        let envelope = delivery.envelope().ok();
        let dead = DeadJob {
            id: envelope
                .as_ref()
                .map_or_else(|| uuid::Uuid::now_v7().to_string(), |e| e.id.clone()),
            queue: delivery.queue.clone(),
            name: envelope.map(|e| e.name),
            raw: delivery.raw.clone(),
            error: error.to_owned(),
            attempts,
            died_at_ms: now_ms(),
        };
        self.count_failure(&delivery.queue).await?;
        let mut conn = self.redis.get().await?;
        let _: i64 = scripts::BURY
            .key(self.stream(&delivery.queue))
            .key(self.dead_hash())
            .key(self.dead_index())
            .key(self.counter(&delivery.queue, "dead"))
            .key(self.queue_dead_index(&delivery.queue))
            .arg(GROUP)
            .arg(&delivery.entry_id)
            .arg(&dead.id)
            .arg(serde_json::to_string(&dead)?)
            .arg(dead.died_at_ms)
            .invoke_async(&mut *conn)
            .await?;
        Ok(dead.id)
    }

    /// Hands an unfinished delivery back to its queue (at shutdown), so another worker takes
    /// it at once instead of after the redelivery timeout.
    pub async fn hand_back(&self, delivery: &Delivery) -> Result<(), QueueError> {
        let mut conn = self.redis.get().await?;
        let _: i64 = scripts::HAND_BACK
            .key(self.stream(&delivery.queue))
            .arg(GROUP)
            .arg(&delivery.entry_id)
            .arg(&delivery.raw)
            .invoke_async(&mut *conn)
            .await?;
        Ok(())
    }

    /// Moves due delayed jobs and retries of `queue` into its stream. Returns how many.
    pub async fn promote_due(&self, queue: &str, limit: usize) -> Result<usize, QueueError> {
        let mut conn = self.redis.get().await?;
        let moved: usize = scripts::PROMOTE
            .key(self.scheduled(queue))
            .key(self.stream(queue))
            .arg(now_ms())
            .arg(limit)
            .invoke_async(&mut *conn)
            .await?;
        Ok(moved)
    }
}
