//! The `keel-api` binary itself: configuration errors, migrate, graceful shutdown, JSON logs.

use std::time::Duration;

use keel_shared::testing::{
    ChildProcess, TcpProxy, TestDb, TestRedis, base_database_url, free_port, host_port, test_env,
    test_env_with, with_address,
};

const BIN: &str = env!("CARGO_BIN_EXE_keel-api");

#[tokio::test]
async fn a_malformed_variable_stops_the_api_with_one_line_naming_it() {
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let env = test_env_with(&db, &redis, &[("KEEL_API_ADDR", "not-an-address")]);

    let (code, stderr) = ChildProcess::run(BIN, &["serve"], &env);

    assert_eq!(code, Some(78), "EX_CONFIG");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("KEEL_API_ADDR"), "{stderr}");
}

#[tokio::test]
async fn production_refuses_to_start_with_an_insecure_secret_key() {
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let env = test_env_with(
        &db,
        &redis,
        &[("APP_ENV", "production"), ("KEEL_SECRET_KEY", "too-short")],
    );

    let (code, stderr) = ChildProcess::run(BIN, &["serve"], &env);

    assert_eq!(code, Some(78));
    assert!(stderr.contains("KEEL_SECRET_KEY"), "{stderr}");
    assert!(
        !stderr.contains("too-short"),
        "the secret must not be echoed"
    );
}

#[tokio::test]
async fn migrate_applies_everything_and_is_safe_to_run_twice() {
    let db = TestDb::empty().await;
    let redis = TestRedis::new();
    let env = test_env(&db, &redis);

    let (first, err1) = ChildProcess::run(BIN, &["migrate"], &env);
    let (second, err2) = ChildProcess::run(BIN, &["migrate"], &env);

    assert_eq!(first, Some(0), "{err1}");
    assert_eq!(second, Some(0), "{err2}");
    let count: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM keel_schema_migrations", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(count, keel_shared::db::migrate::MIGRATIONS.len() as i64);
}

#[tokio::test]
async fn sigterm_stops_the_api_gracefully_with_exit_code_0() {
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let env = test_env_with(&db, &redis, &[("KEEL_API_ADDR", &addr)]);
    let mut api = ChildProcess::spawn(BIN, &[], &env);
    api.wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(20))
        .await;

    api.terminate();
    let status = api.wait();

    assert_eq!(status.code(), Some(0), "{}", api.stderr());
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn ctrl_c_stops_the_api_with_exit_code_0() {
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let addr = format!("127.0.0.1:{}", free_port());
    let env = test_env_with(&db, &redis, &[("KEEL_API_ADDR", &addr)]);
    let mut api = ChildProcess::spawn(BIN, &["serve"], &env);
    api.wait_until_ok(&format!("http://{addr}/healthz"), Duration::from_secs(20))
        .await;

    api.interrupt();

    assert_eq!(api.wait().code(), Some(0), "{}", api.stderr());
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let addr = format!("127.0.0.1:{}", free_port());
    let env = test_env_with(
        &db,
        &redis,
        &[
            ("KEEL_API_ADDR", &addr),
            ("KEEL_LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
        ],
    );
    let mut api = ChildProcess::spawn(BIN, &[], &env);
    api.wait_until_ok(&format!("http://{addr}/healthz"), Duration::from_secs(20))
        .await;

    let res = reqwest::Client::new()
        .get(format!("http://{addr}/no-such-page"))
        .header("x-request-id", "log-trace-42")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
    api.terminate();
    api.wait();

    let stderr = api.stderr();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| {
            l["spans"]
                .as_array()
                .is_some_and(|spans| spans.iter().any(|s| s["http.path"] == "/no-such-page"))
        })
        .collect();
    assert!(!lines.is_empty(), "no log line for the request:\n{stderr}");
    for line in &lines {
        assert_eq!(line["span"]["request_id"], "log-trace-42", "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "request completed" && l["http.status"] == 404)
    );
}

#[tokio::test]
async fn a_request_in_flight_at_sigterm_completes_before_the_api_exits() {
    // A stalled database makes /readyz take the whole readiness timeout: a slow request.
    let proxy = TcpProxy::start(host_port(&base_database_url(), 5432)).await;
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let addr = format!("127.0.0.1:{}", free_port());
    let db_url = with_address(&db.url, proxy.addr());
    let env = test_env_with(
        &db,
        &redis,
        &[
            ("KEEL_API_ADDR", &addr),
            ("DATABASE_URL", &db_url),
            ("KEEL_READY_TIMEOUT_MS", "1500"),
        ],
    );
    let mut api = ChildProcess::spawn(BIN, &[], &env);
    api.wait_until_ok(&format!("http://{addr}/healthz"), Duration::from_secs(20))
        .await;
    proxy.stall();

    let slow = tokio::spawn(reqwest::get(format!("http://{addr}/readyz")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.terminate();

    let res = slow
        .await
        .expect("joined")
        .expect("the in-flight request got its answer");
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.expect("complete body");
    assert_eq!(body["checks"]["postgres"]["status"], "down");
    assert_eq!(api.wait().code(), Some(0), "{}", api.stderr());
}

/// Runs keel-api with `args` in `env`, typing `stdin`; returns what it did.
fn run_with_stdin(env: &[(String, String)], args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    child.wait_with_output().expect("output")
}

#[tokio::test]
async fn create_admin_creates_a_verified_admin_then_promotes_an_existing_account() {
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let env = test_env(&db, &redis);
    let run = |args: &[&str], stdin: &str| run_with_stdin(&env, args, stdin);

    let created = run(
        &["create-admin", "--email", "Boss@Example.com"],
        "violet-anchor-mosaic-71\n",
    );
    let weak = run(
        &["create-admin", "--email", "other@example.com"],
        "password\n",
    );
    let promoted = run(&["create-admin", "--email", "boss@example.com"], "\n");

    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&created.stdout),
        "created administrator boss@example.com\n"
    );
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("password must be at least 10 characters")
    );
    assert_eq!(
        String::from_utf8_lossy(&promoted.stdout),
        "boss@example.com is now an administrator\n"
    );
    let row = db
        .client()
        .await
        .query_one("SELECT is_admin, email_verified_at IS NOT NULL FROM users WHERE email = 'boss@example.com'", &[])
        .await
        .expect("row");
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
}

#[tokio::test]
async fn create_admin_never_promotes_an_unverified_account_with_the_password_its_registrant_set() {
    use keel_shared::auth::password;
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let env = test_env(&db, &redis);
    // Someone registered the address with their own password and never verified it.
    let squatters = "violet-anchor-mosaic-71";
    let hash = password::hash(squatters).await.expect("hash");
    let client = db.client().await;
    client
        .execute(
            "INSERT INTO users (id, email, name, password_hash) VALUES (gen_random_uuid(), 'boss@example.com', 'Boss', $1)",
            &[&hash],
        )
        .await
        .expect("user");
    let run = |stdin: &str| {
        run_with_stdin(
            &env,
            &["create-admin", "--email", "boss@example.com"],
            stdin,
        )
    };
    let admin = || async {
        let row = client
            .query_one(
                "SELECT is_admin, password_hash FROM users WHERE email = 'boss@example.com'",
                &[],
            )
            .await
            .expect("row");
        (row.get::<_, bool>(0), row.get::<_, Option<String>>(1))
    };

    let as_it_is = run("\n");
    assert!(!as_it_is.status.success());
    assert!(String::from_utf8_lossy(&as_it_is.stderr).contains("not verified"));
    assert!(!admin().await.0, "not promoted");

    let taken_over = run("quartz-lantern-orbit-93\n");
    assert!(
        taken_over.status.success(),
        "{}",
        String::from_utf8_lossy(&taken_over.stderr)
    );
    let (is_admin, hash) = admin().await;
    assert!(is_admin);
    assert!(
        !password::verify(squatters, hash.as_deref()).await,
        "the registrant's password no longer signs in to the admin account"
    );
    assert!(password::verify("quartz-lantern-orbit-93", hash.as_deref()).await);
}
