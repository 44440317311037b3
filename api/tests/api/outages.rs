//! A dependency lost mid-request: the request answers 503 (like a dependency that refuses
//! connections), never 500, and the next request after recovery works (the pool dropped the
//! broken connection).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ProxiedApp, spawn_app_behind_proxies};

/// Sends `request`, lets it get stuck on a held connection, then cuts that connection.
async fn cut_mid_request(
    proxy: &keel_shared::testing::TcpProxy,
    request: impl std::future::Future<Output = reqwest::Response>,
) -> reqwest::Response {
    proxy.hold();
    let cut_later = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy.cut();
    };
    let (res, ()) = tokio::join!(request, cut_later);
    res
}

async fn assert_unavailable(res: reqwest::Response, dependency: &str) {
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "service_unavailable");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(dependency)),
        "{body}"
    );
}

#[tokio::test]
async fn a_postgres_connection_lost_mid_query_is_a_503_and_the_next_request_works() {
    let ProxiedApp {
        app,
        postgres,
        redis: _redis,
    } = spawn_app_behind_proxies().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;

    // The pooled connection is established; the query of this request is stuck on it when
    // the connection is cut.
    let res = cut_mid_request(&postgres, app.get_authed("/api/v1/users/me", &access)).await;
    assert_unavailable(res, "postgres").await;

    postgres.restore();
    let res = app.get_authed("/api/v1/users/me", &access).await;
    assert_eq!(res.status(), 200, "the broken connection was not reused");
}

#[tokio::test]
async fn a_postgres_connection_lost_inside_an_account_operation_is_a_503() {
    let ProxiedApp {
        app,
        postgres,
        redis: _redis,
    } = spawn_app_behind_proxies().await;
    app.signed_in_user("ada@example.com").await;

    let res = cut_mid_request(
        &postgres,
        app.post_json(
            "/api/v1/auth/password/forgot",
            json!({"email": "ada@example.com"}),
        ),
    )
    .await;
    assert_unavailable(res, "postgres").await;

    postgres.restore();
    let res = app
        .post_json(
            "/api/v1/auth/password/forgot",
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn a_redis_connection_lost_mid_command_is_a_503_and_the_next_request_works() {
    let ProxiedApp {
        app,
        postgres: _postgres,
        redis,
    } = spawn_app_behind_proxies().await;
    let login = || {
        app.post_json(
            "/api/v1/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong-password-1"}),
        )
    };
    // Establishes the Redis connection (the login rate limit is counted there).
    assert_eq!(login().await.status(), 401);

    let res = cut_mid_request(&redis, login()).await;
    assert_unavailable(res, "redis").await;

    redis.restore();
    assert_eq!(login().await.status(), 401);
}
