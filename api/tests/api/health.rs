//! `/healthz` and `/readyz`, with dependencies up, down, hung and back.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_behind_proxies};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;

    let res = app.get("/healthz").await;

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn healthz_answers_ok_while_every_dependency_is_down() {
    let p = spawn_app_behind_proxies().await;
    p.postgres.cut();
    p.redis.cut();

    let res = p.app.get("/healthz").await;

    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn readyz_answers_200_when_postgres_and_redis_answer() {
    let app = spawn_app().await;

    let res = app.get("/readyz").await;

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["postgres"]["status"], "up");
    assert_eq!(body["checks"]["redis"]["status"], "up");
}

#[tokio::test]
async fn readyz_names_postgres_when_it_stops_and_recovers_without_a_restart() {
    let p = spawn_app_behind_proxies().await;
    assert_eq!(p.app.get("/readyz").await.status(), 200, "ready at first");

    p.postgres.cut();
    let down = p.app.get("/readyz").await;
    assert_eq!(down.status(), 503);
    let body: Value = down.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["postgres"]["status"], "down");
    assert_eq!(body["checks"]["redis"]["status"], "up");

    p.postgres.restore();
    let up = p.app.get("/readyz").await;
    assert_eq!(up.status(), 200, "back without restarting the api");
}

#[tokio::test]
async fn readyz_names_redis_when_it_stops_and_recovers_without_a_restart() {
    let p = spawn_app_behind_proxies().await;
    assert_eq!(p.app.get("/readyz").await.status(), 200, "ready at first");

    p.redis.cut();
    let down = p.app.get("/readyz").await;
    assert_eq!(down.status(), 503);
    let body: Value = down.json().await.expect("json");
    assert_eq!(body["checks"]["redis"]["status"], "down");
    assert_eq!(body["checks"]["postgres"]["status"], "up");

    p.redis.restore();
    assert_eq!(p.app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readyz_fails_fast_when_postgres_hangs() {
    let p = spawn_app_behind_proxies().await;
    p.postgres.stall();

    let started = Instant::now();
    let res = p.app.get("/readyz").await;

    assert_eq!(res.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}; the readiness timeout is 500 ms",
        started.elapsed()
    );
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["checks"]["postgres"]["status"], "down");
    assert_eq!(
        body["checks"]["postgres"]["error"],
        "timed out after 500 ms"
    );
}
