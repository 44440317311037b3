//! The security headers: the full set pinned on an API response, a docs page, an error and a
//! 404; HSTS only over HTTPS outside production; overrides from the environment.

use std::collections::BTreeMap;

use keel_shared::config::{API_CSP, DOCS_CSP, HSTS, PERMISSIONS_POLICY};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// Every header this middleware owns, as the response has them (absent ones left out).
fn security_set(res: &reqwest::Response) -> BTreeMap<&'static str, String> {
    const OWNED: [&str; 14] = [
        "cache-control",
        "content-security-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "permissions-policy",
        "referrer-policy",
        "server",
        "strict-transport-security",
        "x-content-type-options",
        "x-dns-prefetch-control",
        "x-download-options",
        "x-frame-options",
        "x-permitted-cross-domain-policies",
        "x-xss-protection",
    ];
    OWNED
        .into_iter()
        .filter_map(|name| {
            let value = res.headers().get(name)?.to_str().expect("ascii");
            Some((name, value.to_owned()))
        })
        .collect()
}

/// The set every response carries, with `csp` and the extra headers of the case.
fn expected(csp: &str, extra: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
    let mut set: BTreeMap<&'static str, String> = [
        ("content-security-policy", csp),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("permissions-policy", PERMISSIONS_POLICY),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-content-type-options", "nosniff"),
        ("x-dns-prefetch-control", "off"),
        ("x-download-options", "noopen"),
        ("x-frame-options", "DENY"),
        ("x-permitted-cross-domain-policies", "none"),
        ("x-xss-protection", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    set.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    set
}

async fn access_token(app: &TestApp) -> String {
    app.signed_in_user("ada@example.com").await.0
}

#[tokio::test]
async fn an_authenticated_api_response_carries_the_full_set_and_no_store() {
    let app = spawn_app().await;
    let token = access_token(&app).await;

    let res = app.get_authed("/api/v1/users/me", &token).await;

    assert_eq!(res.status(), 200);
    assert_eq!(
        security_set(&res),
        expected(API_CSP, &[("cache-control", "no-store")])
    );
}

#[tokio::test]
async fn an_error_and_a_404_carry_the_full_set() {
    let app = spawn_app().await;

    let error = app
        .post_json("/api/v1/auth/login", serde_json::json!({"email": "x"}))
        .await;
    let missing = app.get("/no/such/page").await;

    assert_eq!(error.status(), 422);
    assert_eq!(
        security_set(&error),
        expected(API_CSP, &[("cache-control", "no-store")])
    );
    assert_eq!(missing.status(), 404);
    assert_eq!(security_set(&missing), expected(API_CSP, &[]));
}

#[tokio::test]
async fn the_docs_pages_get_their_own_policy() {
    let app = spawn_app().await;

    let res = app.get("/api/docs/keel-test-missing-asset").await;

    assert_eq!(security_set(&res), expected(DOCS_CSP, &[]));
}

#[tokio::test]
async fn hsts_is_sent_when_the_request_came_over_https() {
    let app = spawn_app().await;

    let plain = app.get("/healthz").await;
    let tls = app
        .client
        .get(app.url("/healthz"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("sent");

    assert!(!plain.headers().contains_key("strict-transport-security"));
    assert_eq!(
        security_set(&tls),
        expected(API_CSP, &[("strict-transport-security", HSTS)])
    );
}

#[tokio::test]
async fn every_value_can_be_overridden_and_a_path_given_its_own_policy() {
    let app = spawn_app_with(&[
        ("KEEL_HEADER_REFERRER_POLICY", "no-referrer"),
        ("KEEL_HEADER_X_XSS_PROTECTION", "off"),
        (
            "KEEL_CSP_PATHS",
            "/api/schema/=default-src 'none'; img-src 'self'",
        ),
    ])
    .await;

    let res = app.get("/api/schema/").await;

    assert_eq!(res.status(), 200);
    let mut want = expected(
        "default-src 'none'; img-src 'self'",
        &[("referrer-policy", "no-referrer")],
    );
    want.remove("x-xss-protection");
    // The schema sets its own caching (it is public and has an ETag).
    want.insert("cache-control", "public, max-age=60".into());
    assert_eq!(security_set(&res), want);
}
