//! Readiness: can this process reach PostgreSQL and Redis right now?
//!
//! Each dependency is checked concurrently and bounded by a timeout, so a hung dependency
//! makes the probe answer "down" quickly instead of hanging the probe.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::db::{self, PgPool};
use crate::redis::{self as keel_redis, RedisPool};

/// State of one dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// It answered within the timeout, without an error.
    Up,
    /// It did not answer, or answered with an error.
    Down,
}

/// The result of checking one dependency.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `up` when it answered within the timeout, else `down`.
    pub status: CheckStatus,
    /// How long the check took.
    pub latency_ms: u64,
    /// Why it is down: a short, safe reason (the full error goes to the log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The readiness of a process: `ready` only when every check is up and it is not draining.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// `"ready"`, `"unavailable"` or `"draining"`.
    pub status: &'static str,
    /// Each dependency by name (`postgres`, `redis`).
    pub checks: BTreeMap<&'static str, Check>,
}

impl Readiness {
    /// Whether the process should receive traffic or work.
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }

    /// The same report, marked as draining (shutting down: take no new work).
    pub fn draining(mut self) -> Self {
        self.status = "draining";
        self
    }
}

/// Checks PostgreSQL and Redis concurrently, each within `timeout`.
pub async fn check(pg: &PgPool, redis: &RedisPool, timeout: Duration) -> Readiness {
    let (postgres, redis) = tokio::join!(
        check_one("postgres", timeout, db::ping(pg)),
        check_one("redis", timeout, keel_redis::ping(redis)),
    );
    let ready = postgres.status == CheckStatus::Up && redis.status == CheckStatus::Up;
    Readiness {
        status: if ready { "ready" } else { "unavailable" },
        checks: BTreeMap::from([("postgres", postgres), ("redis", redis)]),
    }
}

async fn check_one<E: std::error::Error>(
    name: &'static str,
    timeout: Duration,
    probe: impl Future<Output = Result<(), E>>,
) -> Check {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, probe).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::warn!(dependency = name, error = %e, "readiness check failed");
            Some("unreachable".to_owned())
        }
        Err(_) => {
            tracing::warn!(
                dependency = name,
                timeout_ms = timeout.as_millis(),
                "readiness check timed out"
            );
            Some(format!("timed out after {} ms", timeout.as_millis()))
        }
    };
    Check {
        status: if error.is_none() {
            CheckStatus::Up
        } else {
            CheckStatus::Down
        },
        latency_ms,
        error,
    }
}
