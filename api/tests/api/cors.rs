//! CORS: an allowed origin can read responses, a refused one gets no CORS header, and
//! preflights are answered without PostgreSQL.

use crate::helpers::{TestApp, spawn_app_behind_proxies_with, spawn_app_with};

const APP_ORIGIN: &str = "https://app.example.com";

async fn get_from(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .get(app.url("/healthz"))
        .header("origin", origin)
        .send()
        .await
        .expect("sent")
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/users/me"))
        .header("origin", origin)
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("sent")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().expect("ascii"))
}

#[tokio::test]
async fn an_allowed_origin_can_read_the_response_and_its_exposed_headers() {
    let app = spawn_app_with(&[("KEEL_CORS_ALLOWED_ORIGINS", APP_ORIGIN)]).await;

    let res = get_from(&app, APP_ORIGIN).await;

    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    assert_eq!(
        header(&res, "access-control-expose-headers"),
        Some(
            "X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, \
             X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
        )
    );
    assert_eq!(header(&res, "vary"), Some("Origin"));
    assert!(header(&res, "access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn a_refused_origin_gets_no_cors_header() {
    let app = spawn_app_with(&[("KEEL_CORS_ALLOWED_ORIGINS", APP_ORIGIN)]).await;

    let simple = get_from(&app, "https://evil.example.net").await;
    let pre = preflight(&app, "https://app.example.com.evil.example.net").await;

    assert_eq!(simple.status(), 200, "served, but unreadable by the script");
    assert!(header(&simple, "access-control-allow-origin").is_none());
    assert!(header(&pre, "access-control-allow-origin").is_none());
    assert!(header(&pre, "access-control-allow-methods").is_none());
}

#[tokio::test]
async fn without_configured_origins_no_origin_is_allowed() {
    let app = spawn_app_with(&[]).await;

    let res = get_from(&app, APP_ORIGIN).await;

    assert!(header(&res, "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_preflight_is_answered_without_postgres() {
    let p = spawn_app_behind_proxies_with(&[("KEEL_CORS_ALLOWED_ORIGINS", APP_ORIGIN)]).await;
    p.postgres.cut();

    let res = preflight(&p.app, APP_ORIGIN).await;

    assert_eq!(res.status(), 204);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    assert_eq!(
        header(&res, "access-control-allow-methods"),
        Some("GET, POST, PUT, PATCH, DELETE")
    );
    assert_eq!(
        header(&res, "access-control-allow-headers"),
        Some("Authorization, Content-Type, X-Request-Id")
    );
    assert_eq!(header(&res, "access-control-max-age"), Some("600"));
    assert_eq!(header(&res, "x-content-type-options"), Some("nosniff"));
}
