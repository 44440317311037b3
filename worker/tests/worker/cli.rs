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
