//! Changing the email: re-authentication, verification, the notice and undo link to the
//! previous address, taken addresses, and the links it invalidates.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, problem, spawn_app};

#[tokio::test]
async fn an_email_change_takes_effect_only_once_the_new_address_is_verified() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let patch = |body: Value| {
        app.client
            .patch(app.url("/api/v1/users/me"))
            .bearer_auth(&access)
            .json(&body)
            .send()
    };

    let res = patch(json!({"name": "Countess", "email": "countess@example.com"}))
        .await
        .expect("sent");
    let me: Value = res.json().await.expect("json");
    assert_eq!(me["name"], "Countess");
    assert_eq!(me["email"], "ada@example.com", "unchanged until verified");

    let token = app
        .emailed_token("countess@example.com", "verify_email")
        .await;
    let verified = app
        .post_json("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(verified.status(), 204);
    let me: Value = app.me(&access).await;
    assert_eq!(me["email"], "countess@example.com");

    let bad = patch(json!({"email": "no"})).await.expect("sent");
    assert_eq!(problem(bad, 422).await["errors"][0]["field"], "email");
}

#[tokio::test]
async fn an_email_change_to_a_taken_address_reveals_nothing_and_tells_that_address() {
    let app = spawn_app().await;
    app.signed_in_user("grace@example.com").await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let before = app.outbox_emails().await.len();

    let res = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(&access)
        .json(&json!({"email": "grace@example.com", "current_password": PASSWORD}))
        .send()
        .await
        .expect("sent");

    assert_eq!(res.status(), 200, "the same answer as for a free address");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["email"], "ada@example.com");
    let sent: Vec<(String, String)> = app.outbox_emails().await[before..]
        .iter()
        .map(|(to, template, _)| (to.clone(), template.clone()))
        .collect();
    assert_eq!(
        sent,
        [("grace@example.com".to_owned(), "address_in_use".to_owned())]
    );
}

/// `PATCH /users/me` with `body` as the holder of `access`.
async fn patch_me(app: &TestApp, access: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(access)
        .json(&body)
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn an_email_change_needs_the_current_password_or_a_recent_sign_in() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    app.age_sessions("ada@example.com").await;

    let bare = patch_me(&app, &access, json!({"email": "ada@new.example"})).await;
    let wrong = patch_me(
        &app,
        &access,
        json!({"email": "ada@new.example", "current_password": "not-my-password-at-all"}),
    )
    .await;
    let name_only = patch_me(&app, &access, json!({"name": "Ada King"})).await;
    let right = patch_me(
        &app,
        &access,
        json!({"email": "ada@new.example", "current_password": PASSWORD}),
    )
    .await;

    assert_eq!(
        problem(bare, 403).await["code"],
        "reauthentication_required"
    );
    assert_eq!(
        problem(wrong, 422).await["errors"][0]["field"],
        "current_password"
    );
    assert_eq!(name_only.status(), 200, "a name change needs no password");
    assert_eq!(right.status(), 200);
    app.emailed_token("ada@new.example", "verify_email").await;
}

#[tokio::test]
async fn an_email_change_tells_the_old_address_which_can_undo_it() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let res = patch_me(
        &app,
        &access,
        json!({"email": "ada@new.example", "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let token = app.emailed_token("ada@new.example", "verify_email").await;
    let res = app
        .post_json("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.me(&access).await["email"], "ada@new.example");

    // The old address got a notice with an undo link.
    let emails = app.outbox_emails().await;
    let (_, _, notice) = emails
        .iter()
        .rev()
        .find(|(to, template, _)| to == "ada@example.com" && template == "email_changed")
        .expect("a notice to the old address");
    assert_eq!(notice["new_email"], "ada@new.example");
    let undo = app.emailed_token("ada@example.com", "email_changed").await;

    let res = app
        .post_json("/api/v1/auth/email-change/undo", json!({"token": undo}))
        .await;
    assert_eq!(res.status(), 204);
    // Back on the old address; whoever changed it is signed out.
    assert_eq!(
        app.get_authed("/api/v1/users/me", &access).await.status(),
        401
    );
    let (access, _) = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(app.me(&access).await["email"], "ada@example.com");
    // The link works once.
    let again = app
        .post_json("/api/v1/auth/email-change/undo", json!({"token": undo}))
        .await;
    assert_eq!(problem(again, 422).await["errors"][0]["field"], "token");
}

#[tokio::test]
async fn a_reset_link_stops_working_once_the_password_is_changed() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let res = app
        .post_json(
            "/api/v1/auth/password/forgot",
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let reset = app.emailed_token("ada@example.com", "password_reset").await;

    let res = app
        .client
        .post(app.url("/api/v1/auth/password/change"))
        .bearer_auth(&access)
        .json(&json!({"current": PASSWORD, "new": "quartz-lantern-orbit-93"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 204);

    let res = app
        .post_json(
            "/api/v1/auth/password/reset",
            json!({"token": reset, "new_password": "amber-harbor-cinder-58"}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "token");
}

#[tokio::test]
async fn a_reset_link_stops_working_once_the_email_is_changed() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    app.post_json(
        "/api/v1/auth/password/forgot",
        json!({"email": "ada@example.com"}),
    )
    .await;
    let reset = app.emailed_token("ada@example.com", "password_reset").await;
    patch_me(
        &app,
        &access,
        json!({"email": "ada@new.example", "current_password": PASSWORD}),
    )
    .await;
    let token = app.emailed_token("ada@new.example", "verify_email").await;
    app.post_json("/api/v1/auth/verify-email", json!({"token": token}))
        .await;

    let res = app
        .post_json(
            "/api/v1/auth/password/reset",
            json!({"token": reset, "new_password": "amber-harbor-cinder-58"}),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "token");
}

#[tokio::test]
async fn email_changes_are_limited_per_user() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;

    let mut statuses = Vec::new();
    for n in 0..7 {
        let res = patch_me(
            &app,
            &access,
            json!({"email": format!("ada{n}@new.example"), "current_password": PASSWORD}),
        )
        .await;
        statuses.push(res.status().as_u16());
    }

    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
}
