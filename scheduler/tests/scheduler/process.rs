//! The `keel-scheduler` binary: probes, `list`, config errors, and three replicas (one of
//! them killed) firing an every-second entry exactly once per slot.

use std::time::Duration;

use keel_shared::testing::{ChildProcess, TestDb, TestRedis, free_port, test_env_with};

const BIN: &str = env!("CARGO_BIN_EXE_keel-scheduler");
const EVERY_SECOND: &str = "record_queue_depth=* * * * * *;purge_dead_jobs=off;purge_sent_emails=off;purge_expired_tokens=off";

fn env_on(
    addr: &str,
    db: &TestDb,
    redis: &TestRedis,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut vars = vec![("KEEL_SCHEDULER_HEALTH_ADDR", addr)];
    vars.extend_from_slice(extra);
    test_env_with(db, redis, &vars)
}

#[tokio::test]
async fn the_scheduler_answers_probes_and_exits_0_on_sigterm() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut process = ChildProcess::spawn(BIN, &[], &env_on(&addr, &db, &redis, &[]));

    process
        .wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(20))
        .await;
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);

    process.terminate();
    assert_eq!(process.wait().code(), Some(0), "{}", process.stderr());
}

#[tokio::test]
async fn three_replicas_fire_each_slot_exactly_once_even_when_one_is_killed() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let mut replicas: Vec<ChildProcess> = (0..3)
        .map(|_| {
            let addr = format!("127.0.0.1:{}", free_port());
            ChildProcess::spawn(
                BIN,
                &[],
                &env_on(&addr, &db, &redis, &[("KEEL_SCHEDULE", EVERY_SECOND)]),
            )
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(3000)).await;
    replicas[0].kill();
    tokio::time::sleep(Duration::from_millis(4000)).await;
    for r in &replicas[1..] {
        r.terminate();
    }
    for r in &mut replicas[1..] {
        assert_eq!(r.wait().code(), Some(0), "{}", r.stderr());
    }

    let queue = redis.queue();
    let slots: Vec<i64> = queue
        .peek("critical")
        .await
        .expect("peek")
        .iter()
        .filter(|e| e.name == "record_queue_depth")
        .map(|e| e.due_at_ms)
        .collect();
    assert!(slots.len() >= 5, "fired {slots:?}");
    let mut sorted = slots.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), slots.len(), "a slot fired twice: {slots:?}");
    assert!(
        sorted.windows(2).all(|w| w[1] - w[0] == 1000),
        "a slot was lost: {sorted:?}"
    );
}

#[test]
fn list_prints_every_entry_with_its_next_fire_times() {
    let env = vec![(
        "KEEL_SCHEDULE".to_owned(),
        "purge_sent_emails=off".to_owned(),
    )];

    let (code, stdout, stderr) = ChildProcess::output(BIN, &["list", "--next", "2"], &env);

    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("purge_dead_jobs      0 0 * * * *"),
        "{stdout}"
    );
    assert!(stdout.contains("purge_sent_emails    off"), "{stdout}");
    assert!(
        stdout.contains("purge_expired_tokens 0 15 * * * *"),
        "{stdout}"
    );
    assert!(
        stdout.contains("record_queue_depth   */15 * * * * *"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("    next: ").count(),
        6,
        "two per enabled entry: {stdout}"
    );
}

#[test]
fn a_bad_schedule_override_stops_the_scheduler_naming_it() {
    let env = vec![(
        "KEEL_SCHEDULE".to_owned(),
        "purge_dead_jobs=every hour".to_owned(),
    )];

    let (code, stderr) = ChildProcess::run(BIN, &["run"], &env);

    assert_eq!(code, Some(78));
    assert!(
        stderr.contains("KEEL_SCHEDULE") && stderr.contains("purge_dead_jobs"),
        "{stderr}"
    );
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
