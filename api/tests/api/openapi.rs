//! The OpenAPI document: generated from the code, committed, served, complete.

use keel_api::openapi::{document, document_json};
use serde_json::Value;

use crate::helpers::spawn_app;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");

/// Fails when a handler changed without `openapi.json`. To accept the change:
/// `KEEL_UPDATE_OPENAPI=1 cargo test -p keel-api openapi` and commit the file.
#[test]
fn the_committed_openapi_json_matches_the_code() {
    let generated = document_json();
    if std::env::var_os("KEEL_UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is out of date: run `KEEL_UPDATE_OPENAPI=1 cargo test -p keel-api openapi` and commit it"
    );
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc: Value = serde_json::from_str(&document_json()).expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[test]
fn every_operation_has_a_tag_an_id_and_described_responses() {
    let doc = document();
    assert!(!doc.paths.paths.is_empty());
    for (path, item) in &doc.paths.paths {
        let ops = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
        for op in ops.into_iter().flatten() {
            let id = op.operation_id.as_deref().unwrap_or_default();
            assert!(!id.is_empty(), "{path}: no operationId");
            assert!(
                op.tags.as_ref().is_some_and(|t| !t.is_empty()),
                "{id}: no tag"
            );
            assert!(!op.responses.responses.is_empty(), "{id}: no responses");
            for (status, response) in &op.responses.responses {
                let utoipa::openapi::RefOr::T(response) = response else {
                    continue;
                };
                assert!(
                    !response.description.trim().is_empty(),
                    "{id} {status}: response without a description"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_schema_endpoint_serves_the_document() {
    let app = spawn_app().await;

    let res = app.get("/api/schema/").await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let served: Value = res.json().await.expect("json");
    let generated: Value = serde_json::from_str(&document_json()).expect("json");
    assert_eq!(served, generated);
    assert!(served["paths"]["/readyz"]["get"].is_object());
}
