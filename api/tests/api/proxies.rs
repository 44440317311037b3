//! Client addresses through proxies (`KEEL_TRUSTED_PROXIES`) and the HTTPS redirect
//! (`KEEL_FORCE_HTTPS`). The test client connects from 127.0.0.1: loopback is trusted by
//! default, and a test that wants an untrusted peer trusts another network instead.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, spawn_app_with};

/// A wrong login for ada from whoever `x_forwarded_for` claims.
async fn wrong_login(app: &TestApp, x_forwarded_for: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", x_forwarded_for)
        .json(&json!({"email": "ada@example.com", "password": "wrong-password-here"}))
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_does_not_escape_the_login_limit() {
    let app = spawn_app_with(&[("KEEL_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    app.signed_in_user("ada@example.com").await;

    let mut statuses = Vec::new();
    for i in 0..20 {
        statuses.push(wrong_login(&app, &format!("198.51.100.{i}")).await);
    }

    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 15], "{statuses:?}");
}

#[tokio::test]
async fn hops_left_of_the_trusted_proxy_cannot_change_the_bucket() {
    let app = spawn_app_with(&[]).await;
    app.signed_in_user("ada@example.com").await;

    let mut statuses = Vec::new();
    for i in 0..8 {
        // The client forges the first hop; the proxy appends the address it saw.
        statuses.push(wrong_login(&app, &format!("6.6.6.{i}, 198.51.100.1")).await);
    }

    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_two_clients_have_separate_buckets() {
    let app = spawn_app_with(&[]).await;
    app.signed_in_user("ada@example.com").await;
    for _ in 0..5 {
        assert_eq!(wrong_login(&app, "198.51.100.1").await, 401);
    }
    assert_eq!(wrong_login(&app, "198.51.100.1").await, 429);

    let other = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.2")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("sent");

    assert_eq!(other.status(), 200, "the second client is not locked out");
    assert_eq!(wrong_login(&app, "198.51.100.2").await, 401);
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn forced_https_redirects_plain_http_with_308_except_the_probes() {
    let app = spawn_app_with(&[("KEEL_FORCE_HTTPS", "true")]).await;
    let client = no_redirects();

    let res = client
        .get(app.url("/api/v1/users/me?x=1"))
        .send()
        .await
        .expect("sent");

    assert_eq!(res.status(), 308);
    let host = app.address.trim_start_matches("http://");
    assert_eq!(
        res.headers()["location"],
        format!("https://{host}/api/v1/users/me?x=1").as_str()
    );
    for probe in ["/healthz", "/readyz"] {
        let res = client.get(app.url(probe)).send().await.expect("sent");
        assert_eq!(res.status(), 200, "{probe}");
    }
    let via_tls_proxy = client
        .get(app.url("/api/v1/users/me"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("sent");
    assert_eq!(via_tls_proxy.status(), 401, "served, not redirected");
}

#[tokio::test]
async fn an_untrusted_peer_cannot_claim_https() {
    let app = spawn_app_with(&[
        ("KEEL_FORCE_HTTPS", "true"),
        ("KEEL_TRUSTED_PROXIES", "none"),
    ])
    .await;

    let res = no_redirects()
        .get(app.url("/api/v1/users/me"))
        .header("x-forwarded-proto", "https")
        .header("forwarded", "proto=https")
        .send()
        .await
        .expect("sent");

    assert_eq!(res.status(), 308);
}
