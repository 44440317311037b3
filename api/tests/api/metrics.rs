//! Prometheus on the api: `/metrics` on its own listener (`KEEL_API_METRICS_ADDR`), never on
//! the public port; requests by method, route template and status class; pools, readiness,
//! in-flight requests, password hashes and jobs enqueued.

use serde_json::json;

use crate::helpers::{PASSWORD, scrape, series, spawn_app, spawn_app_with};

const USERS_ME_401: &str =
    r#"keel_api_requests_total{method="GET",route="/api/v1/users/me",status_class="4xx"}"#;
const SESSION_401: &str = r#"keel_api_requests_total{method="DELETE",route="/api/v1/auth/sessions/{id}",status_class="4xx"}"#;
const NO_ROUTE_404: &str =
    r#"keel_api_requests_total{method="GET",route="(no route)",status_class="4xx"}"#;
const HEALTHZ_200: &str =
    r#"keel_api_requests_total{method="GET",route="/healthz",status_class="2xx"}"#;

#[tokio::test]
async fn metrics_are_not_served_on_the_public_port() {
    let app = spawn_app().await;

    let res = app.get("/metrics").await;

    assert_eq!(res.status(), 404);
    let body = res.text().await.expect("text");
    assert!(!body.contains("keel_api_requests_total"), "{body}");
}

#[tokio::test]
async fn requests_are_counted_by_method_route_template_and_status_class() {
    let app = spawn_app().await;
    let before = scrape(&app).await;

    app.get("/api/v1/users/me").await;
    app.get("/api/v1/users/me").await;
    app.get("/healthz").await;
    // Two different ids, one template; two unknown paths, one label.
    for id in [
        "0190f1c2-7d4e-7a00-8000-000000000001",
        "0190f1c2-7d4e-7a00-8000-000000000002",
    ] {
        let res = app
            .client
            .delete(app.url(&format!("/api/v1/auth/sessions/{id}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 401);
    }
    app.get("/api/v1/nothing/here/1").await;
    app.get("/api/v1/nothing/here/2").await;
    let after = scrape(&app).await;

    let delta = |s: &str| series(&after, s) - series(&before, s);
    assert_eq!(delta(USERS_ME_401), 2.0);
    assert_eq!(delta(HEALTHZ_200), 1.0);
    assert_eq!(delta(SESSION_401), 2.0, "{after}");
    assert_eq!(delta(NO_ROUTE_404), 2.0);
    assert!(
        !after.contains("0190f1c2") && !after.contains("/nothing/here"),
        "raw paths never become labels"
    );
    let latency = r#"keel_api_request_duration_seconds_count{method="GET",route="/api/v1/users/me",status_class="4xx"}"#;
    assert_eq!(series(&after, latency) - series(&before, latency), 2.0);
    assert!(
        after.contains(r#"keel_api_request_duration_seconds_bucket{method="GET",route="/api/v1/users/me",status_class="4xx",le="0.005"}"#),
        "{after}"
    );
}

#[tokio::test]
async fn pools_readiness_and_in_flight_requests_are_read_at_scrape_time() {
    let app = spawn_app_with(&[("KEEL_DB_POOL_SIZE", "3")]).await;
    app.get("/readyz").await;

    let metrics = scrape(&app).await;

    assert_eq!(
        series(&metrics, r#"keel_pool_max_size{pool="postgres"}"#),
        3.0
    );
    assert_eq!(
        series(&metrics, r#"keel_pool_max_size{pool="redis"}"#),
        12.0
    );
    assert!(series(&metrics, r#"keel_pool_size{pool="postgres"}"#) >= 1.0);
    for present in [
        r#"keel_pool_available{pool="postgres"}"#,
        r#"keel_pool_waiting{pool="redis"}"#,
        "keel_api_requests_in_flight",
        "keel_password_hashes_in_flight",
        "keel_password_hashes_waiting",
        r#"keel_api_rate_limited_total{limit="global"}"#,
        r#"keel_api_rate_limited_total{limit="endpoint"}"#,
        "keel_api_rate_limit_fail_open_total",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(&format!("{present} "))),
            "{present} missing from {metrics}"
        );
    }
    assert_eq!(readiness(&metrics), (1.0, 1.0, 1.0));
}

/// `keel_ready`, and whether PostgreSQL and Redis are up, as scraped.
fn readiness(metrics: &str) -> (f64, f64, f64) {
    let up = |dependency: &str| {
        series(
            metrics,
            &format!(r#"keel_dependency_up{{dependency="{dependency}"}}"#),
        )
    };
    (series(metrics, "keel_ready"), up("postgres"), up("redis"))
}

#[tokio::test]
async fn a_dependency_down_shows_as_not_ready() {
    let crate::helpers::ProxiedApp {
        app,
        postgres,
        redis: _redis,
    } = crate::helpers::spawn_app_behind_proxies().await;

    postgres.cut();
    let metrics = scrape(&app).await;

    assert_eq!(
        readiness(&metrics),
        (0.0, 0.0, 1.0),
        "not ready: PostgreSQL down, Redis up"
    );
}

#[tokio::test]
async fn jobs_enqueued_by_the_api_are_counted_by_type() {
    let app = spawn_app().await;
    let enqueued = r#"keel_jobs_enqueued_total{job="send_email_link",via="outbox"}"#;
    let before = series(&scrape(&app).await, enqueued);

    let res = app
        .post_json(
            "/api/v1/auth/register",
            json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
        )
        .await;

    assert_eq!(res.status(), 202);
    assert_eq!(series(&scrape(&app).await, enqueued) - before, 1.0);
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let app = spawn_app_with(&[("KEEL_API_METRICS_ADDR", "off")]).await;

    assert!(app.metrics_address.is_none());
    assert_eq!(app.get("/healthz").await.status(), 200);
}
