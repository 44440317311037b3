//! Inspecting and operating the queues: counts, the dead set, consumer cleanup.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::{AsyncCommands, FromRedisValue};

use super::{GROUP, Queue, QueueError, QueueStats, delivery, now_ms};
use crate::jobs::envelope::{DeadJob, Envelope};
use crate::jobs::scripts;

impl Queue {
    /// Every envelope waiting in `queue`'s stream, oldest first (tests and inspection; reads
    /// the whole stream).
    pub async fn peek(&self, queue: &str) -> Result<Vec<Envelope>, QueueError> {
        let mut conn = self.redis.get().await?;
        let reply: redis::streams::StreamRangeReply = conn.xrange_all(self.stream(queue)).await?;
        Ok(reply
            .ids
            .into_iter()
            .filter_map(|entry| delivery(queue, entry, 0).envelope().ok())
            .collect())
    }

    /// Counts for each queue in `queues`.
    pub async fn stats(&self, queues: &[String]) -> Result<Vec<QueueStats>, QueueError> {
        let mut conn = self.redis.get().await?;
        let mut out = Vec::with_capacity(queues.len());
        for queue in queues {
            let stream = self.stream(queue);
            let (len, scheduled, dead, processed, failed, retried): (
                u64,
                u64,
                u64,
                Option<u64>,
                Option<u64>,
                Option<u64>,
            ) = redis::pipe()
                .xlen(&stream)
                .zcard(self.scheduled(queue))
                .zcard(self.queue_dead_index(queue))
                .get(self.counter(queue, "processed"))
                .get(self.counter(queue, "failed"))
                .get(self.counter(queue, "retried"))
                .query_async(&mut *conn)
                .await?;
            let in_flight = pending_count(&mut conn, &stream).await?;
            out.push(QueueStats {
                queue: queue.clone(),
                pending: len.saturating_sub(in_flight),
                in_flight,
                scheduled,
                dead,
                processed: processed.unwrap_or(0),
                failed: failed.unwrap_or(0),
                retried: retried.unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// Dead jobs, most recent first, at most `limit`.
    pub async fn dead_list(&self, limit: usize) -> Result<Vec<DeadJob>, QueueError> {
        let mut conn = self.redis.get().await?;
        let stop = isize::try_from(limit)
            .unwrap_or(isize::MAX)
            .saturating_sub(1);
        let ids: Vec<String> = conn.zrevrange(self.dead_index(), 0, stop).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.dead_hash())
            .arg(&ids)
            .query_async(&mut *conn)
            .await?;
        Ok(records
            .into_iter()
            .flatten()
            .filter_map(|r| serde_json::from_str(&r).ok())
            .collect())
    }

    /// Puts dead job `id` back on its queue as a fresh first attempt. `false` when there is
    /// no such dead job.
    pub async fn dead_retry(&self, id: &str) -> Result<bool, QueueError> {
        let mut conn = self.redis.get().await?;
        let record: Option<String> = conn.hget(self.dead_hash(), id).await?;
        let Some(dead) = record.and_then(|r| serde_json::from_str::<DeadJob>(&r).ok()) else {
            return Ok(false);
        };
        // A readable envelope restarts at attempt 1; an unreadable one goes back as it was
        // (a worker that learned its format may read it now).
        let raw = match serde_json::from_str::<Envelope>(&dead.raw) {
            Ok(mut envelope) => {
                envelope.attempt = 1;
                envelope.last_error = None;
                envelope.due_at_ms = now_ms();
                serde_json::to_string(&envelope)?
            }
            Err(_) => dead.raw.clone(),
        };
        let added: Option<String> = scripts::RESURRECT
            .key(self.dead_hash())
            .key(self.dead_index())
            .key(self.stream(&dead.queue))
            .key(self.queue_dead_index(&dead.queue))
            .arg(id)
            .arg(raw)
            .invoke_async(&mut *conn)
            .await?;
        Ok(added.is_some())
    }

    /// Retries every dead job. Returns how many went back.
    pub async fn dead_retry_all(&self) -> Result<usize, QueueError> {
        let mut retried = 0;
        loop {
            let batch = self.dead_list(500).await?;
            if batch.is_empty() {
                return Ok(retried);
            }
            for dead in batch {
                if self.dead_retry(&dead.id).await? {
                    retried += 1;
                }
            }
        }
    }

    /// Deletes dead jobs that died before `before_ms` (all of them with `i64::MAX`).
    /// Returns how many.
    pub async fn dead_purge(&self, before_ms: i64) -> Result<usize, QueueError> {
        let mut conn = self.redis.get().await?;
        let mut purged = 0;
        loop {
            let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                .arg(self.dead_index())
                .arg("-inf")
                .arg(format!("({before_ms}"))
                .arg("LIMIT")
                .arg(0)
                .arg(1000)
                .query_async(&mut *conn)
                .await?;
            if ids.is_empty() {
                return Ok(purged);
            }
            let records: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(self.dead_hash())
                .arg(&ids)
                .query_async(&mut *conn)
                .await?;
            let mut pipe = redis::pipe();
            pipe.atomic()
                .hdel(self.dead_hash(), &ids)
                .ignore()
                .zrem(self.dead_index(), &ids)
                .ignore();
            for (id, record) in ids.iter().zip(records) {
                if let Some(dead) = record.and_then(|r| serde_json::from_str::<DeadJob>(&r).ok()) {
                    pipe.zrem(self.queue_dead_index(&dead.queue), id).ignore();
                }
            }
            let _: () = pipe.query_async(&mut *conn).await?;
            purged += ids.len();
        }
    }

    /// Removes consumers of `queue` that hold nothing and have been idle longer than
    /// `idle` (dead workers' names would otherwise accumulate in the group).
    pub async fn forget_idle_consumers(
        &self,
        queue: &str,
        idle: Duration,
    ) -> Result<usize, QueueError> {
        let mut conn = self.redis.get().await?;
        let stream = self.stream(queue);
        let consumers: Vec<BTreeMap<String, redis::Value>> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&stream)
            .arg(GROUP)
            .query_async(&mut *conn)
            .await
            .unwrap_or_default();
        let mut removed = 0;
        for consumer in consumers {
            let field = |name: &str| {
                consumer
                    .get(name)
                    .and_then(|v| i64::from_redis_value(v.clone()).ok())
            };
            let name = consumer
                .get("name")
                .and_then(|v| String::from_redis_value(v.clone()).ok());
            let idle_ms = field("idle").unwrap_or(0);
            if let Some(name) = name
                && field("pending") == Some(0)
                && idle_ms > i64::try_from(idle.as_millis()).unwrap_or(i64::MAX)
            {
                let _: i64 = redis::cmd("XGROUP")
                    .arg("DELCONSUMER")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg(name)
                    .query_async(&mut *conn)
                    .await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Entries of the group's pending list (delivered, not acknowledged).
async fn pending_count(
    conn: &mut deadpool_redis::Connection,
    stream: &str,
) -> Result<u64, QueueError> {
    let reply: redis::RedisResult<redis::Value> = redis::cmd("XPENDING")
        .arg(stream)
        .arg(GROUP)
        .query_async(&mut **conn)
        .await;
    match reply {
        Ok(redis::Value::Array(items)) => Ok(items
            .first()
            .and_then(|v| u64::from_redis_value(v.clone()).ok())
            .unwrap_or(0)),
        Ok(_) => Ok(0),
        // No group yet: nothing in flight.
        Err(e) if e.code() == Some("NOGROUP") => Ok(0),
        Err(e) => Err(e.into()),
    }
}
