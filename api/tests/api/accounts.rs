//! Registration, email verification, profile, passwords and account deletion.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};

async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.expect("json")
}

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
async fn resend_and_forgot_answer_the_same_for_unknown_addresses() {
    let app = spawn_app().await;
    app.signed_in_user("ada@example.com").await;

    for path in [
        "/api/v1/auth/resend-verification",
        "/api/v1/auth/password/forgot",
    ] {
        let known = app
            .post_json(path, json!({"email": "ada@example.com"}))
            .await;
        let unknown = app
            .post_json(path, json!({"email": "nobody@example.com"}))
            .await;
        assert_eq!(known.status(), 202, "{path}");
        assert_eq!(unknown.status(), 202, "{path}");
        assert_eq!(
            known.text().await.expect("b"),
            unknown.text().await.expect("b"),
            "{path}"
        );
    }
    let to_nobody = app
        .outbox_emails()
        .await
        .into_iter()
        .filter(|(to, _, _)| to == "nobody@example.com")
        .count();
    assert_eq!(to_nobody, 0);
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

/// Makes every session of `email` look as if it signed in an hour ago.
async fn age_sessions(app: &TestApp, email: &str) {
    app.db
        .client()
        .await
        .execute(
            "UPDATE sessions SET created_at = now() - interval '1 hour'
             WHERE user_id = (SELECT id FROM users WHERE email = $1)",
            &[&email],
        )
        .await
        .expect("aged");
}

#[tokio::test]
async fn an_email_change_needs_the_current_password_or_a_recent_sign_in() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    age_sessions(&app, "ada@example.com").await;

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
async fn emails_to_one_address_are_limited_whether_or_not_it_has_an_account() {
    let app = spawn_app().await;

    for _ in 0..5 {
        let res = app
            .post_json(
                "/api/v1/auth/password/forgot",
                json!({"email": "nobody@example.com"}),
            )
            .await;
        assert_eq!(res.status(), 202);
    }
    let limited = app
        .post_json(
            "/api/v1/auth/password/forgot",
            json!({"email": "nobody@example.com"}),
        )
        .await;

    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
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

#[tokio::test]
async fn no_emailed_link_token_is_ever_written_to_the_outbox() {
    let app = spawn_app().await;
    app.post_json(
        "/api/v1/auth/register",
        json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
    )
    .await;
    app.post_json(
        "/api/v1/auth/password/forgot",
        json!({"email": "ada@example.com"}),
    )
    .await;

    // What the request wrote, before any worker made the links.
    let raw: Vec<Value> = app
        .db
        .client()
        .await
        .query("SELECT envelope FROM job_outbox ORDER BY id", &[])
        .await
        .expect("outbox")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(raw.len(), 2);
    for envelope in &raw {
        assert_eq!(envelope["name"], "send_email_link");
        let text = envelope.to_string();
        assert!(
            !text.contains("token") && !text.contains("link\":"),
            "{text}"
        );
    }
    // The links work once made (as the worker makes them).
    app.emailed_token("ada@example.com", "password_reset").await;
}

/// The median of `samples` (milliseconds).
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::test]
async fn forgot_and_resend_take_as_long_for_an_unknown_address_as_for_an_account() {
    let app = spawn_app_with(&[("KEEL_RATE_LIMIT_PER_IP", "100000")]).await;
    app.db
        .client()
        .await
        .execute(
            "INSERT INTO users (id, email, name)
             SELECT gen_random_uuid(), 'known' || n || '@example.com', 'User'
             FROM generate_series(1, 50) AS n",
            &[],
        )
        .await
        .expect("users");
    for endpoint in [
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/resend-verification",
    ] {
        let app = &app;
        let timed = |email: String| async move {
            let started = std::time::Instant::now();
            let res = app.post_json(endpoint, json!({"email": email})).await;
            assert_eq!(res.status(), 202);
            started.elapsed().as_secs_f64() * 1000.0
        };
        // Warm up the connections and prepared statements of both paths.
        timed("known50@example.com".to_owned()).await;
        timed("warmup@example.net".to_owned()).await;
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for n in 1..=50 {
            known.push(timed(format!("known{n}@example.com")).await);
            unknown.push(timed(format!("unknown{n}@example.com")).await);
        }
        let (known, unknown) = (median(known), median(unknown));
        let gap = (known - unknown).abs() / known.max(unknown);
        assert!(
            gap <= 0.10,
            "{endpoint}: median {known:.2} ms with an account, {unknown:.2} ms without ({:.0} % apart)",
            gap * 100.0
        );
    }
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
