//! Enqueue → process, retries, the dead set, undecodable payloads, large backlogs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use keel_shared::jobs::payloads::Noop;
use keel_shared::jobs::{Job, Queue};
use keel_worker::cli::{self, DeadCommand, JobsCommand};
use keel_worker::jobs::{JobError, Registry, registry};
use serde::{Deserialize, Serialize};

use crate::helpers::{RunningWorker, TestEnv};

/// Fails until its counter reaches `succeed_on`.
#[derive(Debug, Serialize, Deserialize)]
struct Flaky {
    succeed_on: u32,
}

impl Job for Flaky {
    const NAME: &'static str = "test_flaky";
    const MAX_ATTEMPTS: u32 = 3;
    const BACKOFF: Duration = Duration::from_millis(20);
}

fn flaky_registry(runs: Arc<AtomicU32>) -> Registry {
    let mut r = registry();
    r.register::<Flaky, _, _>(move |_ctx, job: Flaky| {
        let runs = Arc::clone(&runs);
        async move {
            let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
            if run >= job.succeed_on {
                Ok(())
            } else {
                Err(JobError::Retry(anyhow::anyhow!(
                    "run {run} failed on purpose"
                )))
            }
        }
    });
    r
}

#[tokio::test]
async fn an_enqueued_job_is_processed_and_acknowledged() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());

    env.queue()
        .enqueue(&Noop::default())
        .await
        .expect("enqueued");

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.processed == 1)
        .await;
    assert_eq!((stats.pending, stats.in_flight, stats.dead), (0, 0, 0));
    worker.stop().await;
}

/// A worker running a `Flaky` job that succeeds on run `succeed_on`, with its run counter.
async fn start_flaky(succeed_on: u32) -> (TestEnv, Arc<AtomicU32>, RunningWorker) {
    let env = TestEnv::new().await;
    let runs = Arc::new(AtomicU32::new(0));
    let worker = env.start(flaky_registry(Arc::clone(&runs)));
    env.queue()
        .enqueue(&Flaky { succeed_on })
        .await
        .expect("enqueued");
    (env, runs, worker)
}

#[tokio::test]
async fn a_failing_job_is_retried_then_succeeds() {
    let (env, runs, worker) = start_flaky(2).await;

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.processed == 1)
        .await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!((stats.failed, stats.retried, stats.dead), (1, 1, 0));
    worker.stop().await;
}

#[tokio::test]
async fn an_exhausted_job_goes_dead_and_a_cli_retry_runs_it_again() {
    // Fails attempts 1-3 (MAX_ATTEMPTS = 3), succeeds on the fourth run.
    let (env, runs, worker) = start_flaky(4).await;

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.dead == 1)
        .await;
    assert_eq!((stats.processed, stats.failed), (0, 3));
    let dead = env.queue().dead_list(10).await.expect("dead list");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].name.as_deref(), Some("test_flaky"));
    assert!(
        dead[0].error.contains("run 3 failed on purpose"),
        "{}",
        dead[0].error
    );
    assert!(dead[0].raw.contains("\"succeed_on\":4"), "payload kept");

    let mut out = Vec::new();
    cli::jobs(
        JobsCommand::Dead(DeadCommand::Retry {
            id: dead[0].id.clone(),
        }),
        env.queue(),
        &registry(),
        &mut out,
    )
    .await
    .expect("retry from the CLI");

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.processed == 1)
        .await;
    assert_eq!(stats.dead, 0);
    assert_eq!(runs.load(Ordering::SeqCst), 4);
    worker.stop().await;
}

#[tokio::test]
async fn a_permanent_failure_skips_the_retries() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Doomed {}
    impl Job for Doomed {
        const NAME: &'static str = "test_doomed";
    }
    let env = TestEnv::new().await;
    let mut r = registry();
    r.register::<Doomed, _, _>(|_ctx, _job| async {
        Err(JobError::Permanent(anyhow::anyhow!("the record is gone")))
    });
    let worker = env.start(r);

    env.queue().enqueue(&Doomed {}).await.expect("enqueued");

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.dead == 1)
        .await;
    assert_eq!(stats.retried, 0);
    let dead = env.queue().dead_list(1).await.expect("dead");
    assert_eq!(dead[0].attempts, 1);
    assert_eq!(dead[0].error, "the record is gone");
    worker.stop().await;
}

#[tokio::test]
async fn undecodable_and_unknown_jobs_go_dead_without_stopping_the_worker() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());
    let queue = env.queue();

    // Not an envelope at all.
    let mut conn = queue.redis().get().await.expect("conn");
    let _: String = redis::cmd("XADD")
        .arg(format!("{}:queue:default", env.redis.prefix))
        .arg("*")
        .arg("e")
        .arg("{not json")
        .query_async(&mut *conn)
        .await
        .expect("xadd");
    let unrunnable = [
        // A job name no worker knows, and a known name at a version it does not know.
        ("no_such_job", 1, serde_json::json!({})),
        ("noop", 99, serde_json::json!({})),
        // A known job whose payload does not fit.
        ("noop", 1, serde_json::json!({"sleep_ms": "soon"})),
    ];
    for (name, version, payload) in unrunnable {
        queue
            .push(&Queue::envelope(name, version, "default", payload))
            .await
            .expect("push");
    }
    // And a good one after them all.
    queue.enqueue(&Noop::default()).await.expect("enqueued");

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| {
            s.dead == 4 && s.processed == 1
        })
        .await;
    assert_eq!(stats.pending + stats.in_flight, 0);
    let errors: Vec<String> = queue
        .dead_list(10)
        .await
        .expect("dead")
        .into_iter()
        .map(|d| d.error)
        .collect();
    assert!(
        errors.iter().any(|e| e.starts_with("undecodable envelope")),
        "{errors:?}"
    );
    for reason in [
        "\"no_such_job\" version 1",
        "\"noop\" version 99",
        "payload of noop does not decode",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(reason)),
            "{reason}: {errors:?}"
        );
    }
    worker.stop().await;
}

#[tokio::test]
async fn fifty_thousand_jobs_enqueued_while_no_worker_runs_are_all_drained() {
    let env = TestEnv::new().await;
    let envelopes: Vec<_> = (0..50_000)
        .map(|_| Queue::envelope("noop", 1, "default", serde_json::json!({})))
        .collect();
    env.queue()
        .push_many(&envelopes)
        .await
        .expect("bulk enqueue");
    assert_eq!(env.stats("default").await.pending, 50_000);

    let worker = env.start(registry());

    let stats = env
        .wait_for("default", Duration::from_secs(120), |s| {
            s.processed == 50_000
        })
        .await;
    assert_eq!(
        (stats.pending, stats.in_flight, stats.dead, stats.failed),
        (0, 0, 0, 0)
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_delayed_job_runs_only_after_its_delay() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());

    env.queue()
        .enqueue_in(&Noop::default(), Duration::from_millis(800))
        .await
        .expect("enqueued");

    let early = env.stats("default").await;
    assert_eq!((early.scheduled, early.processed), (1, 0));
    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.processed == 1)
        .await;
    assert_eq!(stats.scheduled, 0);
    worker.stop().await;
}

#[tokio::test]
async fn enqueue_unique_adds_a_key_only_once() {
    let env = TestEnv::new().await;
    let ttl = Duration::from_secs(60);

    let first = env
        .queue()
        .enqueue_unique(&Noop::default(), "slot-1", ttl)
        .await
        .expect("ok");
    let second = env
        .queue()
        .enqueue_unique(&Noop::default(), "slot-1", ttl)
        .await
        .expect("ok");

    assert!(first.is_some());
    assert!(second.is_none());
    assert_eq!(env.stats("default").await.pending, 1);
}

#[test]
fn every_worker_process_gets_its_own_identity() {
    let a = keel_worker::runtime::worker_id();
    let b = keel_worker::runtime::worker_id();
    assert_ne!(a, b);
    assert!(a.contains(&std::process::id().to_string()));
}

#[tokio::test]
async fn purge_expired_tokens_deletes_ended_sessions_and_spent_tokens_only() {
    let env = TestEnv::new().await;
    let client = env.ctx.db.get().await.expect("conn");
    client
        .batch_execute(
            "INSERT INTO users (id, email, name) VALUES ('00000000-0000-7000-8000-000000000001', 'a@example.com', 'A');
             INSERT INTO sessions (id, user_id, expires_at) VALUES
               ('00000000-0000-7000-8000-0000000000a1', '00000000-0000-7000-8000-000000000001', now() - interval '2 days'),
               ('00000000-0000-7000-8000-0000000000a2', '00000000-0000-7000-8000-000000000001', now() + interval '2 days');
             INSERT INTO user_tokens (token_hash, user_id, purpose, email, expires_at) VALUES
               ('\\x01', '00000000-0000-7000-8000-000000000001', 'verify_email', 'a@example.com', now() - interval '2 days'),
               ('\\x02', '00000000-0000-7000-8000-000000000001', 'verify_email', 'a@example.com', now() + interval '2 days');",
        )
        .await
        .expect("seed");
    let worker = env.start(registry());

    env.queue()
        .enqueue(&keel_shared::jobs::payloads::PurgeExpiredTokens {})
        .await
        .expect("enqueued");

    env.wait_for("critical", Duration::from_secs(10), |s| s.processed == 1)
        .await;
    let left: (i64, i64) = {
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM user_tokens)",
                &[],
            )
            .await
            .expect("count");
        (row.get(0), row.get(1))
    };
    assert_eq!(left, (1, 1), "only the live session and token remain");
    worker.stop().await;
}
