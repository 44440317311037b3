//! Abuse limits in Redis, shared by every api replica: fixed windows counted atomically.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use crate::domain::{EmailAddress, UserId};
use crate::redis::{Keys, RedisError, RedisPool};

/// The names limits are counted under (below the `ratelimit:` prefix). Every limit's key is
/// built here, so two endpoints never share a counter by accident and a key's shape changes
/// in one place.
pub mod keys {
    use super::{EmailAddress, UserId};

    /// Requests from `ip` to `endpoint`.
    pub fn per_ip(endpoint: &str, ip: &str) -> String {
        format!("{endpoint}:ip:{ip}")
    }

    /// Requests about `email` to `endpoint` (emails sent to one address).
    pub fn per_email(endpoint: &str, email: &EmailAddress) -> String {
        format!("{endpoint}:email:{email}")
    }

    /// Requests of the signed-in `user` to `endpoint`.
    pub fn per_user(endpoint: &str, user: UserId) -> String {
        format!("{endpoint}:user:{user}")
    }

    /// Failed logins for `email` from `ip`.
    pub fn login_failures(email: &EmailAddress, ip: &str) -> String {
        format!("login-failures:{email}:{ip}")
    }

    /// Failed second-factor codes for `user`.
    pub fn mfa_failures(user: UserId) -> String {
        format!("mfa-failures:{user}")
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit: serve the request (the hit was counted).
    Allowed,
    /// Over the limit until the window ends.
    Limited {
        /// Time left in the current window, for the `Retry-After` header.
        retry_after: Duration,
    },
}

/// Counts one hit; over `limit` within the window, answers `Limited`. ARGV: limit, window ms.
static HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local n = redis.call('INCR', KEYS[1])
        if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        if n > tonumber(ARGV[1]) then
            local ttl = redis.call('PTTL', KEYS[1])
            if ttl < 0 then ttl = tonumber(ARGV[2]) end
            return ttl
        end
        return 0
        ",
    )
});

/// Rate limits under one key prefix.
#[derive(Clone)]
pub struct Limiter {
    redis: RedisPool,
    keys: Keys,
}

fn decision(ttl_ms: i64) -> Decision {
    if ttl_ms > 0 {
        Decision::Limited {
            retry_after: Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(1000))
                .max(Duration::from_secs(1)),
        }
    } else {
        Decision::Allowed
    }
}

impl Limiter {
    /// A limiter over `redis` with keys under `keys`.
    pub fn new(redis: RedisPool, keys: Keys) -> Self {
        Self { redis, keys }
    }

    fn key(&self, name: &str) -> String {
        self.keys.key(&format!("ratelimit:{name}"))
    }

    /// Counts a request against `name`: at most `limit` per `window`.
    pub async fn hit(
        &self,
        name: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Decision, RedisError> {
        let mut conn = self.redis.get().await?;
        let ttl: i64 = HIT
            .key(self.key(name))
            .arg(limit)
            .arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut *conn)
            .await?;
        Ok(decision(ttl))
    }

    /// Whether `name` has already reached `limit` (failures counted with [`Limiter::hit`]).
    pub async fn check(&self, name: &str, limit: u32) -> Result<Decision, RedisError> {
        let mut conn = self.redis.get().await?;
        let (count, ttl): (Option<u32>, i64) = redis::pipe()
            .get(self.key(name))
            .pttl(self.key(name))
            .query_async(&mut *conn)
            .await?;
        Ok(if count.unwrap_or(0) >= limit {
            decision(ttl.max(1))
        } else {
            Decision::Allowed
        })
    }

    /// Forgets `name`'s count (a successful login clears its failures).
    pub async fn reset(&self, name: &str) -> Result<(), RedisError> {
        let mut conn = self.redis.get().await?;
        let _: () = redis::cmd("DEL")
            .arg(self.key(name))
            .query_async(&mut *conn)
            .await?;
        Ok(())
    }
}
