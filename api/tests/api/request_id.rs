//! X-Request-Id: kept when the client's is well-formed, generated otherwise, always echoed.

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_well_formed_client_request_id_is_echoed() {
    let app = spawn_app().await;

    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "client-abc.123")
        .send()
        .await
        .expect("sent");

    assert_eq!(res.headers()["x-request-id"], "client-abc.123");
}

#[tokio::test]
async fn a_request_without_an_id_gets_a_generated_uuid() {
    let app = spawn_app().await;

    let res = app.get("/healthz").await;

    let id = res.headers()["x-request-id"].to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id} is not a UUID");
}

#[tokio::test]
async fn a_malformed_client_request_id_is_replaced() {
    let app = spawn_app().await;

    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "has spaces and\ttabs")
        .send()
        .await
        .expect("sent");

    let id = res.headers()["x-request-id"].to_str().expect("ascii");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "{id} should have been replaced"
    );
}

#[tokio::test]
async fn error_responses_carry_the_request_id_too() {
    let app = spawn_app().await;

    let res = app
        .client
        .get(app.url("/missing"))
        .header("x-request-id", "trace-404")
        .send()
        .await
        .expect("sent");

    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-request-id"], "trace-404");
}
