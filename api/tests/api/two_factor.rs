//! TOTP two-factor authentication: setup, enable, login with a code or a recovery code,
//! replay guard, disable.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, now_secs, spawn_app};

async fn post_authed(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("sent")
}

/// Signs in, sets up and enables 2FA; returns (access token, base32 secret, recovery codes).
async fn user_with_2fa(app: &TestApp) -> (String, String, Vec<String>) {
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let (secret, codes) = app.enable_2fa(&access).await;
    assert_eq!(codes.len(), 10);
    (access, secret, codes)
}

#[tokio::test]
async fn setup_returns_the_secret_as_an_otpauth_uri_and_a_qr_code() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;

    let setup: Value = post_authed(&app, "/api/v1/auth/2fa/setup", &access, json!({}))
        .await
        .json()
        .await
        .expect("json");

    assert!(
        setup["otpauth_uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("otpauth://totp/"))
    );
    assert!(
        setup["qr_code"]
            .as_str()
            .is_some_and(|q| q.starts_with("data:image/svg+xml;base64,"))
    );
}

async fn mfa_token(app: &TestApp) -> String {
    let res = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none());
    body["mfa_token"].as_str().expect("mfa token").to_owned()
}

#[tokio::test]
async fn with_2fa_on_login_needs_a_code_and_each_code_works_once() {
    let app = spawn_app().await;
    let (_, secret, _) = user_with_2fa(&app).await;
    let code = keel_shared::auth::totp::code_for_base32(&secret, now_secs()).expect("code");

    let mfa = mfa_token(&app).await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login/2fa",
            json!({"mfa_token": mfa, "code": "000000"}),
        )
        .await;
    let ok = app
        .post_json(
            "/api/v1/auth/login/2fa",
            json!({"mfa_token": mfa, "code": code}),
        )
        .await;
    let mfa_again = mfa_token(&app).await;
    let replay = app
        .post_json(
            "/api/v1/auth/login/2fa",
            json!({"mfa_token": mfa_again, "code": code}),
        )
        .await;
    let used_token = app
        .post_json(
            "/api/v1/auth/login/2fa",
            json!({"mfa_token": mfa, "code": code}),
        )
        .await;

    assert_eq!(wrong.status(), 422);
    assert_eq!(ok.status(), 200);
    let tokens: Value = ok.json().await.expect("json");
    assert_eq!(
        app.get_authed(
            "/api/v1/users/me",
            tokens["access_token"].as_str().expect("a")
        )
        .await
        .status(),
        200
    );
    assert_eq!(replay.status(), 422, "a code is accepted once");
    let replay: Value = replay.json().await.expect("json");
    assert_eq!(replay["errors"][0]["field"], "code");
    let used: Value = used_token.json().await.expect("json");
    assert_eq!(used["errors"][0]["field"], "mfa_token");
}

#[tokio::test]
async fn a_recovery_code_completes_a_login_once() {
    let app = spawn_app().await;
    let (_, _, codes) = user_with_2fa(&app).await;

    let first = app
        .post_json(
            "/api/v1/auth/login/2fa",
            json!({"mfa_token": mfa_token(&app).await, "recovery_code": codes[0].to_uppercase()}),
        )
        .await;
    let again = app
        .post_json(
            "/api/v1/auth/login/2fa",
            json!({"mfa_token": mfa_token(&app).await, "recovery_code": codes[0]}),
        )
        .await;

    assert_eq!(first.status(), 200);
    assert_eq!(again.status(), 422);
}

#[tokio::test]
async fn wrong_codes_are_rate_limited() {
    let app = spawn_app().await;
    user_with_2fa(&app).await;
    let mfa = mfa_token(&app).await;

    for _ in 0..5 {
        let res = app
            .post_json(
                "/api/v1/auth/login/2fa",
                json!({"mfa_token": mfa, "code": "000000"}),
            )
            .await;
        assert_eq!(res.status(), 422);
    }
    let limited = app
        .post_json(
            "/api/v1/auth/login/2fa",
            json!({"mfa_token": mfa, "code": "000000"}),
        )
        .await;

    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn concurrent_wrong_codes_cannot_overrun_the_limit() {
    let app = spawn_app().await;
    user_with_2fa(&app).await;
    let mfa = mfa_token(&app).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, url) = (app.client.clone(), app.url("/api/v1/auth/login/2fa"));
        let body = json!({"mfa_token": mfa, "code": "000000"});
        tasks.spawn(async move {
            let res = client.post(url).json(&body).send().await.expect("sent");
            res.status().as_u16()
        });
    }

    let statuses = tasks.join_all().await;

    let wrong = statuses.iter().filter(|s| **s == 422).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!((1..=5).contains(&wrong), "{statuses:?}");
    assert_eq!(wrong + limited, 20, "{statuses:?}");
}

#[tokio::test]
async fn enabling_twice_or_without_setup_is_a_conflict_and_a_bad_code_is_refused() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;

    let no_setup = post_authed(
        &app,
        "/api/v1/auth/2fa/enable",
        &access,
        json!({"code": "123456"}),
    )
    .await;
    assert_eq!(no_setup.status(), 409);
    post_authed(&app, "/api/v1/auth/2fa/setup", &access, json!({})).await;
    let bad = post_authed(
        &app,
        "/api/v1/auth/2fa/enable",
        &access,
        json!({"code": "12ab56"}),
    )
    .await;
    assert_eq!(bad.status(), 422);

    let app2 = spawn_app().await;
    let (access2, _, _) = user_with_2fa(&app2).await;
    let again = post_authed(&app2, "/api/v1/auth/2fa/setup", &access2, json!({})).await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn disabling_needs_the_password_and_a_code_then_login_is_one_step_again() {
    let app = spawn_app().await;
    let (access, secret, _) = user_with_2fa(&app).await;
    let code = keel_shared::auth::totp::code_for_base32(&secret, now_secs()).expect("code");

    let wrong_password = post_authed(
        &app,
        "/api/v1/auth/2fa/disable",
        &access,
        json!({"password": "not-the-password", "code": code}),
    )
    .await;
    let ok = post_authed(
        &app,
        "/api/v1/auth/2fa/disable",
        &access,
        json!({"password": PASSWORD, "code": code}),
    )
    .await;

    assert_eq!(wrong_password.status(), 422);
    assert_eq!(ok.status(), 204);
    app.login("ada@example.com", PASSWORD).await;
    let templates: Vec<String> = app
        .outbox_emails()
        .await
        .into_iter()
        .map(|(_, t, _)| t)
        .collect();
    assert!(
        templates.contains(&"two_factor_enabled".to_owned())
            && templates.contains(&"two_factor_disabled".to_owned())
    );
}

#[tokio::test]
async fn two_factor_setup_and_enable_need_the_password_or_a_recent_sign_in() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    app.age_sessions("ada@example.com").await;

    let bare = post_authed(&app, "/api/v1/auth/2fa/setup", &access, json!({})).await;
    let wrong = post_authed(
        &app,
        "/api/v1/auth/2fa/setup",
        &access,
        json!({"password": "not-my-password-at-all"}),
    )
    .await;
    let right = post_authed(
        &app,
        "/api/v1/auth/2fa/setup",
        &access,
        json!({"password": PASSWORD}),
    )
    .await;

    assert_eq!(bare.status(), 403);
    let body: Value = bare.json().await.expect("json");
    assert_eq!(body["code"], "reauthentication_required");
    assert_eq!(wrong.status(), 422);
    assert_eq!(right.status(), 200);
    let setup: Value = right.json().await.expect("json");
    let secret = setup["secret"].as_str().expect("secret");
    let code = keel_shared::auth::totp::code_for_base32(secret, now_secs()).expect("code");
    let enable_bare = post_authed(
        &app,
        "/api/v1/auth/2fa/enable",
        &access,
        json!({"code": code}),
    )
    .await;
    assert_eq!(enable_bare.status(), 403);
    let enable = post_authed(
        &app,
        "/api/v1/auth/2fa/enable",
        &access,
        json!({"code": code, "password": PASSWORD}),
    )
    .await;
    assert_eq!(enable.status(), 200);
}

#[tokio::test]
async fn signing_out_another_session_needs_a_recent_sign_in() {
    let app = spawn_app().await;
    let (first, _) = app.signed_in_user("ada@example.com").await;
    let (second, _) = app.login("ada@example.com", PASSWORD).await;
    let sessions: Value = app
        .get_authed("/api/v1/auth/sessions", &second)
        .await
        .json()
        .await
        .expect("json");
    let other = sessions
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["current"] == false)
        .expect("the first session")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.age_sessions("ada@example.com").await;
    let delete = |id: String| {
        app.client
            .delete(app.url(&format!("/api/v1/auth/sessions/{id}")))
            .bearer_auth(&second)
            .send()
    };

    let stale = delete(other.clone()).await.expect("sent");
    assert_eq!(stale.status(), 403);
    assert_eq!(
        app.get_authed("/api/v1/users/me", &first).await.status(),
        200
    );

    // A fresh sign-in may.
    let (fresh, _) = app.login("ada@example.com", PASSWORD).await;
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{other}")))
        .bearer_auth(&fresh)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.get_authed("/api/v1/users/me", &first).await.status(),
        401
    );
}
