//! What the api tolerates of a client's connection: body caps (413 naming the cap), a slow
//! client that never finishes its headers (cut after `KEEL_API_CLIENT_REQUEST_TIMEOUT_MS`),
//! keep-alive off.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{PASSWORD, TestApp, problem, spawn_app, spawn_app_with};

/// A registration whose name makes the body about `len` bytes long.
fn registration(len: usize) -> serde_json::Value {
    json!({"email": "big@example.com", "password": PASSWORD, "name": "x".repeat(len)})
}

#[tokio::test]
async fn a_body_over_the_default_cap_of_64_kib_is_a_413_naming_it() {
    let app = spawn_app().await;

    let res = app
        .post_json("/api/v1/auth/register", registration(70 * 1024))
        .await;

    let body = problem(res, 413).await;
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(
        body["detail"],
        "The body is larger than the limit of 65536 bytes."
    );
}

#[tokio::test]
async fn the_cap_follows_the_configuration_and_a_body_under_it_passes() {
    let app = spawn_app_with(&[("KEEL_API_BODY_LIMIT_BYTES", "2048")]).await;

    let over = app
        .post_json("/api/v1/auth/register", registration(4096))
        .await;
    let under = app
        .post_json("/api/v1/auth/register", registration(200))
        .await;

    let body = problem(over, 413).await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(" 2048 ")),
        "{body}"
    );
    assert_eq!(
        under.status(),
        422,
        "read and judged by the handler (the name is too long)"
    );
}

/// Opens a connection and sends `head` as it is.
async fn connect_and_send(app: &TestApp, head: &str) -> TcpStream {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connected");
    stream.write_all(head.as_bytes()).await.expect("sent");
    stream
}

/// Reads until the server closes the connection (or `within` passes): what it sent, and
/// when it closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<(String, Instant)> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut received)).await;
    match read {
        Ok(_) => Some((
            String::from_utf8_lossy(&received).into_owned(),
            Instant::now(),
        )),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut() {
    let app = spawn_app_with(&[("KEEL_API_CLIENT_REQUEST_TIMEOUT_MS", "1000")]).await;
    let started = Instant::now();

    let mut slow = connect_and_send(&app, "GET /healthz HTTP/1.1\r\nHost: keel\r\nX-Slow: ").await;
    let closed = read_until_closed(&mut slow, Duration::from_secs(5)).await;

    let (answer, at) = closed.expect("the connection was closed by the api");
    let waited = at - started;
    assert!(
        waited >= Duration::from_millis(900),
        "cut by the timeout, not at once: {waited:?}"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert_eq!(app.get("/healthz").await.status(), 200, "others are served");
}

#[tokio::test]
async fn with_keep_alive_off_each_connection_closes_after_its_response() {
    let app = spawn_app_with(&[("KEEL_API_KEEP_ALIVE_SECS", "0")]).await;

    let mut stream = connect_and_send(&app, "GET /healthz HTTP/1.1\r\nHost: keel\r\n\r\n").await;
    let closed = read_until_closed(&mut stream, Duration::from_secs(5)).await;

    let (answer, _) = closed.expect("closed after the response");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[tokio::test]
async fn by_default_a_connection_is_kept_open_for_the_next_request() {
    let app = spawn_app().await;

    let mut stream = connect_and_send(&app, "GET /healthz HTTP/1.1\r\nHost: keel\r\n\r\n").await;
    let closed = read_until_closed(&mut stream, Duration::from_millis(500)).await;

    assert!(closed.is_none(), "still open after the response");
}
