//! Test harness (feature `testing`): every test gets its own freshly migrated PostgreSQL
//! database and its own Redis key namespace, so tests run in parallel and leave nothing
//! behind; a TCP proxy stands between the app and a dependency to cut or stall it, and
//! Keel's binaries run as child processes; servers with TLS on, a Sentry receiver and an S3
//! server (moto) stand in for production's; image files for upload tests.
//!
//! `DATABASE_URL` and `REDIS_URL` point at the servers (defaults: the local ones).

mod db;
pub mod images;
mod oauth;
mod process;
mod proxy;
mod redis;
mod s3;
mod sentry;
mod smtp;
mod tls_servers;

pub use db::TestDb;
pub use oauth::{FakeOAuthProvider, FakeProfile};
pub use process::{ChildProcess, free_port};
pub use proxy::TcpProxy;
pub use redis::{TestRedis, wait_for_queue};
pub use s3::MotoS3;
pub use sentry::SentryReceiver;
pub use smtp::{ReceivedMail, SmtpSink};
pub use tls_servers::{ServerCert, TestCa, TlsPostgres, TlsRedis};

use std::net::SocketAddr;

use crate::config::Config;

/// The server tests create databases on (any database name; the harness uses `postgres`).
pub fn base_database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The Redis server tests use.
pub fn base_redis_url() -> String {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned())
}

/// `url` with its database name replaced by `db` (query parameters are kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `url` with its host and port replaced by `addr` (to route a pool through a [`TcpProxy`]).
pub fn with_address(url: &str, addr: SocketAddr) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let userinfo = authority.rfind('@').map_or("", |i| &authority[..=i]);
    format!(
        "{}{userinfo}{addr}{}",
        &url[..authority_start],
        &rest[authority_end..]
    )
}

/// `host:port` of a `postgres://` or `redis://` URL (default port when absent), for a
/// [`TcpProxy`] upstream.
pub fn host_port(url: &str, default_port: u16) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host_port = authority
        .rfind('@')
        .map_or(authority, |i| &authority[i + 1..]);
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()) && !host_port.ends_with(']'));
    if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    }
}

/// The variables a test process (or a spawned binary) runs with: its own database, media
/// directory and Redis namespace, ports picked by the OS, short timeouts.
pub fn test_env(db: &TestDb, redis: &TestRedis) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("APP_ENV", "test"),
        ("KEEL_API_ADDR", "127.0.0.1:0"),
        ("KEEL_API_METRICS_ADDR", "127.0.0.1:0"),
        ("KEEL_API_WORKERS", "2"),
        ("KEEL_WORKER_HEALTH_ADDR", "127.0.0.1:0"),
        ("KEEL_SCHEDULER_HEALTH_ADDR", "127.0.0.1:0"),
        ("KEEL_DB_POOL_SIZE", "4"),
        ("KEEL_DB_CONNECT_TIMEOUT_MS", "1000"),
        ("KEEL_DB_ACQUIRE_TIMEOUT_MS", "1000"),
        ("KEEL_REDIS_POOL_SIZE", "12"),
        ("KEEL_REDIS_TIMEOUT_MS", "1000"),
        ("KEEL_READY_TIMEOUT_MS", "500"),
        ("KEEL_SHUTDOWN_GRACE_SECS", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.push(("DATABASE_URL".into(), db.url.clone()));
    vars.push((
        "KEEL_MEDIA_ROOT".into(),
        db.media_root().to_string_lossy().into_owned(),
    ));
    vars.push(("REDIS_URL".into(), redis.url.clone()));
    vars.push(("KEEL_REDIS_PREFIX".into(), redis.prefix.clone()));
    vars.push((
        "RUST_LOG".into(),
        std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
    ));
    vars
}

/// [`test_env`] plus `extra` variables (later ones win), for a spawned binary.
pub fn test_env_with(
    db: &TestDb,
    redis: &TestRedis,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut vars = test_env(db, redis);
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    vars
}

/// A configuration for an in-process app built from [`test_env`] plus `overrides`.
pub fn test_config(db: &TestDb, redis: &TestRedis, overrides: &[(&str, &str)]) -> Config {
    Config::from_vars(test_env_with(db, redis, overrides))
        .unwrap_or_else(|e| panic!("invalid test configuration: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_the_path_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/app?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
    }

    #[test]
    fn host_port_finds_the_server_of_a_url() {
        assert_eq!(host_port("postgres://u:p@db:5433/app", 5432), "db:5433");
        assert_eq!(host_port("postgres://db/app", 5432), "db:5432");
        assert_eq!(host_port("redis://127.0.0.1", 6379), "127.0.0.1:6379");
    }

    #[test]
    fn with_address_keeps_credentials_and_path() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
        assert_eq!(
            with_address("postgres://u:p@db:5432/app?x=1", addr),
            "postgres://u:p@127.0.0.1:4000/app?x=1"
        );
        assert_eq!(
            with_address("redis://127.0.0.1:6379", addr),
            "redis://127.0.0.1:4000"
        );
    }
}
