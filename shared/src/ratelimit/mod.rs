//! Abuse limits in Redis, shared by every api replica: fixed windows counted atomically.
//!
//! Clients are counted by [`client_bucket`]: an IPv4 address alone, an IPv6 address by its
//! /64 (one host usually holds a whole /64, so counting single IPv6 addresses would give an
//! attacker 2^64 fresh buckets).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use crate::domain::{EmailAddress, UserId};
use crate::redis::{Keys, RedisError, RedisPool};

pub mod keys;

/// The bucket a client address is counted in: an IPv4 address (or an IPv4-mapped IPv6 one)
/// as itself, an IPv6 address as its /64 (`2001:db8:1:2::/64`). A port is dropped; a value
/// that is no address (`unknown`) is its own bucket.
pub fn client_bucket(ip: &str) -> String {
    let addr = ip
        .parse::<IpAddr>()
        .ok()
        .or_else(|| ip.parse::<SocketAddr>().ok().map(|s| s.ip()));
    match addr {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        },
        None => ip.to_owned(),
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

/// Counts one hit and answers the count so far and the window's ms left, whatever the
/// count: the caller compares it with its limit (and tells the client both). ARGV: window ms.
static COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local n = redis.call('INCR', KEYS[1])
        if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            ttl = tonumber(ARGV[1])
        end
        return {n, ttl}
        ",
    )
});

/// Checks every counter and, only when all are under their limits, counts one attempt on
/// each, in one step: concurrent attempts can never all pass a check made before any of
/// them is counted. KEYS: the counters; ARGV: window ms, then each counter's limit. Answers
/// `{0, 0}` when counted, else `{the 1-based counter that is full, its ms left}`.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local window = tonumber(ARGV[1])
        local full, wait = 0, 0
        for i, key in ipairs(KEYS) do
            local n = tonumber(redis.call('GET', key) or '0')
            if n >= tonumber(ARGV[i + 1]) then
                local ttl = redis.call('PTTL', key)
                if ttl < 0 then ttl = window end
                if ttl > wait then full, wait = i, ttl end
            end
        end
        if full > 0 then return {full, wait} end
        for _, key in ipairs(KEYS) do
            if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, window) end
        end
        return {0, 0}
        ",
    )
});

/// Takes back one counted attempt from each key that still exists (a key that expired
/// meanwhile is not recreated).
static UNCOUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        for _, key in ipairs(KEYS) do
            if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
        end
        return 0
        ",
    )
});

/// A counter after [`Limiter::count`] added a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// Time until the window ends and the count starts again.
    pub reset: Duration,
}

/// A counter's state against its limit, as the `RateLimit-*` headers say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// Whole seconds until the window ends (at least 1).
    pub reset_secs: u64,
    /// Whether this hit was over the limit (answer 429, retry after `reset_secs`).
    pub exceeded: bool,
}

impl Quota {
    /// `usage` measured against `limit`.
    pub fn of(usage: Usage, limit: u32) -> Self {
        Self {
            limit,
            remaining: u32::try_from(u64::from(limit).saturating_sub(usage.count)).unwrap_or(0),
            reset_secs: u64::try_from(usage.reset.as_millis().div_ceil(1000))
                .unwrap_or(u64::MAX)
                .max(1),
            exceeded: usage.count > u64::from(limit),
        }
    }

    /// The quota of a limit nothing was counted against (Redis was unreachable): all of it,
    /// for a whole window.
    pub fn untouched(limit: u32, window: Duration) -> Self {
        Self::of(
            Usage {
                count: 0,
                reset: window,
            },
            limit,
        )
    }
}

/// The outcome of [`Limiter::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Every counter had room: the attempt is counted on each.
    Counted,
    /// A counter is full: nothing was counted.
    Refused {
        /// Which counter (its index in the list given) is full.
        counter: usize,
        /// Time left in that counter's window.
        retry_after: Duration,
    },
}

impl Attempt {
    /// As a [`Decision`].
    pub fn decision(self) -> Decision {
        match self {
            Self::Counted => Decision::Allowed,
            Self::Refused { retry_after, .. } => Decision::Limited { retry_after },
        }
    }
}

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

    /// Counts a request against `name` in fixed windows of `window`, in one round trip, and
    /// answers the count so far with the time left: for limits that tell the client where it
    /// stands on every request (the global limit's `RateLimit-*` headers).
    pub async fn count(&self, name: &str, window: Duration) -> Result<Usage, RedisError> {
        let mut conn = self.redis.get().await?;
        let (count, ttl_ms): (u64, u64) = COUNT
            .key(self.key(name))
            .arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut *conn)
            .await?;
        Ok(Usage {
            count,
            reset: Duration::from_millis(ttl_ms),
        })
    }

    /// Counts an attempt against every `(name, limit)` counter at once, before the attempt
    /// is made ("count first"): refused, counting nothing, when any counter already holds its
    /// limit. An attempt that turns out not to be a failure is taken back with
    /// [`Limiter::uncount`] or [`Limiter::reset`].
    pub async fn acquire(
        &self,
        counters: &[(&str, u32)],
        window: Duration,
    ) -> Result<Attempt, RedisError> {
        let mut conn = self.redis.get().await?;
        let mut call = ACQUIRE.prepare_invoke();
        call.arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        for (name, limit) in counters {
            call.key(self.key(name)).arg(*limit);
        }
        let (full, ttl_ms): (usize, i64) = call.invoke_async(&mut *conn).await?;
        Ok(match (full.checked_sub(1), decision(ttl_ms.max(1))) {
            (Some(counter), Decision::Limited { retry_after }) => Attempt::Refused {
                counter,
                retry_after,
            },
            _ => Attempt::Counted,
        })
    }

    /// Takes back one attempt counted by [`Limiter::acquire`] on each of `names`.
    pub async fn uncount(&self, names: &[&str]) -> Result<(), RedisError> {
        let mut conn = self.redis.get().await?;
        let mut call = UNCOUNT.prepare_invoke();
        for name in names {
            call.key(self.key(name));
        }
        let _: i64 = call.invoke_async(&mut *conn).await?;
        Ok(())
    }

    /// Marks `name` for the window; `true` only for the first caller in the window (a
    /// once-per-window notice).
    pub async fn first_in_window(&self, name: &str, window: Duration) -> Result<bool, RedisError> {
        let mut conn = self.redis.get().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(name))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX))
            .query_async(&mut *conn)
            .await?;
        Ok(set.is_some())
    }

    /// Forgets the counts of `names` (a successful login clears its failures).
    pub async fn reset(&self, names: &[&str]) -> Result<(), RedisError> {
        let mut conn = self.redis.get().await?;
        let mut del = redis::cmd("DEL");
        for name in names {
            del.arg(self.key(name));
        }
        let _: () = del.query_async(&mut *conn).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_counts_down_to_zero_and_is_exceeded_past_its_limit() {
        let at = |count, reset_ms| {
            Quota::of(
                Usage {
                    count,
                    reset: Duration::from_millis(reset_ms),
                },
                3,
            )
        };
        assert_eq!(
            at(1, 59_001),
            Quota {
                limit: 3,
                remaining: 2,
                reset_secs: 60,
                exceeded: false
            }
        );
        assert_eq!((at(3, 1).remaining, at(3, 1).exceeded), (0, false));
        assert_eq!((at(4, 1).remaining, at(4, 1).exceeded), (0, true));
        assert_eq!(
            at(4, 0).reset_secs,
            1,
            "never tells a client to retry in 0 s"
        );
    }

    #[test]
    fn an_untouched_quota_is_whole() {
        let q = Quota::untouched(300, Duration::from_secs(60));
        assert_eq!((q.remaining, q.reset_secs, q.exceeded), (300, 60, false));
    }

    #[test]
    fn global_keys_are_per_bucket_and_per_user() {
        assert_eq!(
            keys::global_ip("2001:db8:1:2::7"),
            "global:ip:2001:db8:1:2::/64"
        );
        let user = UserId::from(uuid::Uuid::nil());
        assert_eq!(
            keys::global_user(user),
            "global:user:00000000-0000-0000-0000-000000000000"
        );
    }

    #[test]
    fn ipv6_addresses_are_counted_per_64() {
        assert_eq!(client_bucket("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            client_bucket("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(client_bucket("2001:db8:1:3::1"), "2001:db8:1:2::/64");
        assert_eq!(client_bucket("[2001:db8:1:2::9]:443"), "2001:db8:1:2::/64");
    }

    #[test]
    fn ipv4_addresses_are_counted_alone_even_when_mapped_or_with_a_port() {
        assert_eq!(client_bucket("192.0.2.1"), "192.0.2.1");
        assert_eq!(client_bucket("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(client_bucket("192.0.2.1:5000"), "192.0.2.1");
        assert_ne!(client_bucket("192.0.2.2"), "192.0.2.1");
    }

    #[test]
    fn a_value_that_is_no_address_is_its_own_bucket() {
        assert_eq!(client_bucket("unknown"), "unknown");
    }
}
