//! Registration, email verification, profile, passwords and account deletion.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, problem, spawn_app};

#[tokio::test]
async fn register_creates_an_unverified_user_and_queues_a_verification_email() {
    let app = spawn_app().await;

    let res = app
        .post_json(
            "/api/v1/auth/register",
            json!({"email": " Ada@Example.com ", "password": PASSWORD, "name": "Ada"}),
        )
        .await;

    assert_eq!(res.status(), 202);
    let emails = app.outbox_emails().await;
    assert_eq!(emails.len(), 1);
    let (to, template, data) = &emails[0];
    assert_eq!(
        (to.as_str(), template.as_str()),
        ("ada@example.com", "verify_email")
    );
    assert!(
        data["link"]
            .as_str()
            .is_some_and(|l| l.starts_with("http://localhost:3000/verify-email?token="))
    );
    let (access, _) = app.login("ada@example.com", PASSWORD).await;
    let me: Value = app.me(&access).await;
    assert_eq!(me["email_verified"], false);
}

#[tokio::test]
async fn registering_a_taken_email_answers_the_same_and_notifies_the_owner() {
    let app = spawn_app().await;
    let body = json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"});
    let first = app.post_json("/api/v1/auth/register", body.clone()).await;
    let (first_status, first_body) = (first.status(), first.text().await.expect("body"));

    let second = app.post_json("/api/v1/auth/register", body).await;

    assert_eq!(second.status(), first_status);
    assert_eq!(second.text().await.expect("body"), first_body);
    let templates: Vec<String> = app
        .outbox_emails()
        .await
        .into_iter()
        .map(|(_, t, _)| t)
        .collect();
    assert_eq!(templates, ["verify_email", "account_exists"]);
}

#[tokio::test]
async fn register_names_the_field_that_breaks_a_rule() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"email": "nope", "password": PASSWORD, "name": "Ada"}),
            "email",
        ),
        (
            json!({"email": "ada@example.com", "password": "short", "name": "Ada"}),
            "password",
        ),
        (
            json!({"email": "ada@example.com", "password": "password1234", "name": "Ada"}),
            "password",
        ),
        (
            json!({"email": "ada.lovelace@example.com", "password": "lovelace1815", "name": "Ada Lovelace"}),
            "password",
        ),
        (
            json!({"email": "ada@example.com", "password": PASSWORD, "name": "  "}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let p = problem(
            app.post_json("/api/v1/auth/register", body.clone()).await,
            422,
        )
        .await;
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p}");
    }
    let missing = problem(
        app.post_json("/api/v1/auth/register", json!({"email": "a@b.co"}))
            .await,
        422,
    )
    .await;
    assert_eq!(missing["code"], "invalid_body");
    assert!(
        app.outbox_emails().await.is_empty(),
        "nothing was registered"
    );
}

#[tokio::test]
async fn a_verification_link_works_once() {
    let app = spawn_app().await;
    app.post_json(
        "/api/v1/auth/register",
        json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
    )
    .await;
    let token = app.emailed_token("ada@example.com", "verify_email").await;

    let first = app
        .post_json("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    let again = app
        .post_json("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    let garbage = app
        .post_json("/api/v1/auth/verify-email", json!({"token": "x"}))
        .await;

    assert_eq!(first.status(), 204);
    assert_eq!(problem(again, 422).await["errors"][0]["field"], "token");
    assert_eq!(problem(garbage, 422).await["errors"][0]["field"], "token");
    let (access, _) = app.login("ada@example.com", PASSWORD).await;
    let me: Value = app.me(&access).await;
    assert_eq!(me["email_verified"], true);
}

#[tokio::test]
async fn a_password_reset_sets_the_password_once_and_signs_out_every_session() {
    let app = spawn_app().await;
    let (access, refresh) = app.signed_in_user("ada@example.com").await;
    app.post_json(
        "/api/v1/auth/password/forgot",
        json!({"email": "ada@example.com"}),
    )
    .await;
    let token = app.emailed_token("ada@example.com", "password_reset").await;
    let new_password = "quartz-lantern-orbit-88";

    let res = app
        .post_json(
            "/api/v1/auth/password/reset",
            json!({"token": token, "new_password": new_password}),
        )
        .await;
    let reused = app
        .post_json(
            "/api/v1/auth/password/reset",
            json!({"token": token, "new_password": "another-fine-passphrase-9"}),
        )
        .await;

    assert_eq!(res.status(), 204);
    assert_eq!(problem(reused, 422).await["errors"][0]["field"], "token");
    assert_eq!(
        app.get_authed("/api/v1/users/me", &access).await.status(),
        401,
        "old session revoked"
    );
    let refreshed = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(refreshed.status(), 401);
    let old = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), 401);
    app.login("ada@example.com", new_password).await;
    assert!(
        app.outbox_emails()
            .await
            .iter()
            .any(|(_, t, _)| t == "password_changed")
    );
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_signs_out_the_others() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let (other_access, _) = app.login("ada@example.com", PASSWORD).await;
    let change = |current: &str, new: &str| {
        app.client
            .post(app.url("/api/v1/auth/password/change"))
            .bearer_auth(&access)
            .json(&json!({"current": current, "new": new}))
            .send()
    };

    let wrong = change("not-my-password-at-all", "quartz-lantern-orbit-88")
        .await
        .expect("sent");
    let weak = change(PASSWORD, "password1234").await.expect("sent");
    let ok = change(PASSWORD, "quartz-lantern-orbit-88")
        .await
        .expect("sent");

    assert_eq!(problem(wrong, 422).await["errors"][0]["field"], "current");
    assert_eq!(problem(weak, 422).await["errors"][0]["field"], "new");
    assert_eq!(ok.status(), 204);
    assert_eq!(
        app.get_authed("/api/v1/users/me", &access).await.status(),
        200
    );
    assert_eq!(
        app.get_authed("/api/v1/users/me", &other_access)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_removes_everything() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let delete = |password: &str| {
        app.client
            .delete(app.url("/api/v1/users/me"))
            .bearer_auth(&access)
            .json(&json!({"password": password}))
            .send()
    };

    let wrong = delete("not-my-password-at-all").await.expect("sent");
    let ok = delete(PASSWORD).await.expect("sent");

    assert_eq!(problem(wrong, 422).await["errors"][0]["field"], "password");
    assert_eq!(ok.status(), 204);
    assert_eq!(
        app.get_authed("/api/v1/users/me", &access).await.status(),
        401
    );
    let client = app.db.client().await;
    let left: i64 = client
        .query_one("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM user_tokens)", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn resend_sends_a_new_link_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    app.post_json(
        "/api/v1/auth/register",
        json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
    )
    .await;
    let old = app.emailed_token("ada@example.com", "verify_email").await;

    let res = app
        .post_json(
            "/api/v1/auth/resend-verification",
            json!({"email": "ada@example.com"}),
        )
        .await;
    let new = app.emailed_token("ada@example.com", "verify_email").await;

    assert_eq!(res.status(), 202);
    assert_ne!(old, new);
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", json!({"token": old}))
            .await
            .status(),
        422
    );
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", json!({"token": new}))
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn every_sign_in_queues_a_new_login_notice() {
    let app = spawn_app().await;
    app.signed_in_user("ada@example.com").await;

    let notices: Vec<Value> = app
        .outbox_emails()
        .await
        .into_iter()
        .filter(|(_, t, _)| t == "new_login")
        .map(|(_, _, data)| data)
        .collect();

    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["ip"], "127.0.0.1");
}
