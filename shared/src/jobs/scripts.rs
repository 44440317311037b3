//! Lua scripts: each runs atomically in Redis, so a crash between two steps never loses or
//! duplicates a job.

use std::sync::LazyLock;

use redis::Script;

/// Adds a job only if its unique key is new. KEYS: unique key, stream.
/// ARGV: ttl ms, envelope. Returns the entry id, or nil when the key existed.
pub static ENQUEUE_UNIQUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
            return redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
        end
        return false
        ",
    )
});

/// Acknowledges a failed delivery and schedules its next attempt.
/// KEYS: stream, scheduled set, retried counter. ARGV: group, entry id, due ms, envelope.
pub static RETRY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        redis.call('XDEL', KEYS[1], ARGV[2])
        redis.call('INCR', KEYS[3])
        return 1
        ",
    )
});

/// Moves a delivery (or nothing, when the entry id is empty) to the dead set.
/// KEYS: stream, dead hash, dead index, dead counter, the queue's dead index.
/// ARGV: group, entry id, dead id, record, died ms.
pub static BURY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
        redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
        redis.call('ZADD', KEYS[5], ARGV[5], ARGV[3])
        if ARGV[2] ~= '' then
            redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
            redis.call('XDEL', KEYS[1], ARGV[2])
        end
        redis.call('INCR', KEYS[4])
        return 1
        ",
    )
});

/// Moves due jobs from the scheduled set into the stream, oldest first, at most ARGV[2].
/// KEYS: scheduled set, stream. ARGV: now ms, limit. Returns how many moved.
pub static PROMOTE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
        for _, job in ipairs(due) do
            redis.call('XADD', KEYS[2], '*', 'e', job)
            redis.call('ZREM', KEYS[1], job)
        end
        return #due
        ",
    )
});

/// Puts a dead job back on its queue. KEYS: dead hash, dead index, stream, the queue's dead
/// index. ARGV: dead id, envelope to enqueue. Returns the entry id, or nil when no such job.
pub static RESURRECT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
            return false
        end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[4], ARGV[1])
        return redis.call('XADD', KEYS[3], '*', 'e', ARGV[2])
        ",
    )
});

/// Hands an unfinished delivery back to the queue at shutdown: re-adds it as a new entry and
/// acknowledges the old one. KEYS: stream. ARGV: group, entry id, envelope.
pub static HAND_BACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
            redis.call('XADD', KEYS[1], '*', 'e', ARGV[3])
            redis.call('XDEL', KEYS[1], ARGV[2])
            return 1
        end
        return 0
        ",
    )
});

/// Sets a key to ARGV[1] unless it already holds a larger number. KEYS: the key.
pub static SET_MAX: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
        if tonumber(ARGV[1]) > current then
            redis.call('SET', KEYS[1], ARGV[1])
            return 1
        end
        return 0
        ",
    )
});
