//! The email job through a real SMTP sink: headers, both parts, at most once per key.

use std::time::Duration;

use keel_shared::db::emails;
use keel_shared::email::Email;
use keel_shared::jobs::payloads::{LinkPurpose, SendEmail, SendEmailLink, SendEmailV1};
use keel_worker::jobs::registry;
use serde_json::json;

use crate::helpers::TestEnv;

fn verify_email(key: &str) -> SendEmail {
    SendEmail {
        idempotency_key: key.to_owned(),
        to: "ada@example.com".to_owned(),
        email: Email::VerifyEmail {
            name: "Ada".to_owned(),
            link: "https://app.acme.test/verify-email?token=abc".to_owned(),
        },
    }
}

/// The same email as a version-1 job (template name + untyped values).
fn verify_email_v1(key: &str) -> SendEmailV1 {
    SendEmailV1 {
        idempotency_key: key.to_owned(),
        to: "ada@example.com".to_owned(),
        template: "verify_email".to_owned(),
        data: json!({"name": "Ada", "link": "https://app.acme.test/verify-email?token=abc"}),
    }
}

#[tokio::test]
async fn the_email_job_sends_a_multipart_message_with_the_right_headers() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());

    env.queue()
        .enqueue(&verify_email("verify:1"))
        .await
        .expect("enqueued");

    let mail = env
        .sink
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    assert_eq!(mail.from, "hello@acme.test");
    assert_eq!(mail.to, vec!["ada@example.com"]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your email for Acme")
    );
    assert_eq!(
        mail.header("From").as_deref(),
        Some("Acme <hello@acme.test>")
    );
    assert_eq!(mail.header("To").as_deref(), Some("ada@example.com"));
    assert!(
        mail.header("Message-ID")
            .is_some_and(|id| id.ends_with("@acme.test>"))
    );
    assert!(
        mail.header("Content-Type")
            .is_some_and(|t| t.starts_with("multipart/alternative")),
        "{:?}",
        mail.header("Content-Type")
    );
    assert!(mail.data.contains("Content-Type: text/plain"));
    assert!(mail.data.contains("Content-Type: text/html"));
    assert!(mail.data.contains("Hello Ada,"));
    assert!(mail.data.contains("verify-email?token=abc"));
    worker.stop().await;
}

#[tokio::test]
async fn the_same_idempotency_key_is_sent_only_once() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());

    env.queue()
        .enqueue(&verify_email("verify:twice"))
        .await
        .expect("enqueued");
    env.queue()
        .enqueue(&verify_email("verify:twice"))
        .await
        .expect("enqueued again");

    env.wait_for("email", Duration::from_secs(10), |s| s.processed == 2)
        .await;
    assert_eq!(env.sink.messages().len(), 1, "sent once");
    let client = env.ctx.db.get().await.expect("conn");
    assert_eq!(
        emails::sent_count(&client, "verify:twice")
            .await
            .expect("count"),
        1
    );
    worker.stop().await;
}

#[tokio::test]
async fn an_unreachable_smtp_server_means_a_retry_not_a_lost_email() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let env = TestEnv::with(&[("SMTP_URL", "smtp://127.0.0.1:9")]).await;
    let worker = env.start(registry());

    env.queue()
        .enqueue(&verify_email("verify:later"))
        .await
        .expect("enqueued");

    let stats = env
        .wait_for("email", Duration::from_secs(10), |s| s.retried == 1)
        .await;
    assert_eq!(
        (stats.scheduled, stats.dead),
        (1, 0),
        "waiting for its next attempt"
    );
    let client = env.ctx.db.get().await.expect("conn");
    assert_eq!(
        emails::sent_count(&client, "verify:later")
            .await
            .expect("count"),
        0
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_version_one_job_queued_before_the_upgrade_is_still_sent() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());

    env.queue()
        .enqueue(&verify_email_v1("verify:v1"))
        .await
        .expect("enqueued");

    let mail = env
        .sink
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your email for Acme")
    );
    assert!(mail.data.contains("verify-email?token=abc"));
    worker.stop().await;
}

#[tokio::test]
async fn an_unknown_version_one_template_goes_straight_to_the_dead_set() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());
    let mut job = verify_email_v1("verify:bad");
    job.template = "no_such_template".to_owned();

    env.queue().enqueue(&job).await.expect("enqueued");

    let stats = env
        .wait_for("email", Duration::from_secs(10), |s| s.dead == 1)
        .await;
    assert_eq!(stats.retried, 0);
    assert!(env.sink.messages().is_empty());
    worker.stop().await;
}

/// A link job for `to` (the account, if any, found by address).
fn reset_link(key: &str, to: &str) -> SendEmailLink {
    SendEmailLink {
        idempotency_key: key.to_owned(),
        purpose: LinkPurpose::ResetPassword,
        to: to.to_owned(),
        user: None,
    }
}

#[tokio::test]
async fn a_link_job_makes_the_token_when_it_sends_and_the_queue_never_holds_it() {
    let env = TestEnv::new().await;
    let client = env.db.client().await;
    client
        .execute(
            "INSERT INTO users (id, email, name) VALUES (gen_random_uuid(), 'ada@example.com', 'Ada')",
            &[],
        )
        .await
        .expect("user");
    let job = reset_link("link:1", "ada@example.com");
    let payload = serde_json::to_string(&job).expect("json");
    assert!(!payload.contains("token"), "{payload}");
    let worker = env.start(registry());

    env.queue().enqueue(&job).await.expect("enqueued");

    let mail = env
        .sink
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Reset your Acme password")
    );
    // Quoted-printable: soft line breaks and `=` as `=3D`.
    let text = mail.data.replace("=\r\n", "").replace("=3D", "=");
    let start = text.find("reset-password?token=").expect("a link") + 21;
    let token: String = text[start..].chars().take(43).collect();
    let hash = keel_shared::auth::tokens::hash(&token);
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM user_tokens WHERE token_hash = $1 AND purpose = 'reset_password' AND used_at IS NULL",
            &[&hash.as_bytes().as_slice()],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 1, "the emailed token is the stored one");
    worker.stop().await;
}

#[tokio::test]
async fn a_link_job_for_an_address_without_an_account_sends_nothing() {
    let env = TestEnv::new().await;
    let worker = env.start(registry());

    env.queue()
        .enqueue(&reset_link("link:nobody", "nobody@example.com"))
        .await
        .expect("enqueued");

    let stats = env
        .wait_for("email", Duration::from_secs(10), |s| s.processed == 1)
        .await;
    assert_eq!((stats.dead, stats.retried), (0, 0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(env.sink.messages().is_empty());
    worker.stop().await;
}
