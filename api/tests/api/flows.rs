//! Whole journeys through the real api and the real worker, with email read back from an SMTP
//! sink: register → verification email → verify → login → refresh → 2FA → login with a code
//! → logout.

use std::sync::Arc;
use std::time::Duration;

use keel_shared::email::Mailer;
use keel_shared::jobs::Queue;
use keel_shared::redis::Keys;
use keel_shared::testing::{SmtpSink, test_config};
use keel_worker::context::JobContext;
use keel_worker::runtime::{Options, Runtime, worker_id};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app_with};

/// The api plus an in-process worker on the same database and Redis namespace.
pub(crate) async fn app_with_worker(
    sink: &SmtpSink,
) -> (TestApp, tokio::sync::oneshot::Sender<()>) {
    app_with_worker_and(sink, &[]).await
}

/// [`app_with_worker`], both configured with `extra` too.
pub(crate) async fn app_with_worker_and(
    sink: &SmtpSink,
    extra: &[(&str, &str)],
) -> (TestApp, tokio::sync::oneshot::Sender<()>) {
    let smtp = sink.url();
    let mut overrides = vec![
        ("SMTP_URL", smtp.as_str()),
        ("KEEL_PRODUCT_NAME", "Acme"),
        ("KEEL_REDIS_POOL_SIZE", "16"),
    ];
    overrides.extend_from_slice(extra);
    let app = spawn_app_with(&overrides).await;
    let config = test_config(&app.db, &app.redis, &overrides);
    let ctx = JobContext {
        db: keel_shared::db::pool(&config.database, "flow-worker").expect("pool"),
        queue: Queue::new(
            keel_shared::redis::pool(&config.redis).expect("pool"),
            Keys::new(config.redis.key_prefix.clone()),
        ),
        mailer: Arc::new(Mailer::new(&config.email).expect("mailer")),
        media: keel_shared::media::Media::new(&config.media).expect("media"),
        config: Arc::new(config),
    };
    let options = Options {
        queues: vec![
            ("email".into(), 4),
            ("default".into(), 4),
            ("critical".into(), 2),
        ],
        redelivery_timeout: Duration::from_secs(10),
        grace: Duration::from_secs(2),
        worker_id: worker_id(),
    };
    let runtime = Runtime::new(ctx, keel_worker::jobs::registry(), options, Arc::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(runtime.run(async move {
        let _ = stopped.await;
    }));
    (app, stop)
}

/// The first message with `subject`, waiting for it (messages may arrive in any order).
async fn mail_with_subject(sink: &SmtpSink, subject: &str) -> keel_shared::testing::ReceivedMail {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(mail) = sink
            .messages()
            .into_iter()
            .find(|m| m.header("Subject").as_deref() == Some(subject))
        {
            return mail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail with subject {subject:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The token in the `path` link of the message with `subject`.
async fn token_from_mail(sink: &SmtpSink, subject: &str, path: &str) -> String {
    let mail = mail_with_subject(sink, subject).await.decoded();
    let marker = format!("{path}?token=");
    let at = mail
        .find(&marker)
        .unwrap_or_else(|| panic!("no {path} link in:\n{mail}"));
    mail[at + marker.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Registers `email` and verifies it through the emailed link (the worker sends it), then
/// signs in; returns the access token.
pub(crate) async fn signed_in_by_mail(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/auth/register",
            json!({"email": email, "password": PASSWORD, "name": "Ada"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let token = token_from_mail(sink, "Confirm your email for Acme", "/verify-email").await;
    let res = app
        .post_json("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(res.status(), 204);
    app.login(email, PASSWORD).await.0
}

#[tokio::test]
async fn register_verify_login_refresh_2fa_and_logout_with_real_email() {
    let sink = SmtpSink::start().await;
    let (app, stop) = app_with_worker(&sink).await;

    // Register: the verification email arrives through the worker and SMTP.
    let res = app
        .post_json(
            "/api/v1/auth/register",
            json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let token = token_from_mail(&sink, "Confirm your email for Acme", "/verify-email").await;
    let mail = mail_with_subject(&sink, "Confirm your email for Acme").await;
    assert_eq!(mail.to, vec!["ada@example.com"]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your email for Acme")
    );

    // Verify, log in, refresh.
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", json!({"token": token}))
            .await
            .status(),
        204
    );
    let (access, refresh) = app.login("ada@example.com", PASSWORD).await;
    let refreshed: Value = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh}))
        .await
        .json()
        .await
        .expect("json");
    let access = refreshed["access_token"]
        .as_str()
        .map_or(access, str::to_owned);

    // Turn on 2FA; its notice arrives too.
    let (secret, _) = app.enable_2fa(&access).await;
    let secret = secret.as_str();
    let now = crate::helpers::now_secs();
    let notice = mail_with_subject(&sink, "Two-factor authentication is on for Acme").await;
    assert_eq!(
        notice.header("Subject").as_deref(),
        Some("Two-factor authentication is on for Acme")
    );

    // Log in again: password, then a code.
    let step1: Value = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .expect("json");
    let code = keel_shared::auth::totp::code_for_base32(secret, now).expect("code");
    let step2 = app
        .post_json(
            "/api/v1/auth/login/2fa",
            json!({"mfa_token": step1["mfa_token"], "code": code}),
        )
        .await;
    assert_eq!(step2.status(), 200);
    let tokens: Value = step2.json().await.expect("json");
    let access = tokens["access_token"].as_str().expect("access");
    assert_eq!(
        app.get_authed("/api/v1/users/me", access).await.status(),
        200
    );

    // Log out: the session's tokens stop working.
    let out = app
        .post_json(
            "/api/v1/auth/logout",
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(out.status(), 204);
    assert_eq!(
        app.get_authed("/api/v1/users/me", access).await.status(),
        401
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn forgot_password_email_resets_the_password() {
    let sink = SmtpSink::start().await;
    let (app, stop) = app_with_worker(&sink).await;
    app.post_json(
        "/api/v1/auth/register",
        json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
    )
    .await;
    let verify = token_from_mail(&sink, "Confirm your email for Acme", "/verify-email").await;
    app.post_json("/api/v1/auth/verify-email", json!({"token": verify}))
        .await;

    app.post_json(
        "/api/v1/auth/password/forgot",
        json!({"email": "ada@example.com"}),
    )
    .await;
    let token = token_from_mail(&sink, "Reset your Acme password", "/reset-password").await;
    let res = app
        .post_json(
            "/api/v1/auth/password/reset",
            json!({"token": token, "new_password": "quartz-lantern-orbit-88"}),
        )
        .await;

    assert_eq!(res.status(), 204);
    app.login("ada@example.com", "quartz-lantern-orbit-88")
        .await;
    let changed = mail_with_subject(&sink, "Your Acme password was changed").await;
    assert_eq!(
        changed.header("Subject").as_deref(),
        Some("Your Acme password was changed")
    );
    let _ = stop.send(());
}
