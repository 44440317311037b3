//! Brute-force limits: counted atomically before the check, per account and client (IPv6 per
//! /64), per account from everywhere with a lockout notice and the reset as unlock path, per
//! user behind a bearer token, per IP on the OAuth start.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_trusting_forwarded, spawn_app_with};

const LOGIN: &str = "/api/v1/auth/login";
const WRONG: &str = "wrong-password-here";

/// A wrong login for ada from `ip`.
async fn wrong_login_from(app: &TestApp, ip: &str) -> StatusCode {
    app.post_json_from(
        ip,
        LOGIN,
        json!({"email": "ada@example.com", "password": WRONG}),
    )
    .await
    .status()
}

/// Sends `n` requests at once (each its own task) and returns their statuses.
async fn concurrently(app: &TestApp, n: usize, path: &str, body: &Value) -> Vec<StatusCode> {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let (client, url, body) = (app.client.clone(), app.url(path), body.clone());
        tasks.spawn(async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("sent")
                .status()
        });
    }
    tasks.join_all().await
}

fn count(statuses: &[StatusCode], status: u16) -> usize {
    statuses.iter().filter(|s| s.as_u16() == status).count()
}

/// The `account_locked` emails queued for ada.
async fn lockout_notices(app: &TestApp) -> usize {
    app.outbox_emails()
        .await
        .iter()
        .filter(|(_, template, _)| template == "account_locked")
        .count()
}

#[tokio::test]
async fn forty_concurrent_wrong_logins_get_at_most_the_limit_of_401s() {
    let app = spawn_app().await;
    app.signed_in_user("ada@example.com").await;
    let body = json!({"email": "ada@example.com", "password": WRONG});

    let statuses = concurrently(&app, 40, LOGIN, &body).await;

    let (unauthorized, limited) = (count(&statuses, 401), count(&statuses, 429));
    assert!(
        (1..=5).contains(&unauthorized),
        "{unauthorized} wrong passwords were checked: {statuses:?}"
    );
    assert_eq!(unauthorized + limited, 40, "{statuses:?}");
}

#[tokio::test]
async fn failures_spread_over_one_ipv6_64_share_one_limit() {
    let app = spawn_app_trusting_forwarded(&[]).await;
    app.signed_in_user("ada@example.com").await;

    let mut statuses = Vec::new();
    for host in 1..=10 {
        statuses.push(wrong_login_from(&app, &format!("2001:db8:7:1::{host:x}")).await);
    }

    assert_eq!(count(&statuses, 401), 5, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 5, "{statuses:?}");
    // The next /64 is another client.
    assert_eq!(wrong_login_from(&app, "2001:db8:7:2::1").await, 401);
}

#[tokio::test]
async fn the_account_ceiling_trips_across_addresses_and_tells_the_owner_once() {
    let app = spawn_app_trusting_forwarded(&[("KEEL_LOGIN_ACCOUNT_MAX_FAILURES", "8")]).await;
    app.signed_in_user("ada@example.com").await;
    for n in 1..=8 {
        assert_eq!(
            wrong_login_from(&app, &format!("198.51.100.{n}")).await,
            401
        );
    }
    assert_eq!(lockout_notices(&app).await, 0);

    // Locked: even the right password from a fresh address.
    let locked = app
        .post_json_from(
            "203.0.113.9",
            LOGIN,
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(wrong_login_from(&app, "203.0.113.10").await, 429);

    let notices = app.outbox_emails().await;
    let locked_mails: Vec<_> = notices
        .iter()
        .filter(|(_, template, _)| template == "account_locked")
        .collect();
    assert_eq!(locked_mails.len(), 1, "{notices:?}");
    assert_eq!(locked_mails[0].0, "ada@example.com");
    assert_eq!(locked_mails[0].2["minutes"], 15);
}

#[tokio::test]
async fn the_account_ceiling_answers_the_same_for_an_unknown_address_and_emails_no_one() {
    let app = spawn_app_trusting_forwarded(&[("KEEL_LOGIN_ACCOUNT_MAX_FAILURES", "3")]).await;
    for n in 1..=3 {
        assert_eq!(
            wrong_login_from(&app, &format!("198.51.100.{n}")).await,
            401
        );
    }

    assert_eq!(wrong_login_from(&app, "198.51.100.4").await, 429);
    assert_eq!(lockout_notices(&app).await, 0);
}

#[tokio::test]
async fn a_password_reset_unlocks_the_account() {
    let app = spawn_app_trusting_forwarded(&[("KEEL_LOGIN_ACCOUNT_MAX_FAILURES", "3")]).await;
    app.signed_in_user("ada@example.com").await;
    for n in 1..=4 {
        wrong_login_from(&app, &format!("198.51.100.{n}")).await;
    }
    let new_password = "quartz-lantern-meadow-58";
    let right = |password: &str| {
        app.post_json_from(
            "192.0.2.50",
            LOGIN,
            json!({"email": "ada@example.com", "password": password}),
        )
    };
    assert_eq!(right(PASSWORD).await.status(), 429, "locked");

    let forgot = app
        .post_json(
            "/api/v1/auth/password/forgot",
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert!(forgot.status().is_success());
    let token = app.emailed_token("ada@example.com", "password_reset").await;
    let reset = app
        .post_json_from(
            "192.0.2.50",
            "/api/v1/auth/password/reset",
            json!({"token": token, "new_password": new_password}),
        )
        .await;
    assert_eq!(reset.status(), 204);

    assert_eq!(right(new_password).await.status(), 200, "unlocked");
}

/// `user`'s wrong passwords at `path`, then the right one: the sixth attempt is refused.
async fn password_checks_are_limited(
    app: &TestApp,
    access: &str,
    method: reqwest::Method,
    path: &str,
    wrong: Value,
    right: Value,
) {
    let send = |body: &Value| {
        app.client
            .request(method.clone(), app.url(path))
            .bearer_auth(access)
            .json(body)
            .send()
    };
    for _ in 0..5 {
        let res = send(&wrong).await.expect("sent");
        assert_eq!(res.status(), 422, "{path}");
    }

    let limited = send(&right).await.expect("sent");

    assert_eq!(limited.status(), 429, "{path}");
    assert!(limited.headers().contains_key("retry-after"), "{path}");
}

#[tokio::test]
async fn wrong_current_passwords_on_password_change_are_limited_per_user() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    password_checks_are_limited(
        &app,
        &access,
        reqwest::Method::POST,
        "/api/v1/auth/password/change",
        json!({"current": WRONG, "new": "quartz-lantern-meadow-58"}),
        json!({"current": PASSWORD, "new": "quartz-lantern-meadow-58"}),
    )
    .await;
}

#[tokio::test]
async fn wrong_passwords_on_account_deletion_are_limited_per_user() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    password_checks_are_limited(
        &app,
        &access,
        reqwest::Method::DELETE,
        "/api/v1/users/me",
        json!({"password": WRONG}),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(
        app.get_authed("/api/v1/users/me", &access).await.status(),
        200
    );
}

#[tokio::test]
async fn wrong_passwords_on_two_factor_disable_are_limited_per_user() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let (secret, _) = app.enable_2fa(&access).await;
    let code = keel_shared::auth::totp::code_for_base32(&secret, crate::helpers::now_secs())
        .expect("code");
    password_checks_are_limited(
        &app,
        &access,
        reqwest::Method::POST,
        "/api/v1/auth/2fa/disable",
        json!({"password": WRONG, "code": code}),
        json!({"password": PASSWORD, "code": code}),
    )
    .await;
}

#[tokio::test]
async fn concurrent_wrong_passwords_behind_a_token_cannot_overrun_the_limit() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let (client, url, access) = (
            app.client.clone(),
            app.url("/api/v1/users/me"),
            access.clone(),
        );
        tasks.spawn(async move {
            client
                .delete(url)
                .bearer_auth(access)
                .json(&json!({"password": WRONG}))
                .send()
                .await
                .expect("sent")
                .status()
        });
    }

    let statuses = tasks.join_all().await;

    assert!((1..=5).contains(&count(&statuses, 422)), "{statuses:?}");
    assert_eq!(count(&statuses, 422) + count(&statuses, 429), 20);
}

#[tokio::test]
async fn the_oauth_start_is_limited_per_ip() {
    let profile = keel_shared::testing::FakeProfile {
        id: "4242".into(),
        email: Some("grace@example.com".into()),
        verified: true,
        name: "Grace Hopper".into(),
    };
    let fake = keel_shared::testing::FakeOAuthProvider::start("gh-client", "gh-secret", profile);
    let env = fake.env("github");
    let mut overrides: Vec<(&str, &str)> =
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    overrides.push(("KEEL_RATE_LIMIT_PER_IP", "3"));
    let app = spawn_app_with(&overrides).await;

    for _ in 0..3 {
        let res = app.get("/api/v1/auth/oauth/github/authorize").await;
        assert_eq!(res.status(), 200);
    }
    let limited = app.get("/api/v1/auth/oauth/github/authorize").await;

    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}
