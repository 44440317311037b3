//! Sentry from the worker, observed on a real receiver: a job that dies is one event with its
//! name, id, queue and attempt and no secret; retries are not events; a job continues the
//! trace its envelope carries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use keel_shared::jobs::{Job, Queue};
use keel_shared::testing::SentryReceiver;
use keel_worker::jobs::{JobError, registry};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::helpers::TestEnv;

/// Fails every attempt, with a secret in the error; dies after two.
#[derive(Debug, Serialize, Deserialize)]
struct Doomed {}

impl Job for Doomed {
    const NAME: &'static str = "test_sentry_doomed";
    const MAX_ATTEMPTS: u32 = 2;
    const BACKOFF: Duration = Duration::from_millis(20);
}

fn sentry_on(receiver: &SentryReceiver) -> sentry::ClientInitGuard {
    let config = keel_shared::Config::from_vars([
        ("APP_ENV", "test".to_owned()),
        ("SENTRY_DSN", receiver.dsn()),
        ("SENTRY_TRACES_SAMPLE_RATE", "1".to_owned()),
    ])
    .expect("config");
    keel_shared::telemetry::init_sentry(&config, "keel-worker", "keel@test".to_owned())
        .expect("Sentry is on")
}

#[tokio::test]
async fn a_job_that_dies_is_one_event_with_the_job_and_no_secret() {
    let receiver = SentryReceiver::start().await;
    let _sentry = sentry_on(&receiver);
    let env = TestEnv::new().await;
    let runs = Arc::new(AtomicU32::new(0));
    let mut r = registry();
    let counter = Arc::clone(&runs);
    r.register::<Doomed, _, _>(move |_ctx, _job| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            Err(JobError::Retry(anyhow::anyhow!(
                "smtp said no to password=hunter2"
            )))
        }
    });
    let worker = env.start(r);

    let id = env.queue().enqueue(&Doomed {}).await.expect("enqueued");
    env.wait_for("default", Duration::from_secs(10), |s| s.dead == 1)
        .await;

    let of_this_job = |e: &Value| e["tags"]["job.id"] == id.as_str();
    receiver
        .wait_for("event", 1, Duration::from_secs(10), of_this_job)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events: Vec<Value> = receiver
        .items("event")
        .into_iter()
        .filter(of_this_job)
        .collect();
    assert_eq!(
        events.len(),
        1,
        "one event for the dead job, none per retry"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let event = &events[0];
    // `error` is the protocol's default level, left out of the JSON.
    assert_eq!(
        event["level"].as_str().unwrap_or("error"),
        "error",
        "{event}"
    );
    assert_eq!(event["tags"]["job.name"], "test_sentry_doomed");
    assert_eq!(event["tags"]["job.queue"], "default");
    assert_eq!(event["tags"]["job.attempt"], "2");
    assert_eq!(event["environment"], "test");
    assert_eq!(event["release"], "keel@test");
    let raw = receiver.raw();
    assert!(raw.contains("password=[Filtered]"), "{raw}");
    assert!(!raw.contains("hunter2"), "a secret left the process: {raw}");
    worker.stop().await;
}

#[tokio::test]
async fn a_job_continues_the_trace_in_its_envelope() {
    let receiver = SentryReceiver::start().await;
    let _sentry = sentry_on(&receiver);
    let env = TestEnv::new().await;
    let worker = env.start(registry());
    let trace_id = "771a43a4192642f0b136d5159a501700";
    let parent_span = "b0e6f15b45c36b12";
    let mut envelope = Queue::envelope("noop", 1, "default", serde_json::json!({}));
    envelope.trace.insert(
        "sentry-trace".to_owned(),
        format!("{trace_id}-{parent_span}-1"),
    );
    env.queue().push(&envelope).await.expect("pushed");

    let transactions = receiver
        .wait_for("transaction", 1, Duration::from_secs(10), |t| {
            t["transaction"] == "job noop"
        })
        .await;
    let trace = &transactions[0]["contexts"]["trace"];
    assert_eq!(trace["trace_id"], trace_id);
    assert_eq!(trace["parent_span_id"], parent_span);
    assert_eq!(transactions[0]["tags"]["job.id"], envelope.id.as_str());
    worker.stop().await;
}

#[tokio::test]
async fn the_worker_process_reports_a_job_it_cannot_run() {
    use keel_shared::testing::{ChildProcess, TestDb, TestRedis, free_port, test_env_with};
    let receiver = SentryReceiver::start().await;
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let addr = format!("127.0.0.1:{}", free_port());
    let dsn = receiver.dsn();
    let env = test_env_with(
        &db,
        &redis,
        &[
            ("KEEL_WORKER_HEALTH_ADDR", addr.as_str()),
            ("SENTRY_DSN", dsn.as_str()),
        ],
    );
    let mut process = ChildProcess::spawn(env!("CARGO_BIN_EXE_keel-worker"), &[], &env);
    process
        .wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(20))
        .await;
    let envelope = Queue::envelope("no_such_job", 1, "default", serde_json::json!({}));
    redis.queue().push(&envelope).await.expect("pushed");

    let events = receiver
        .wait_for("event", 1, Duration::from_secs(15), |e| {
            e["tags"]["job.id"] == envelope.id.as_str()
        })
        .await;
    let event = &events[0];
    assert_eq!(event["server_name"], "keel-worker");
    assert_eq!(event["tags"]["job.name"], "no_such_job");
    assert!(
        event["release"]
            .as_str()
            .is_some_and(|r| r.starts_with("keel@0.")),
        "{event}"
    );
    process.terminate();
    assert!(process.wait().success());
}

/// Panics on its only attempt.
#[derive(Debug, Serialize, Deserialize)]
struct Panicky {}

impl Job for Panicky {
    const NAME: &'static str = "test_sentry_panicky";
    const MAX_ATTEMPTS: u32 = 1;
}

#[tokio::test]
async fn a_panicking_job_is_reported_as_a_panic_with_the_job() {
    let receiver = SentryReceiver::start().await;
    let _sentry = sentry_on(&receiver);
    let env = TestEnv::new().await;
    let mut r = registry();
    r.register::<Panicky, _, _>(|_ctx, _job| async { panic!("the job fell over") });
    let worker = env.start(r);

    let id = env.queue().enqueue(&Panicky {}).await.expect("enqueued");
    env.wait_for("default", Duration::from_secs(10), |s| s.dead == 1)
        .await;

    let panics = receiver
        .wait_for("event", 1, Duration::from_secs(10), |e| {
            e["tags"]["job.id"] == id.as_str() && e["exception"]["values"][0]["type"] == "panic"
        })
        .await;
    assert_eq!(panics.len(), 1);
    assert_eq!(panics[0]["tags"]["job.name"], "test_sentry_panicky");
    assert_eq!(panics[0]["tags"]["job.attempt"], "1");
    worker.stop().await;
}
