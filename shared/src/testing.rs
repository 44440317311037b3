//! Test harness (feature `testing`): every test gets its own freshly migrated PostgreSQL
//! database and its own Redis key namespace, so tests run in parallel and leave nothing
//! behind; a TCP proxy stands between the app and a dependency to cut or stall it.
//!
//! Databases are cloned from a template migrated once per migration set (its name carries the
//! migrations' fingerprint), which is much faster than migrating each one.
//! `DATABASE_URL` and `REDIS_URL` point at the servers (defaults: the local ones).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::config::Config;
use crate::db::migrate;

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

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL for tests: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A database of this test's own, dropped (with any connections to it) when the value is.
pub struct TestDb {
    /// The database's name.
    pub name: String,
    /// A URL for it, with the server's credentials.
    pub url: String,
    admin_url: String,
}

impl TestDb {
    /// A new database holding every migration (cloned from the migrated template).
    pub async fn migrated() -> Self {
        let admin_url = with_database(&base_database_url(), "postgres");
        let template = format!("keel_tpl_{}", &migrate::fingerprint()[..16]);
        ensure_template(&admin_url, &template).await;
        Self::create(admin_url, Some(&template)).await
    }

    /// A new, empty database (for migration tests).
    pub async fn empty() -> Self {
        let admin_url = with_database(&base_database_url(), "postgres");
        Self::create(admin_url, None).await
    }

    async fn create(admin_url: String, template: Option<&str>) -> Self {
        let name = format!("keel_test_{}", Uuid::new_v4().simple());
        let admin = connect(&admin_url).await;
        let sql = match template {
            Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        admin
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database: {e:?}"));
        let url = with_database(&admin_url, &name);
        Self {
            name,
            url,
            admin_url,
        }
    }

    /// A direct connection to this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside or outside a runtime; a thread with its own runtime works in both.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin_url, NoTls).await.ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// Creates the migrated template once per migration set, safely across parallel test
/// processes: an advisory lock serialises them, and the template is built under a temporary
/// name and renamed only when complete, so a crash never leaves a half-migrated template.
async fn ensure_template(admin_url: &str, template: &str) {
    let admin = connect(admin_url).await;
    let lock_key: i64 = 0x6b65_656c_7465_7374; // "keeltest"
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&lock_key])
        .await
        .unwrap_or_else(|e| panic!("cannot lock the template: {e}"));
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .unwrap_or_else(|e| panic!("cannot look up the template: {e}"))
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("cannot create the template: {e:?}"));
        }
        {
            let mut client = connect(&with_database(admin_url, &building)).await;
            migrate::run(&mut client)
                .await
                .unwrap_or_else(|e| panic!("cannot migrate the template: {e:?}"));
        }
        // The migrating connection must be gone before the rename and the first clone.
        for sql in [
            format!("ALTER DATABASE \"{building}\" WITH ALLOW_CONNECTIONS false"),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}'"
            ),
            format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("cannot finish the template: {e:?}"));
        }
    }
    let _ = admin
        .execute("SELECT pg_advisory_unlock($1)", &[&lock_key])
        .await;
}

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

/// The variables a test process (or a spawned binary) runs with: its own database and Redis
/// namespace, ports picked by the OS, short timeouts.
pub fn test_env(db: &TestDb, redis: &TestRedis) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("APP_ENV", "test"),
        ("KEEL_API_ADDR", "127.0.0.1:0"),
        ("KEEL_API_WORKERS", "2"),
        ("KEEL_WORKER_HEALTH_ADDR", "127.0.0.1:0"),
        ("KEEL_SCHEDULER_HEALTH_ADDR", "127.0.0.1:0"),
        ("KEEL_DB_POOL_SIZE", "4"),
        ("KEEL_DB_CONNECT_TIMEOUT_MS", "1000"),
        ("KEEL_DB_ACQUIRE_TIMEOUT_MS", "1000"),
        ("KEEL_REDIS_POOL_SIZE", "4"),
        ("KEEL_REDIS_TIMEOUT_MS", "1000"),
        ("KEEL_READY_TIMEOUT_MS", "500"),
        ("KEEL_SHUTDOWN_GRACE_SECS", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.push(("DATABASE_URL".into(), db.url.clone()));
    vars.push(("REDIS_URL".into(), redis.url.clone()));
    vars.push(("KEEL_REDIS_PREFIX".into(), redis.prefix.clone()));
    vars.push((
        "RUST_LOG".into(),
        std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
    ));
    vars
}

/// A configuration for an in-process app built from [`test_env`] plus `overrides`.
pub fn test_config(db: &TestDb, redis: &TestRedis, overrides: &[(&str, &str)]) -> Config {
    let mut vars = test_env(db, redis);
    vars.extend(
        overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Config::from_vars(vars).unwrap_or_else(|e| panic!("invalid test configuration: {e}"))
}

/// What a [`TcpProxy`] does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    Refuse,
    Stall,
}

/// A TCP proxy in front of a real server, to make a dependency go down (`cut`), hang
/// (`stall`) and come back (`restore`) without touching the server other tests use.
pub struct TcpProxy {
    addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Starts forwarding a loopback port to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind the proxy: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy has no address: {e}"));
        let (tx, _) = watch::channel(Mode::Forward);
        let mode = Arc::new(tx);
        let accept_mode = Arc::clone(&mode);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let rx = accept_mode.subscribe();
                tokio::spawn(serve(client, upstream.clone(), rx));
            }
        });
        Self { addr, mode, task }
    }

    /// The proxy's own address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection and refuses new ones (the server is down).
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Refuse);
    }

    /// Accepts connections but never answers (the server hangs).
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stall);
    }

    /// Forwards again (the server is back).
    pub fn restore(&self) {
        self.mode.send_replace(Mode::Forward);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.mode.send_replace(Mode::Refuse);
    }
}

async fn serve(mut client: TcpStream, upstream: String, mut mode: watch::Receiver<Mode>) {
    let current = *mode.borrow_and_update();
    match current {
        Mode::Refuse => {}
        Mode::Stall => {
            // Hold the socket without reading until the mode changes.
            let _ = mode.changed().await;
        }
        Mode::Forward => {
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = mode.wait_for(|m| *m != Mode::Forward) => {}
            }
        }
    }
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

/// A free loopback port (bound, then released) for a child process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// One of Keel's binaries running as a child process, with stderr captured.
pub struct ChildProcess {
    child: std::process::Child,
    stderr_path: std::path::PathBuf,
}

impl ChildProcess {
    /// Starts `program` with `args` and `env` added to a cleared-down environment (PATH and
    /// HOME kept), so the developer's own variables cannot leak in.
    pub fn spawn(program: &str, args: &[&str], env: &[(String, String)]) -> Self {
        let stderr_path =
            std::env::temp_dir().join(format!("keel-child-{}.log", Uuid::new_v4().simple()));
        let stderr = std::fs::File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr_path.display()));
        let mut cmd = std::process::Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Self { child, stderr_path }
    }

    /// Runs `program` to completion and returns its exit code and stderr.
    pub fn run(program: &str, args: &[&str], env: &[(String, String)]) -> (Option<i32>, String) {
        let mut process = Self::spawn(program, args, env);
        let status = process.wait();
        (status.code(), process.stderr())
    }

    /// Polls `url` until it answers 200, or panics after `timeout` with the child's stderr.
    pub async fn wait_until_ok(&mut self, url: &str, timeout: std::time::Duration) {
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("process exited early with {status}:\n{}", self.stderr());
            }
            if let Ok(res) = client.get(url).send().await {
                if res.status().is_success() {
                    return;
                }
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "{url} did not answer 200 within {timeout:?}:\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit (at most 30 s, then kills it and panics).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                _ => {
                    let _ = self.child.kill();
                    panic!("process did not exit within 30 s:\n{}", self.stderr());
                }
            }
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}
