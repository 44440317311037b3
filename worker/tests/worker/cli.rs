//! `keel-worker jobs ...`: operator commands against a real queue.

use keel_worker::cli::{self, DeadCommand, JobsCommand};
use keel_worker::jobs::registry;

use crate::helpers::TestEnv;

async fn run(env: &TestEnv, cmd: JobsCommand) -> anyhow::Result<String> {
    let mut out = Vec::new();
    cli::jobs(cmd, env.queue(), &registry(), &mut out).await?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

#[tokio::test]
async fn enqueue_with_count_then_stats_as_json() {
    let env = TestEnv::new().await;

    let said = run(
        &env,
        JobsCommand::Enqueue {
            name: "noop".into(),
            payload: "{}".into(),
            count: 3,
            rate: None,
        },
    )
    .await
    .expect("enqueued");
    let json = run(&env, JobsCommand::Stats { json: true })
        .await
        .expect("stats");

    assert_eq!(said.trim(), "enqueued 3 noop job(s) on queue default");
    let stats: serde_json::Value = serde_json::from_str(&json).expect("json");
    let default = stats
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["queue"] == "default")
        .expect("default queue");
    assert_eq!(default["pending"], 3);
    for field in [
        "in_flight",
        "scheduled",
        "dead",
        "processed",
        "failed",
        "retried",
    ] {
        assert_eq!(default[field], 0, "{field}");
    }
}

#[tokio::test]
async fn enqueue_refuses_an_unknown_job_naming_the_known_ones() {
    let env = TestEnv::new().await;

    let err = run(
        &env,
        JobsCommand::Enqueue {
            name: "nope".into(),
            payload: "{}".into(),
            count: 1,
            rate: None,
        },
    )
    .await
    .expect_err("must fail");

    assert!(err.to_string().contains("unknown job \"nope\""), "{err}");
    assert!(err.to_string().contains("send_email"), "{err}");
}

#[tokio::test]
async fn enqueue_refuses_a_payload_that_does_not_fit() {
    let env = TestEnv::new().await;

    let bad_json = run(
        &env,
        JobsCommand::Enqueue {
            name: "noop".into(),
            payload: "{".into(),
            count: 1,
            rate: None,
        },
    )
    .await
    .expect_err("not JSON");
    let wrong_shape = run(
        &env,
        JobsCommand::Enqueue {
            name: "noop".into(),
            payload: r#"{"sleep": 1}"#.into(),
            count: 1,
            rate: None,
        },
    )
    .await
    .expect_err("unknown field");

    assert!(
        bad_json.to_string().contains("not valid JSON"),
        "{bad_json}"
    );
    assert!(
        wrong_shape.to_string().contains("does not fit job noop"),
        "{wrong_shape}"
    );
    assert_eq!(env.stats("default").await.pending, 0);
}

#[tokio::test]
async fn retrying_an_unknown_dead_job_is_an_error() {
    let env = TestEnv::new().await;

    let err = run(
        &env,
        JobsCommand::Dead(DeadCommand::Retry { id: "nope".into() }),
    )
    .await
    .expect_err("must fail");

    assert!(err.to_string().contains("no dead job with id nope"));
}

async fn bury_two_undecodable_jobs(env: &TestEnv) {
    let worker = env.start(registry());
    for _ in 0..2 {
        env.queue()
            .push(&keel_shared::jobs::Queue::envelope(
                "no_such_job",
                1,
                "default",
                serde_json::json!({}),
            ))
            .await
            .expect("push");
    }
    env.wait_for("default", std::time::Duration::from_secs(10), |s| {
        s.dead == 2
    })
    .await;
    worker.stop().await;
}

#[tokio::test]
async fn dead_list_shows_the_reason_and_purge_empties_the_dead_set() {
    let env = TestEnv::new().await;
    bury_two_undecodable_jobs(&env).await;

    let listed = run(
        &env,
        JobsCommand::Dead(DeadCommand::List {
            limit: 10,
            json: false,
        }),
    )
    .await
    .expect("list");
    let purged = run(
        &env,
        JobsCommand::Dead(DeadCommand::Purge {
            older_than_hours: None,
        }),
    )
    .await
    .expect("purge");

    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.contains("no handler for job \"no_such_job\" version 1"),
        "{listed}"
    );
    assert_eq!(purged.trim(), "purged 2 dead job(s)");
    assert_eq!(env.stats("default").await.dead, 0);
    assert!(env.queue().dead_list(10).await.expect("list").is_empty());
}

#[tokio::test]
async fn purge_with_an_age_keeps_recent_dead_jobs() {
    let env = TestEnv::new().await;
    bury_two_undecodable_jobs(&env).await;

    let purged = run(
        &env,
        JobsCommand::Dead(DeadCommand::Purge {
            older_than_hours: Some(1),
        }),
    )
    .await
    .expect("purge");

    assert_eq!(purged.trim(), "purged 0 dead job(s)");
    assert_eq!(env.stats("default").await.dead, 2);
}

#[tokio::test]
async fn retry_all_puts_every_dead_job_back() {
    let env = TestEnv::new().await;
    bury_two_undecodable_jobs(&env).await;

    let said = run(&env, JobsCommand::Dead(DeadCommand::RetryAll))
        .await
        .expect("retry-all");

    assert_eq!(said.trim(), "2 dead job(s) back on their queues");
    let stats = env.stats("default").await;
    assert_eq!((stats.dead, stats.pending), (0, 2));
}
