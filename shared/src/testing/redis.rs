//! Per-test Redis key namespaces.

use uuid::Uuid;

use super::base_redis_url;

/// A Redis key namespace of this test's own; its keys are deleted when the value is dropped.
pub struct TestRedis {
    /// The key prefix (`KEEL_REDIS_PREFIX`).
    pub prefix: String,
    /// The server's URL.
    pub url: String,
}

impl TestRedis {
    /// A fresh namespace on the test Redis server.
    pub fn new() -> Self {
        Self {
            prefix: format!("keeltest:{}", Uuid::new_v4().simple()),
            url: base_redis_url(),
        }
    }
}

impl TestRedis {
    /// A queue handle on this namespace.
    pub fn queue(&self) -> crate::jobs::Queue {
        let config = crate::Config::from_vars([
            ("REDIS_URL", self.url.as_str()),
            ("KEEL_REDIS_PREFIX", self.prefix.as_str()),
        ])
        .unwrap_or_else(|e| panic!("test Redis configuration: {e}"));
        crate::jobs::Queue::new(
            crate::redis::pool(&config.redis).unwrap_or_else(|e| panic!("test Redis pool: {e}")),
            crate::redis::Keys::new(config.redis.key_prefix),
        )
    }
}

/// Polls `queue`'s counts until `done` holds (panics with the last counts after `timeout`).
pub async fn wait_for_queue(
    queue: &crate::jobs::Queue,
    name: &str,
    timeout: std::time::Duration,
    done: impl Fn(&crate::jobs::QueueStats) -> bool,
) -> crate::jobs::QueueStats {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let stats = queue
            .stats(&[name.to_owned()])
            .await
            .unwrap_or_else(|e| panic!("queue stats: {e}"))
            .remove(0);
        if done(&stats) {
            return stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "queue {name} did not reach the expected state within {timeout:?}: {stats:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}
