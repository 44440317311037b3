//! Sentry from the api, observed on a real receiver: a 500 and a panic are one event each with
//! the request id, the route template and the user id, and no secret; 4xx are not events; a
//! job enqueued by a request continues the request's trace in the worker.

use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use keel_api::observe::{sentry_middleware, tag_request};
use keel_api::request_id::request_id;
use keel_shared::testing::{SentryReceiver, SmtpSink};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn sentry_on(receiver: &SentryReceiver) -> sentry::ClientInitGuard {
    let config = keel_shared::Config::from_vars([
        ("APP_ENV", "test".to_owned()),
        ("SENTRY_DSN", receiver.dsn()),
        ("SENTRY_TRACES_SAMPLE_RATE", "1".to_owned()),
    ])
    .expect("config");
    keel_shared::telemetry::init_sentry(&config, "keel-api", "keel@test".to_owned())
        .expect("Sentry is on")
}

/// Events of the request with `id`, after giving late ones time to arrive.
async fn events_of(receiver: &SentryReceiver, id: &str) -> Vec<Value> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    receiver
        .items("event")
        .into_iter()
        .filter(|e| e["tags"]["request_id"] == id)
        .collect()
}

#[tokio::test]
async fn a_500_is_one_event_with_request_id_route_and_user_id_and_no_secret() {
    let receiver = SentryReceiver::start().await;
    let _sentry = sentry_on(&receiver);
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let me = app.me(&access).await;
    // Any update of the user now fails inside PostgreSQL: an unexpected error, a 500.
    app.db
        .client()
        .await
        .batch_execute(
            "CREATE FUNCTION keel_test_explode() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'exploded near password=hunter2'; END $$;
             CREATE TRIGGER keel_test_explode BEFORE UPDATE ON users
                 FOR EACH ROW EXECUTE FUNCTION keel_test_explode();",
        )
        .await
        .expect("trigger");

    let res = app
        .client
        .patch(app.url("/api/v1/users/me?code=oauth-code-secret"))
        .bearer_auth(&access)
        .header("Cookie", "session=cookie-secret-value")
        .header("X-Request-Id", "sentry-500")
        .json(&json!({"name": "Ada King"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 500);

    receiver
        .wait_for("event", 1, Duration::from_secs(10), |e| {
            e["tags"]["request_id"] == "sentry-500"
        })
        .await;
    let events = events_of(&receiver, "sentry-500").await;
    assert_eq!(events.len(), 1, "exactly one event: {events:?}");
    let event = &events[0];
    assert_eq!(event["level"].as_str().unwrap_or("error"), "error");
    assert_eq!(event["tags"]["route"], "/api/v1/users/me");
    assert_eq!(event["user"]["id"], me["id"]);
    assert_eq!(event["user"].get("email"), None, "id only: {event}");
    assert_eq!(event["environment"], "test");
    assert_eq!(event["release"], "keel@test");
    let url = event["request"]["url"].as_str().expect("url");
    assert!(url.ends_with("/api/v1/users/me"), "{url}");
    let headers = event["request"]["headers"].as_object().expect("headers");
    for header in headers.keys() {
        let header = header.to_ascii_lowercase();
        assert!(
            header != "authorization" && header != "cookie",
            "{header} sent"
        );
    }
    let raw = receiver.raw();
    for secret in [
        "hunter2",
        access.as_str(),
        "cookie-secret-value",
        "oauth-code-secret",
        "ada@example.com",
    ] {
        assert!(!raw.contains(secret), "{secret} left the process:\n{raw}");
    }
}

#[tokio::test]
async fn client_errors_are_not_events() {
    let receiver = SentryReceiver::start().await;
    let _sentry = sentry_on(&receiver);
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("grace@example.com").await;

    let invalid = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(&access)
        .header("X-Request-Id", "sentry-422")
        .json(&json!({"name": ""}))
        .send()
        .await
        .expect("sent");
    assert_eq!(invalid.status(), 422);
    let unauthorized = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("X-Request-Id", "sentry-401")
        .send()
        .await
        .expect("sent");
    assert_eq!(unauthorized.status(), 401);
    let missing = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .header("X-Request-Id", "sentry-404")
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 404);

    for id in ["sentry-422", "sentry-401", "sentry-404"] {
        assert_eq!(events_of(&receiver, id).await, Vec::<Value>::new(), "{id}");
    }
    // The requests were seen: each was a transaction (sampled at 1 here).
    let transactions = receiver.items("transaction");
    assert!(
        transactions
            .iter()
            .any(|t| t["transaction"] == "GET /api/v1/users/me"),
        "{transactions:?}"
    );
}

async fn panicking_handler() -> HttpResponse {
    panic!("the handler fell over near token=abc123")
}

#[tokio::test]
async fn a_panicking_handler_is_one_event_with_its_request_id_and_route() {
    let receiver = SentryReceiver::start().await;
    let _sentry = sentry_on(&receiver);
    // The api's Sentry middleware stack around a handler that panics (no real route does).
    let server = HttpServer::new(|| {
        App::new()
            .route("/things/{id}", web::get().to(panicking_handler))
            .wrap(from_fn(tag_request))
            .wrap(from_fn(request_id))
            .wrap(sentry_middleware())
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);

    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/things/42?token=abc123"))
        .header("X-Request-Id", "sentry-panic")
        .send()
        .await;
    assert!(
        res.is_err(),
        "the connection dies with the handler: {res:?}"
    );

    receiver
        .wait_for("event", 1, Duration::from_secs(10), |e| {
            e["tags"]["request_id"] == "sentry-panic"
        })
        .await;
    let events = events_of(&receiver, "sentry-panic").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["tags"]["route"], "/things/{id}");
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["exception"]["values"][0]["type"], "panic");
    let url = event["request"]["url"].as_str().expect("url");
    assert!(url.ends_with("/things/%7Bid%7D"), "{url}");
    assert!(!receiver.raw().contains("abc123"), "{}", receiver.raw());
    handle.stop(false).await;
}

#[tokio::test]
async fn a_job_enqueued_by_a_request_continues_its_trace_in_the_worker() {
    let receiver = SentryReceiver::start().await;
    let _sentry = sentry_on(&receiver);
    let sink = SmtpSink::start().await;
    let (app, stop) = crate::flows::app_with_worker(&sink).await;

    let res = app
        .post_json(
            "/api/v1/auth/register",
            json!({"email": "lin@example.com", "password": crate::helpers::PASSWORD, "name": "Lin"}),
        )
        .await;
    assert_eq!(res.status(), 202);

    let requests = receiver
        .wait_for("transaction", 1, Duration::from_secs(10), |t| {
            t["transaction"] == "POST /api/v1/auth/register"
        })
        .await;
    let jobs = receiver
        .wait_for("transaction", 1, Duration::from_secs(15), |t| {
            t["transaction"] == "job send_email_link"
        })
        .await;
    let request_trace = &requests[0]["contexts"]["trace"];
    let job_trace = &jobs[0]["contexts"]["trace"];
    assert_eq!(job_trace["trace_id"], request_trace["trace_id"]);
    // The job's parent is a span of the request (the transaction itself or one inside it).
    let parent = job_trace["parent_span_id"].as_str().expect("has a parent");
    let request_spans: Vec<&str> = std::iter::once(&request_trace["span_id"])
        .chain(
            requests[0]["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| &s["span_id"]),
        )
        .filter_map(Value::as_str)
        .collect();
    assert!(
        request_spans.contains(&parent),
        "{parent} not in {request_spans:?}"
    );
    let _ = stop.send(());
}
