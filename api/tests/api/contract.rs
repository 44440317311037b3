//! The api is exactly as strict as its document: every rejection is problem+json naming the
//! parameter or field, arrays are not objects, unknown fields are refused, and the document
//! declares the links between operations.

use keel_api::openapi::{document, links};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_malformed_path_parameter_is_a_problem_naming_it() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("path@example.com").await;

    let res = app
        .client
        .delete(app.url("/api/v1/auth/sessions/null%2Cnull"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("sent");

    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["errors"][0]["field"], "id");
}

#[tokio::test]
async fn an_array_body_is_refused_where_an_object_is_expected() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("array@example.com").await;

    let res = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(&access)
        .header("content-type", "application/json")
        .body("  [null, null]")
        .send()
        .await
        .expect("sent");

    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "invalid_body");
}

#[tokio::test]
async fn an_object_body_still_streams_through_to_the_handler() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("object@example.com").await;

    let res = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(&access)
        .json(&json!({"name": "Grace Hopper"}))
        .send()
        .await
        .expect("sent");

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["name"], "Grace Hopper");
}

#[tokio::test]
async fn an_unknown_field_is_a_422_naming_it() {
    let app = spawn_app().await;
    let (access, _) = app.signed_in_user("typo@example.com").await;

    let res = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(&access)
        .json(&json!({"nmae": "Typo"}))
        .send()
        .await
        .expect("sent");

    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["errors"][0]["field"], "nmae");
}

#[test]
fn every_link_joins_two_documented_operations() {
    let doc = document();
    let ids: Vec<String> = doc
        .paths
        .paths
        .values()
        .flat_map(|item| {
            [&item.get, &item.post, &item.put, &item.patch, &item.delete]
                .into_iter()
                .flatten()
                .filter_map(|op| op.operation_id.clone())
        })
        .collect();
    let json: Value = serde_json::to_value(&doc).expect("json");
    let mut links = 0;
    for (from, to) in links::pairs() {
        assert!(ids.iter().any(|i| i == from), "{from} is not an operation");
        assert!(ids.iter().any(|i| i == to), "{to} is not an operation");
        links += 1;
    }
    let declared = json.to_string().matches("\"operationId\":").count();
    assert!(
        declared >= ids.len() + links,
        "every link made it into the document"
    );
}

#[test]
fn every_problem_answer_names_its_codes() {
    let doc: Value = serde_json::to_value(document()).expect("json");
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                if response["content"]
                    .get("application/problem+json")
                    .is_none()
                {
                    continue;
                }
                let description = response["description"].as_str().unwrap_or_default();
                let names_a_code = description.split('`').skip(1).step_by(2).any(|c| {
                    !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')
                });
                assert!(
                    names_a_code,
                    "{method} {path} {status}: the description names no problem `code`: {description}"
                );
            }
        }
    }
}
