//! The queue handle. Every Redis command of the job system is in this module: enqueueing
//! here (api, scheduler, CLI), consuming in `consume.rs` (worker), inspecting and operating in
//! `inspect.rs` (CLI, metrics).

mod consume;
mod inspect;

use std::time::Duration;

use redis::{AsyncCommands, FromRedisValue};
use serde::Serialize;
use serde_json::Value;

use super::envelope::{Delivery, Envelope};
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

pub(super) fn now_ms() -> i64 {
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

    /// A new envelope for a first attempt, carrying the current Sentry trace.
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
            trace: crate::telemetry::trace::current_headers(),
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
        super::count_enqueued(J::NAME, "queue");
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
        super::count_enqueued(J::NAME, "queue");
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
        if added.is_some() {
            super::count_enqueued(envelope.name.clone(), "queue");
        }
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
}

pub(super) fn delivery(
    queue: &str,
    entry: redis::streams::StreamId,
    default_deliveries: u64,
) -> Delivery {
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
