//! Nothing reveals whether an address has an account: answers, emails sent, timing; and no
//! emailed link token is ever written where it could leak.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

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
    const ROUNDS: usize = 3;
    const SAMPLES: usize = 50;
    // Up to 600 requests from one address: neither limit may refuse one.
    let app = spawn_app_with(&[
        ("KEEL_RATE_LIMIT_PER_IP", "100000"),
        ("KEEL_GLOBAL_RATE_LIMIT_PER_IP", "100000"),
    ])
    .await;
    app.db
        .client()
        .await
        .execute(
            "INSERT INTO users (id, email, name)
             SELECT gen_random_uuid(), 'known' || n || '@example.com', 'User'
             FROM generate_series(0, $1) AS n",
            &[&i32::try_from(ROUNDS * SAMPLES).expect("small")],
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
        timed("known0@example.com".to_owned()).await;
        timed("warmup@example.net".to_owned()).await;
        // Other tests share the two cores: a round disturbed by them is measured again. A real
        // difference (extra writes on one path) shows in every round.
        let (mut rounds, mut within) = (Vec::new(), false);
        for round in 0..ROUNDS {
            let (mut known, mut unknown) = (Vec::new(), Vec::new());
            for n in 1..=SAMPLES {
                let n = round * SAMPLES + n;
                known.push(timed(format!("known{n}@example.com")).await);
                unknown.push(timed(format!("unknown{n}@example.com")).await);
            }
            let (known, unknown) = (median(known), median(unknown));
            let gap = (known - unknown).abs() / known.max(unknown);
            rounds.push(format!(
                "{known:.2} ms with an account, {unknown:.2} ms without ({:.0} % apart)",
                gap * 100.0
            ));
            if gap <= 0.10 {
                within = true;
                break;
            }
        }
        assert!(
            within,
            "{endpoint}: medians more than 10 % apart in every round: {rounds:?}"
        );
    }
}
