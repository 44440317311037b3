//! The `keel-worker` binary: probes and metrics on its own port, SIGTERM drain and hand-back,
//! and a SIGKILLed worker's job finishing on another worker with its email sent once.

use std::time::Duration;

use keel_shared::email::Email;
use keel_shared::jobs::payloads::{Noop, SendEmail};
use keel_shared::jobs::{Queue, QueueStats};
use keel_shared::testing::{
    ChildProcess, SmtpSink, TcpProxy, TestDb, TestRedis, base_database_url, free_port, host_port,
    test_env_with, wait_for_queue, with_address,
};

const BIN: &str = env!("CARGO_BIN_EXE_keel-worker");

fn env_on(
    addr: &str,
    db: &TestDb,
    redis: &TestRedis,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut vars = vec![("KEEL_WORKER_HEALTH_ADDR", addr)];
    vars.extend_from_slice(extra);
    test_env_with(db, redis, &vars)
}

async fn stats(queue: &Queue, name: &str) -> QueueStats {
    wait_for_queue(queue, name, Duration::ZERO, |_| true).await
}

/// A worker process on its own probe port with one `noop` job sleeping `sleep_ms` in flight.
async fn worker_with_a_job_in_flight(
    db: &TestDb,
    redis: &TestRedis,
    extra: &[(&str, &str)],
    sleep_ms: u64,
) -> (ChildProcess, String, Queue) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut process = ChildProcess::spawn(BIN, &[], &env_on(&addr, db, redis, extra));
    process
        .wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(20))
        .await;
    let queue = redis.queue();
    queue
        .enqueue(&Noop {
            sleep_ms: Some(sleep_ms),
        })
        .await
        .expect("enqueued");
    wait_for_queue(&queue, "default", Duration::from_secs(10), |s| {
        s.in_flight == 1
    })
    .await;
    (process, addr, queue)
}

#[tokio::test]
async fn the_worker_answers_probes_and_metrics_and_exits_0_on_sigterm() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut process = ChildProcess::spawn(BIN, &[], &env_on(&addr, &db, &redis, &[]));
    process
        .wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(20))
        .await;
    let queue = redis.queue();
    queue.enqueue(&Noop::default()).await.expect("enqueued");
    wait_for_queue(&queue, "default", Duration::from_secs(10), |s| {
        s.processed == 1
    })
    .await;

    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"keel_jobs_total{job="noop",queue="default",outcome="processed"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("keel_job_duration_seconds_bucket"),
        "{metrics}"
    );

    process.terminate();
    assert_eq!(process.wait().code(), Some(0), "{}", process.stderr());
}

#[tokio::test]
async fn sigterm_lets_the_job_in_flight_finish_while_readyz_says_draining() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let (mut process, addr, queue) = worker_with_a_job_in_flight(&db, &redis, &[], 1500).await;

    process.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "draining");

    assert_eq!(process.wait().code(), Some(0), "{}", process.stderr());
    let s = stats(&queue, "default").await;
    assert_eq!((s.processed, s.in_flight, s.pending), (1, 0, 0));
}

#[tokio::test]
async fn sigterm_hands_back_a_job_that_outlives_the_grace_period() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let (mut process, _, queue) =
        worker_with_a_job_in_flight(&db, &redis, &[("KEEL_SHUTDOWN_GRACE_SECS", "1")], 30_000)
            .await;

    process.terminate();

    assert_eq!(process.wait().code(), Some(0), "{}", process.stderr());
    let s = stats(&queue, "default").await;
    assert_eq!(
        (s.pending, s.in_flight, s.processed),
        (1, 0, 0),
        "back on the queue, ready for another worker"
    );
}

#[tokio::test]
async fn a_sigkilled_workers_email_job_completes_on_another_worker_and_is_sent_once() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let extra = [
        ("SMTP_URL", smtp.as_str()),
        ("KEEL_JOB_REDELIVERY_SECS", "3"),
    ];
    let first_addr = format!("127.0.0.1:{}", free_port());
    let mut first = ChildProcess::spawn(BIN, &[], &env_on(&first_addr, &db, &redis, &extra));
    first
        .wait_until_ok(
            &format!("http://{first_addr}/readyz"),
            Duration::from_secs(20),
        )
        .await;
    let queue = redis.queue();
    sink.stall(true);
    queue
        .enqueue(&SendEmail {
            idempotency_key: "welcome:42".into(),
            to: "grace@example.com".into(),
            email: Email::Notice {
                subject: "Welcome".into(),
                message: "Hello".into(),
            },
        })
        .await
        .expect("enqueued");

    // The first worker is mid-send: its message sits in the sink, not yet accepted.
    sink.wait_for_data(1, Duration::from_secs(10)).await;
    first.kill();
    sink.wait_for_dropped(1, Duration::from_secs(5)).await;
    sink.stall(false);
    let second_addr = format!("127.0.0.1:{}", free_port());
    let mut second = ChildProcess::spawn(BIN, &[], &env_on(&second_addr, &db, &redis, &extra));

    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    let s = wait_for_queue(&queue, "email", Duration::from_secs(10), |s| {
        s.processed == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1, "sent exactly once");
    assert_eq!(mails[0].header("Subject").as_deref(), Some("Welcome"));
    assert_eq!((s.in_flight, s.pending, s.dead), (0, 0, 0));
    let client = db.pool().get().await.expect("conn");
    assert_eq!(
        keel_shared::db::emails::sent_count(&client, "welcome:42")
            .await
            .expect("count"),
        1
    );
    second.terminate();
    assert_eq!(second.wait().code(), Some(0), "{}", second.stderr());
}

#[tokio::test]
async fn the_worker_readyz_names_postgres_while_it_is_down() {
    let proxy = TcpProxy::start(host_port(&base_database_url(), 5432)).await;
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let addr = format!("127.0.0.1:{}", free_port());
    let db_url = with_address(&db.url, proxy.addr());
    let env = env_on(&addr, &db, &redis, &[("DATABASE_URL", &db_url)]);
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
fn a_malformed_probe_address_stops_the_worker_naming_it() {
    let env = vec![("KEEL_WORKER_HEALTH_ADDR".to_owned(), "nowhere".to_owned())];

    let (code, stderr) = ChildProcess::run(BIN, &[], &env);

    assert_eq!(code, Some(78));
    assert!(stderr.contains("KEEL_WORKER_HEALTH_ADDR"), "{stderr}");
}

#[test]
fn the_jobs_stats_command_runs_against_redis() {
    let redis = TestRedis::new();
    let env = vec![
        ("REDIS_URL".to_owned(), redis.url.clone()),
        ("KEEL_REDIS_PREFIX".to_owned(), redis.prefix.clone()),
    ];

    let (code, stderr) = ChildProcess::run(BIN, &["jobs", "stats", "--json"], &env);

    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_redis_pool_too_small_for_the_queues_stops_the_worker_naming_it() {
    let env = vec![
        ("KEEL_REDIS_POOL_SIZE".to_owned(), "2".to_owned()),
        (
            "KEEL_WORKER_HEALTH_ADDR".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
    ];

    let (code, stderr) = ChildProcess::run(BIN, &["run"], &env);

    assert_eq!(code, Some(78));
    assert!(stderr.contains("KEEL_REDIS_POOL_SIZE"), "{stderr}");
}
