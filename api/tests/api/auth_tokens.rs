//! Login, access tokens, refresh rotation with theft detection, logout, sessions, limits.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn login_answers_a_bearer_token_pair() {
    let app = spawn_app().await;
    app.signed_in_user("ada@example.com").await;

    let res = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "ADA@example.com", "password": PASSWORD}),
        )
        .await;

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let me: Value = app
        .get_authed(
            "/api/v1/users/me",
            body["access_token"].as_str().expect("token"),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["name"], "Ada Lovelace");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    app.signed_in_user("ada@example.com").await;

    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": "nope-nope-nope"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "who@example.com", "password": "nope-nope-nope"}),
        )
        .await;

    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        wrong.text().await.expect("b"),
        unknown.text().await.expect("b")
    );
}

#[tokio::test]
async fn protected_endpoints_refuse_bad_tokens_with_401_and_www_authenticate() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let forged = {
        // Same claims, another key: a token some other deployment signed.
        let keys = keel_shared::auth::jwt::JwtKeys::new(
            &[(
                "k0".into(),
                secrecy::SecretString::from("a-completely-different-signing-secret!!"),
            )],
            std::time::Duration::from_secs(900),
            "keel",
            "keel-api",
        );
        keys.issue(
            keel_shared::domain::UserId::new(),
            keel_shared::domain::SessionId::new(),
        )
        .expect("issue")
    };
    // The right key and claims, but minted for another service sharing the key.
    let other_audience = {
        let key = [(
            "k0".to_owned(),
            secrecy::SecretString::from(keel_shared::config::DEVELOPMENT_SECRET_KEY),
        )];
        let ttl = std::time::Duration::from_secs(900);
        let ours = keel_shared::auth::jwt::JwtKeys::new(&key, ttl, "keel", "keel-api");
        let claims = ours
            .verify(&access)
            .expect("the app signs with the test key");
        let theirs = keel_shared::auth::jwt::JwtKeys::new(&key, ttl, "keel", "another-service");
        theirs.issue(claims.sub, claims.sid).expect("issue")
    };
    let tampered = format!("{}x", &access[..access.len() - 1]);

    for (label, header) in [
        ("missing", None),
        ("not bearer", Some(format!("Basic {access}"))),
        ("malformed", Some("Bearer abc.def".to_owned())),
        ("forged", Some(format!("Bearer {forged}"))),
        ("other audience", Some(format!("Bearer {other_audience}"))),
        ("tampered", Some(format!("Bearer {tampered}"))),
    ] {
        let mut req = app.client.get(app.url("/api/v1/users/me"));
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let res = req.send().await.expect("sent");
        assert_eq!(res.status(), 401, "{label}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{label}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["code"], "unauthorized", "{label}");
    }
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let app = spawn_app_with(&[("KEEL_ACCESS_TOKEN_TTL_SECS", "1")]).await;
    let (access, _) = app.signed_in_user("ada@example.com").await;

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = app.get_authed("/api/v1/users/me", &access).await;

    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.expect("json");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("expired")),
        "{body}"
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_session() {
    let app = spawn_app().await;
    let (_, first) = app.signed_in_user("ada@example.com").await;

    let rotated = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(rotated.status(), 200);
    let body: Value = rotated.json().await.expect("json");
    let (access, second) = (
        body["access_token"].as_str().expect("a").to_owned(),
        body["refresh_token"].as_str().expect("r").to_owned(),
    );
    assert_ne!(second, first);
    assert_eq!(
        app.get_authed("/api/v1/users/me", &access).await.status(),
        200
    );

    // The first token again: theft. The whole session goes.
    let reused = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(reused.status(), 401);
    let after = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": second}))
        .await;
    assert_eq!(after.status(), 401, "the thief's rotated token is dead too");
    assert_eq!(
        app.get_authed("/api/v1/users/me", &access).await.status(),
        401
    );
}

#[tokio::test]
async fn logout_revokes_the_session_and_is_idempotent() {
    let app = spawn_app().await;
    let (access, refresh) = app.signed_in_user("ada@example.com").await;

    let first = app
        .post_json("/api/v1/auth/logout", json!({"refresh_token": refresh}))
        .await;
    let second = app
        .post_json("/api/v1/auth/logout", json!({"refresh_token": refresh}))
        .await;

    assert_eq!(
        (first.status(), second.status()),
        (
            reqwest::StatusCode::NO_CONTENT,
            reqwest::StatusCode::NO_CONTENT
        )
    );
    assert_eq!(
        app.get_authed("/api/v1/users/me", &access).await.status(),
        401
    );
    let refreshed = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(refreshed.status(), 401);
}

#[tokio::test]
async fn sessions_are_listed_and_one_can_be_revoked() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let (other, _) = app.login("ada@example.com", PASSWORD).await;

    let list: Vec<Value> = app
        .get_authed("/api/v1/auth/sessions", &access)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let other_id = list.iter().find(|s| s["current"] == false).expect("other")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let delete = |id: String| {
        app.client
            .delete(app.url(&format!("/api/v1/auth/sessions/{id}")))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(delete(other_id.clone()).await.expect("sent").status(), 204);
    assert_eq!(
        app.get_authed("/api/v1/users/me", &other).await.status(),
        401
    );
    assert_eq!(
        delete(other_id).await.expect("sent").status(),
        404,
        "already revoked"
    );
    assert_eq!(
        delete(uuid::Uuid::new_v4().to_string())
            .await
            .expect("sent")
            .status(),
        404
    );
    assert_eq!(
        delete("not-a-uuid".into()).await.expect("sent").status(),
        404
    );
}

#[tokio::test]
async fn login_answers_429_after_five_failures_for_an_account_and_ip() {
    let app = spawn_app().await;
    app.signed_in_user("ada@example.com").await;
    let attempt = |password: &str| {
        app.post_json(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": password}),
        )
    };

    for _ in 0..5 {
        assert_eq!(attempt("wrong-password-here").await.status(), 401);
    }
    let limited = attempt(PASSWORD).await;

    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.expect("json");
    assert_eq!(body["code"], "rate_limited");
}

#[tokio::test]
async fn a_successful_login_clears_the_failure_count() {
    let app = spawn_app().await;
    app.signed_in_user("ada@example.com").await;
    for _ in 0..4 {
        app.post_json(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": "wrong-password-here"}),
        )
        .await;
    }
    app.login("ada@example.com", PASSWORD).await;

    for _ in 0..4 {
        let res = app
            .post_json(
                "/api/v1/auth/login",
                json!({"email": "ada@example.com", "password": "wrong-password-here"}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn a_refresh_after_the_idle_timeout_fails_but_use_keeps_a_session_alive() {
    let app = spawn_app_with(&[("KEEL_SESSION_IDLE_TIMEOUT_SECS", "2")]).await;
    let (_, mut refresh) = app.signed_in_user("ada@example.com").await;
    let rotate = |token: String| {
        let app = &app;
        async move {
            app.post_json("/api/v1/auth/refresh", json!({"refresh_token": token}))
                .await
        }
    };

    // Used every 1.2 s: 3.6 s in all, longer than the idle timeout.
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let res = rotate(refresh).await;
        assert_eq!(res.status(), 200, "used within the idle window");
        let body: Value = res.json().await.expect("json");
        refresh = body["refresh_token"].as_str().expect("r").to_owned();
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let idle = rotate(refresh).await;

    assert_eq!(idle.status(), 401);
}

#[tokio::test]
async fn a_refresh_after_the_absolute_lifetime_fails_however_much_the_session_is_used() {
    let app = spawn_app_with(&[("KEEL_SESSION_ABSOLUTE_TIMEOUT_SECS", "3")]).await;
    let (_, mut refresh) = app.signed_in_user("ada@example.com").await;

    let mut statuses = Vec::new();
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        let res = app
            .post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh}))
            .await;
        statuses.push(res.status().as_u16());
        if res.status() == 200 {
            let body: Value = res.json().await.expect("json");
            refresh = body["refresh_token"].as_str().expect("r").to_owned();
        }
    }

    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert_eq!(statuses[3], 401, "{statuses:?}");
}
