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
