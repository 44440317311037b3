//! The global request limit on `/api/v1`: every answer says where the client stands
//! (`RateLimit-*` and `X-RateLimit-*`), a client over it gets 429 with `Retry-After`, users
//! with a valid token are counted apart from addresses, a forged `X-Forwarded-For` from an
//! untrusted peer changes nothing, an endpoint's own limit describes itself on its 429, and
//! a Redis outage lets requests through (counted).

use std::time::Duration;

use serde_json::json;

use crate::helpers::{
    ProxiedApp, TestApp, problem, scrape, series, spawn_app, spawn_app_behind_proxies_with,
    spawn_app_with,
};

/// The client's quota as the answer states it: (limit, remaining, reset seconds). Checks that
/// the `X-` headers say the same.
fn quota(res: &reqwest::Response) -> (u32, u32, u64) {
    let read = |name: &str| -> u64 {
        let value = res
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing on a {} answer", res.status()))
            .to_str()
            .expect("ascii")
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let legacy = res
            .headers()
            .get(format!("x-{name}"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert_eq!(legacy, Some(value), "x-{name} differs from {name}");
        value
    };
    (
        u32::try_from(read("ratelimit-limit")).expect("u32"),
        u32::try_from(read("ratelimit-remaining")).expect("u32"),
        read("ratelimit-reset"),
    )
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

/// An anonymous request that reaches no handler of consequence.
async fn anonymous(app: &TestApp) -> reqwest::Response {
    app.get("/api/v1/users/me").await
}

async fn from(app: &TestApp, x_forwarded_for: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/users/me"))
        .header("x-forwarded-for", x_forwarded_for)
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn every_api_answer_carries_the_rate_limit_headers_and_remaining_decreases() {
    let app = spawn_app().await;

    let unauthorized = anonymous(&app).await;
    let not_found = app.get("/api/v1/no/such/thing").await;
    let invalid = app
        .post_json("/api/v1/auth/login", json!({"email": "not-an-address"}))
        .await;

    assert_eq!(unauthorized.status(), 401);
    assert_eq!(not_found.status(), 404);
    assert_eq!(invalid.status(), 422);
    let (limit, first, reset) = quota(&unauthorized);
    assert_eq!(limit, 300, "KEEL_GLOBAL_RATE_LIMIT_PER_IP's default");
    assert!((1..=60).contains(&reset), "{reset}");
    assert_eq!(first, 299);
    assert_eq!(quota(&not_found).1, 298);
    assert_eq!(quota(&invalid).1, 297);
    let healthz = app.get("/healthz").await;
    assert!(
        healthz.headers().get("ratelimit-limit").is_none(),
        "only /api/v1 is limited"
    );
}

#[tokio::test]
async fn a_successful_answer_carries_the_headers_of_the_users_bucket() {
    let app = spawn_app_with(&[("KEEL_GLOBAL_RATE_LIMIT_PER_USER", "40")]).await;
    let (access, _) = app.signed_in_user("ada@example.com").await;

    let res = app.get_authed("/api/v1/users/me", &access).await;

    assert_eq!(res.status(), 200);
    let (limit, remaining, _) = quota(&res);
    assert_eq!((limit, remaining), (40, 39));
}

#[tokio::test]
async fn over_the_limit_the_answer_is_a_429_problem_with_retry_after() {
    let app = spawn_app_with(&[
        ("KEEL_GLOBAL_RATE_LIMIT_PER_IP", "3"),
        ("KEEL_GLOBAL_RATE_LIMIT_WINDOW_SECS", "120"),
    ])
    .await;
    for left in [2, 1, 0] {
        let res = anonymous(&app).await;
        assert_eq!(res.status(), 401);
        assert_eq!(quota(&res).1, left);
    }

    let res = app
        .post_json(
            "/api/v1/auth/register",
            json!({"email": "late@example.com", "password": crate::helpers::PASSWORD, "name": "Late"}),
        )
        .await;

    assert_eq!(res.status(), 429);
    let (limit, remaining, reset) = quota(&res);
    assert_eq!((limit, remaining), (3, 0));
    assert!((60..=120).contains(&reset), "{reset}");
    assert_eq!(retry_after(&res), reset);
    let body = problem(res, 429).await;
    assert_eq!(body["code"], "rate_limited");
    assert!(
        app.outbox_emails().await.is_empty(),
        "the refused request never reached its handler"
    );
}

#[tokio::test]
async fn signed_in_users_are_counted_apart_from_their_address_and_from_each_other() {
    let app = spawn_app_with(&[
        ("KEEL_GLOBAL_RATE_LIMIT_PER_IP", "10"),
        ("KEEL_GLOBAL_RATE_LIMIT_PER_USER", "3"),
    ])
    .await;
    // Register, verify and log in: three anonymous requests each.
    let (ada, _) = app.signed_in_user("ada@example.com").await;
    let (bob, _) = app.signed_in_user("bob@example.com").await;

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.get_authed("/api/v1/users/me", &ada).await.status());
    }
    let bobs = app.get_authed("/api/v1/users/me", &bob).await;
    let address = anonymous(&app).await;
    let forged = app.get_authed("/api/v1/users/me", "not.a.token").await;

    assert_eq!(statuses, [200, 200, 200, 429], "ada's own bucket of 3");
    assert_eq!(bobs.status(), 200);
    assert_eq!((quota(&bobs).0, quota(&bobs).1), (3, 2), "bob's own bucket");
    assert_eq!(
        (quota(&address).0, quota(&address).1),
        (10, 3),
        "the address counted only the 6 sign-in requests and this one"
    );
    assert_eq!(forged.status(), 401);
    assert_eq!(
        (quota(&forged).0, quota(&forged).1),
        (10, 2),
        "an invalid token is counted by address"
    );
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_does_not_change_the_bucket() {
    let app = spawn_app_with(&[
        ("KEEL_TRUSTED_PROXIES", "10.0.0.0/8"),
        ("KEEL_GLOBAL_RATE_LIMIT_PER_IP", "3"),
    ])
    .await;

    let mut statuses = Vec::new();
    for i in 0..5 {
        statuses.push(from(&app, &format!("198.51.100.{i}")).await.status());
    }

    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_bucket() {
    // Loopback (the test client) is a trusted proxy by default.
    let app = spawn_app_with(&[("KEEL_GLOBAL_RATE_LIMIT_PER_IP", "3")]).await;
    for _ in 0..3 {
        assert_eq!(from(&app, "198.51.100.1").await.status(), 401);
    }
    assert_eq!(from(&app, "198.51.100.1").await.status(), 429);

    let other = from(&app, "198.51.100.2").await;
    let same_64 = from(&app, "2001:db8:5:6::1").await;
    let neighbour = from(&app, "2001:db8:5:6::2").await;

    assert_eq!(other.status(), 401);
    assert_eq!(quota(&other).1, 2);
    assert_eq!(quota(&same_64).1, 2);
    assert_eq!(
        quota(&neighbour).1,
        1,
        "IPv6 clients share their /64's bucket"
    );
}

#[tokio::test]
async fn an_endpoint_limits_429_describes_that_limit_and_the_global_headers_resume() {
    let app = spawn_app_with(&[("KEEL_LOGIN_MAX_FAILURES", "2")]).await;
    let wrong = || {
        app.post_json(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": "wrong-password-here"}),
        )
    };
    assert_eq!(wrong().await.status(), 401);
    assert_eq!(wrong().await.status(), 401);
    let before = scrape(&app).await;

    let refused = wrong().await;
    let next = anonymous(&app).await;

    assert_eq!(refused.status(), 429);
    let (limit, remaining, reset) = quota(&refused);
    assert_eq!((limit, remaining), (2, 0), "the login limit refused");
    assert_eq!(reset, retry_after(&refused));
    assert!(reset > 60, "the login window, not the global one: {reset}");
    assert_eq!(
        (quota(&next).0, quota(&next).1),
        (300, 296),
        "the global count went on"
    );
    let after = scrape(&app).await;
    let endpoint = r#"keel_api_rate_limited_total{limit="endpoint"}"#;
    assert_eq!(series(&after, endpoint) - series(&before, endpoint), 1.0);
}

#[tokio::test]
async fn a_global_refusal_is_counted_in_the_metrics() {
    let app = spawn_app_with(&[("KEEL_GLOBAL_RATE_LIMIT_PER_IP", "1")]).await;
    let global = r#"keel_api_rate_limited_total{limit="global"}"#;
    let before = series(&scrape(&app).await, global);

    assert_eq!(anonymous(&app).await.status(), 401);
    assert_eq!(anonymous(&app).await.status(), 429);
    assert_eq!(anonymous(&app).await.status(), 429);

    assert_eq!(series(&scrape(&app).await, global) - before, 2.0);
}

const FAIL_OPEN: &str = "keel_api_rate_limit_fail_open_total";

#[tokio::test]
async fn with_redis_cut_requests_are_served_uncounted_and_counted_as_fail_open() {
    let ProxiedApp {
        app,
        postgres: _postgres,
        redis,
    } = spawn_app_behind_proxies_with(&[("KEEL_GLOBAL_RATE_LIMIT_PER_USER", "50")]).await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let counted = app.get_authed("/api/v1/users/me", &access).await;
    assert_eq!(quota(&counted).1, 49);
    let before = series(&scrape(&app).await, FAIL_OPEN);

    redis.cut();
    let res = app.get_authed("/api/v1/users/me", &access).await;

    assert_eq!(res.status(), 200, "served without Redis");
    assert_eq!(
        (quota(&res).0, quota(&res).1),
        (50, 50),
        "nothing was counted"
    );
    assert_eq!(series(&scrape(&app).await, FAIL_OPEN) - before, 1.0);

    redis.restore();
    let res = app.get_authed("/api/v1/users/me", &access).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        quota(&res).1,
        48,
        "counting resumes where it was, the outage uncounted"
    );
}

#[tokio::test]
async fn with_redis_hung_requests_are_served_within_a_bounded_delay() {
    let ProxiedApp {
        app,
        postgres: _postgres,
        redis,
    } = spawn_app_behind_proxies_with(&[]).await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let before = series(&scrape(&app).await, FAIL_OPEN);

    redis.hold();
    let started = std::time::Instant::now();
    let res = app.get_authed("/api/v1/users/me", &access).await;

    assert_eq!(res.status(), 200, "served without Redis");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "waited {:?} for Redis (KEEL_GLOBAL_RATE_LIMIT_TIMEOUT_MS: 100)",
        started.elapsed()
    );
    assert_eq!(series(&scrape(&app).await, FAIL_OPEN) - before, 1.0);
    redis.restore();
}
