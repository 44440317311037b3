//! What travels through Redis: the envelope around a payload, a delivery of it to a worker,
//! and a dead job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A job as stored in the queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    /// Unique id (UUID v7), stable across retries.
    pub id: String,
    /// The job type's stable name.
    pub name: String,
    /// The payload version.
    #[serde(rename = "v")]
    pub version: u32,
    /// The queue it runs on.
    pub queue: String,
    /// The payload, as the job type serialised it.
    pub payload: Value,
    /// Which attempt the next run is (1 for the first).
    pub attempt: u32,
    /// When it was first enqueued (Unix ms).
    pub enqueued_at_ms: i64,
    /// When this attempt became due (Unix ms): the enqueue time, or the end of a retry delay.
    #[serde(default)]
    pub due_at_ms: i64,
    /// The error of the previous attempt, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The Sentry trace of whatever enqueued it (`sentry-trace`, `baggage`), so the worker's
    /// transaction continues it. Empty when Sentry is off.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trace: BTreeMap<String, String>,
}

/// A job handed to a worker: the stream entry and its envelope (or why it cannot be read).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The queue it came from.
    pub queue: String,
    /// The stream entry id, used to acknowledge it.
    pub entry_id: String,
    /// The envelope's raw JSON, kept so an undecodable one is buried as it was.
    pub raw: String,
    /// How many times the stream has delivered this entry (1 unless a worker died with it).
    pub deliveries: u64,
}

impl Delivery {
    /// Parses the envelope.
    pub fn envelope(&self) -> Result<Envelope, String> {
        serde_json::from_str(&self.raw).map_err(|e| format!("undecodable envelope: {e}"))
    }
}

/// A job in the dead set: what it was, why it died, and after how many attempts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadJob {
    /// The dead set's id for it (the envelope id when it could be read).
    pub id: String,
    /// The queue it came from.
    pub queue: String,
    /// The job name, when the envelope could be read.
    pub name: Option<String>,
    /// The envelope as stored (raw JSON), so a retry runs exactly the same job.
    pub raw: String,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it died (Unix ms).
    pub died_at_ms: i64,
}
