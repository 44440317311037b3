//! Every failure leaves the api as application/problem+json with a stable code.

use actix_web::{App, HttpResponse, test, web};
use keel_api::startup::configure_extractors;
use serde::Deserialize;
use serde_json::Value;

use crate::helpers::spawn_app;

async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "problem media type"
    );
    let body: Value = res.json().await.expect("json body");
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code);
    assert_eq!(body["type"], "about:blank");
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;

    let res = app.get("/api/v1/nothing-here").await;

    let body = assert_problem(res, 404, "not_found").await;
    assert_eq!(body["detail"], "No resource at /api/v1/nothing-here.");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_listing_the_allowed_ones() {
    let app = spawn_app().await;

    let res = app
        .client
        .post(app.url("/readyz"))
        .send()
        .await
        .expect("sent");

    assert_eq!(res.headers()["allow"], "GET");
    assert_problem(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn an_unknown_route_with_a_body_is_still_a_404_problem() {
    let app = spawn_app().await;

    let res = app
        .client
        .put(app.url("/nope"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");

    assert_problem(res, 404, "not_found").await;
}

// The body extractors are configured once for the whole app (`configure_extractors`); no
// foundation route reads a body yet, so these drive that configuration through a route of
// the test's own.

#[derive(Deserialize)]
struct Signup {
    #[expect(dead_code, reason = "only deserialised")]
    email: String,
}

async fn body_route(body: &'static str, content_type: &str) -> (u16, Option<String>, Value) {
    let app = test::init_service(
        App::new()
            .configure(|cfg| configure_extractors(cfg, 64))
            .route(
                "/signup",
                web::post().to(|_: web::Json<Signup>| async { HttpResponse::NoContent().finish() }),
            ),
    )
    .await;
    let req = test::TestRequest::post()
        .uri("/signup")
        .insert_header(("content-type", content_type))
        .set_payload(body)
        .to_request();
    let res = test::call_service(&app, req).await;
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = test::read_body(res).await;
    (
        status,
        ctype,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[actix_web::test]
async fn malformed_json_is_a_400_problem() {
    let (status, ctype, body) = body_route("{\"email\": ", "application/json").await;

    assert_eq!(status, 400);
    assert_eq!(ctype.as_deref(), Some("application/problem+json"));
    assert_eq!(body["code"], "malformed_json");
}

#[actix_web::test]
async fn a_missing_field_is_a_422_problem_naming_it() {
    let (status, _, body) = body_route("{}", "application/json").await;

    assert_eq!(status, 422);
    assert_eq!(body["code"], "invalid_body");
    assert_eq!(body["errors"][0]["field"], "email");
}

#[actix_web::test]
async fn an_oversized_body_is_a_413_problem() {
    let big = Box::leak(format!("{{\"email\": \"{}\"}}", "a".repeat(100)).into_boxed_str());

    let (status, ctype, body) = body_route(big, "application/json").await;

    assert_eq!(status, 413);
    assert_eq!(ctype.as_deref(), Some("application/problem+json"));
    assert_eq!(body["code"], "payload_too_large");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("64 bytes"))
    );
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let (status, _, body) = body_route("email=a", "application/x-www-form-urlencoded").await;

    assert_eq!(status, 415);
    assert_eq!(body["code"], "unsupported_media_type");
}
