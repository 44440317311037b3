//! The transactional outbox: a committed transaction's job runs, a rolled-back one's never.

use std::time::Duration;

use keel_shared::db::outbox as outbox_rows;
use keel_shared::jobs::outbox::enqueue_in_tx;
use keel_shared::jobs::payloads::Noop;
use keel_worker::jobs::registry;

use crate::helpers::TestEnv;

/// Writes `job` to the outbox in a transaction that commits, or rolls back.
async fn write_in_tx(env: &TestEnv, job: &Noop, commit: bool) {
    let mut client = env.ctx.db.get().await.expect("conn");
    let tx = client.transaction().await.expect("tx");
    enqueue_in_tx(&tx, job).await.expect("outbox row");
    if commit {
        tx.commit().await.expect("commit");
    } else {
        tx.rollback().await.expect("rollback");
    }
}

#[tokio::test]
async fn a_job_written_in_a_committed_transaction_is_relayed_and_run() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());

    write_in_tx(&env, &Noop::default(), true).await;

    env.wait_for("default", Duration::from_secs(10), |s| s.processed == 1)
        .await;
    let client = env.ctx.db.get().await.expect("conn");
    assert_eq!(
        outbox_rows::len(&client).await.expect("len"),
        0,
        "outbox emptied"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_job_written_in_a_rolled_back_transaction_is_never_enqueued() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());

    write_in_tx(&env, &Noop::default(), false).await;
    // A committed one after it, to know the relay has run.
    write_in_tx(&env, &Noop { sleep_ms: Some(1) }, true).await;

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.processed == 1)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.stats("default").await.processed,
        1,
        "only the committed job ran"
    );
    assert_eq!(stats.pending, 0);
    worker.stop().await;
}

#[tokio::test]
async fn the_outbox_keeps_its_rows_while_redis_is_down() {
    let env = TestEnv::with(&[("REDIS_URL", "redis://127.0.0.1:9")]).await;
    let client = env.ctx.db.get().await.expect("conn");
    enqueue_in_tx(&client, &Noop::default())
        .await
        .expect("outbox row");

    let relayed = keel_shared::jobs::outbox::relay(&env.ctx.db, env.queue(), 100).await;

    assert!(relayed.is_err(), "Redis is unreachable");
    assert_eq!(
        outbox_rows::len(&client).await.expect("len"),
        1,
        "row kept for the next try"
    );
}
