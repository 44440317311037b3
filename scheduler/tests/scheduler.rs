//! The `keel-scheduler` binary: probes on its own port, graceful stop on SIGTERM.

use std::time::Duration;

use keel_shared::testing::{
    ChildProcess, TcpProxy, TestDb, TestRedis, base_database_url, free_port, host_port, test_env,
    with_address,
};

const BIN: &str = env!("CARGO_BIN_EXE_keel-scheduler");

fn env_on(addr: &str, db: &TestDb, redis: &TestRedis) -> Vec<(String, String)> {
    let mut env = test_env(db, redis);
    env.push(("KEEL_SCHEDULER_HEALTH_ADDR".into(), addr.to_owned()));
    env
}

#[tokio::test]
async fn the_scheduler_answers_probes_and_exits_0_on_sigterm() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut process = ChildProcess::spawn(BIN, &[], &env_on(&addr, &db, &redis));

    process
        .wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(20))
        .await;
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let unknown = reqwest::get(format!("http://{addr}/nope"))
        .await
        .expect("404");
    assert_eq!(unknown.status(), 404);

    process.terminate();
    let status = process.wait();
    assert_eq!(status.code(), Some(0), "{}", process.stderr());
}

#[tokio::test]
async fn the_scheduler_readyz_names_postgres_while_it_is_down() {
    let proxy = TcpProxy::start(host_port(&base_database_url(), 5432)).await;
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut env = env_on(&addr, &db, &redis);
    env.push(("DATABASE_URL".into(), with_address(&db.url, proxy.addr())));
    let mut process = ChildProcess::spawn(BIN, &[], &env);
    process
        .wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(20))
        .await;

    proxy.cut();
    let down = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.expect("json");
    assert_eq!(body["checks"]["postgres"]["status"], "down");

    proxy.restore();
    process
        .wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(5))
        .await;
}

#[test]
fn a_malformed_probe_address_stops_the_scheduler_naming_it() {
    let env = vec![(
        "KEEL_SCHEDULER_HEALTH_ADDR".to_owned(),
        "nowhere".to_owned(),
    )];

    let (code, stderr) = ChildProcess::run(BIN, &[], &env);

    assert_eq!(code, Some(78));
    assert!(stderr.contains("KEEL_SCHEDULER_HEALTH_ADDR"), "{stderr}");
}
