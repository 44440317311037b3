//! The queue handle: enqueue (api, scheduler, CLI), fetch / acknowledge / retry / bury
//! (worker), and inspection (CLI, metrics). Every Redis command of the job system is here.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::streams::{StreamAutoClaimReply, StreamReadReply};
use redis::{AsyncCommands, FromRedisValue};
use serde::Serialize;
use serde_json::Value;

use super::envelope::{DeadJob, Delivery, Envelope};
use super::{Job, scripts};
use crate::redis::{Keys, RedisPool};

/// The consumer group every worker joins.
pub const GROUP: &str = "workers";

/// Failures of queue operations.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No Redis connection could be had in time.
    #[error("no Redis connection: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    /// A Redis command failed.
    #[error("Redis command failed: {0}")]
    Redis(#[from] redis::RedisError),
    /// The payload could not be serialised.
    #[error("cannot serialise the job: {0}")]
    Encode(#[from] serde_json::Error),
    /// A queue name outside `a-z 0-9 _ -`.
    #[error("invalid queue name {0:?}")]
    InvalidQueue(String),
}

/// Counts for one queue, as `keel-worker jobs stats` prints them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct QueueStats {
    /// The queue.
    pub queue: String,
    /// Waiting in the stream, not yet delivered.
    pub pending: u64,
    /// Delivered to a worker, not yet acknowledged.
    pub in_flight: u64,
    /// Delayed or awaiting a retry.
    pub scheduled: u64,
    /// In the dead set.
    pub dead: u64,
    /// Finished successfully, ever.
    pub processed: u64,
    /// Attempts that failed, ever.
    pub failed: u64,
    /// Attempts scheduled again after a failure, ever.
    pub retried: u64,
}

/// Handle on every queue of one deployment (one key prefix). Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    redis: RedisPool,
    keys: Keys,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Queue {
    /// A handle over `redis`, with keys under `keys`.
    pub fn new(redis: RedisPool, keys: Keys) -> Self {
        Self { redis, keys }
    }

    /// The Redis pool it uses.
    pub fn redis(&self) -> &RedisPool {
        &self.redis
    }

    fn stream(&self, queue: &str) -> String {
        self.keys.key(&format!("queue:{queue}"))
    }

    fn scheduled(&self, queue: &str) -> String {
        self.keys.key(&format!("queue:{queue}:scheduled"))
    }

    fn counter(&self, queue: &str, what: &str) -> String {
        self.keys.key(&format!("stats:{queue}:{what}"))
    }

    fn dead_hash(&self) -> String {
        self.keys.key("dead")
    }

    fn dead_index(&self) -> String {
        self.keys.key("dead:index")
    }

    fn queue_dead_index(&self, queue: &str) -> String {
        self.keys.key(&format!("queue:{queue}:dead"))
    }

    /// A new envelope for a first attempt.
    pub fn envelope(name: &str, version: u32, queue: &str, payload: Value) -> Envelope {
        let now = now_ms();
        Envelope {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.to_owned(),
            version,
            queue: queue.to_owned(),
            payload,
            attempt: 1,
            enqueued_at_ms: now,
            due_at_ms: now,
            last_error: None,
        }
    }

    fn envelope_of<J: Job>(job: &J) -> Result<Envelope, QueueError> {
        Ok(Self::envelope(
            J::NAME,
            J::VERSION,
            J::QUEUE,
            serde_json::to_value(job)?,
        ))
    }

    /// Enqueues a job to run now. Returns its id.
    #[tracing::instrument(skip_all, fields(job.name = J::NAME))]
    pub async fn enqueue<J: Job>(&self, job: &J) -> Result<String, QueueError> {
        let envelope = Self::envelope_of(job)?;
        self.push(&envelope).await?;
        Ok(envelope.id)
    }

    /// Enqueues a job to run after `delay`.
    pub async fn enqueue_in<J: Job>(&self, job: &J, delay: Duration) -> Result<String, QueueError> {
        let mut envelope = Self::envelope_of(job)?;
        envelope.due_at_ms += i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        let mut conn = self.redis.get().await?;
        let _: () = conn
            .zadd(
                self.scheduled(J::QUEUE),
                serde_json::to_string(&envelope)?,
                envelope.due_at_ms,
            )
            .await?;
        Ok(envelope.id)
    }

    /// Enqueues a job unless one with the same `unique_key` was enqueued within `ttl`.
    /// Returns the id, or `None` when the key was taken.
    pub async fn enqueue_unique<J: Job>(
        &self,
        job: &J,
        unique_key: &str,
        ttl: Duration,
    ) -> Result<Option<String>, QueueError> {
        let envelope = Self::envelope_of(job)?;
        Ok(self
            .push_unique(&envelope, unique_key, ttl)
            .await?
            .then_some(envelope.id))
    }

    /// Adds `envelope` unless `unique_key` was taken within `ttl`, atomically: the guard
    /// that makes scheduler replicas fire each slot once. `true` when added.
    pub async fn push_unique(
        &self,
        envelope: &Envelope,
        unique_key: &str,
        ttl: Duration,
    ) -> Result<bool, QueueError> {
        if !super::is_valid_queue_name(&envelope.queue) {
            return Err(QueueError::InvalidQueue(envelope.queue.clone()));
        }
        let mut conn = self.redis.get().await?;
        let added: Option<String> = scripts::ENQUEUE_UNIQUE
            .key(self.keys.key(&format!("unique:{unique_key}")))
            .key(self.stream(&envelope.queue))
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
            .arg(serde_json::to_string(envelope)?)
            .invoke_async(&mut *conn)
            .await?;
        Ok(added.is_some())
    }

    /// Takes `unique_key` for `ttl` without enqueueing anything (a slot decided as skipped).
    /// `true` when this caller took it.
    pub async fn claim(&self, unique_key: &str, ttl: Duration) -> Result<bool, QueueError> {
        let mut conn = self.redis.get().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.key(&format!("unique:{unique_key}")))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
            .query_async(&mut *conn)
            .await?;
        Ok(set.is_some())
    }

    /// The scheduler's shared cursor for `entry`: the latest slot any replica handled (ms).
    pub async fn slot_cursor(&self, entry: &str) -> Result<Option<i64>, QueueError> {
        let mut conn = self.redis.get().await?;
        Ok(conn
            .get(self.keys.key(&format!("scheduler:cursor:{entry}")))
            .await?)
    }

    /// Moves the cursor of `entry` forward to `slot_ms` (never backwards).
    pub async fn advance_slot_cursor(&self, entry: &str, slot_ms: i64) -> Result<(), QueueError> {
        let mut conn = self.redis.get().await?;
        let _: i64 = scripts::SET_MAX
            .key(self.keys.key(&format!("scheduler:cursor:{entry}")))
            .arg(slot_ms)
            .invoke_async(&mut *conn)
            .await?;
        Ok(())
    }

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

    /// Adds an envelope to its queue's stream.
    pub async fn push(&self, envelope: &Envelope) -> Result<(), QueueError> {
        if !super::is_valid_queue_name(&envelope.queue) {
            return Err(QueueError::InvalidQueue(envelope.queue.clone()));
        }
        let mut conn = self.redis.get().await?;
        let _: String = conn
            .xadd(
                self.stream(&envelope.queue),
                "*",
                &[("e", serde_json::to_string(envelope)?)],
            )
            .await?;
        Ok(())
    }

    /// Adds many envelopes in pipelined batches (bulk enqueue, benchmarks).
    pub async fn push_many(&self, envelopes: &[Envelope]) -> Result<(), QueueError> {
        let mut conn = self.redis.get().await?;
        for chunk in envelopes.chunks(1000) {
            let mut pipe = redis::pipe();
            for envelope in chunk {
                if !super::is_valid_queue_name(&envelope.queue) {
                    return Err(QueueError::InvalidQueue(envelope.queue.clone()));
                }
                pipe.xadd(
                    self.stream(&envelope.queue),
                    "*",
                    &[("e", serde_json::to_string(envelope)?)],
                )
                .ignore();
            }
            let _: () = pipe.query_async(&mut *conn).await?;
        }
        Ok(())
    }

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
        self.count_failure(&delivery.queue).await
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
        self.count_failure(&delivery.queue).await?;
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

fn delivery(queue: &str, entry: redis::streams::StreamId, default_deliveries: u64) -> Delivery {
    let raw = entry
        .map
        .get("e")
        .and_then(|v| String::from_redis_value(v.clone()).ok())
        .unwrap_or_default();
    Delivery {
        queue: queue.to_owned(),
        entry_id: entry.id,
        raw,
        deliveries: entry
            .delivered_count
            .map_or(default_deliveries, |n| n as u64),
    }
}
