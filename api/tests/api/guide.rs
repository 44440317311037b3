//! `API_DOCUMENTATION.md`'s endpoint reference is generated from the OpenAPI document, so it
//! cannot drift: this test fails when the section differs from what the code documents.
//! `KEEL_UPDATE_OPENAPI=1 cargo nextest run -p keel-api openapi guide` rewrites it.

use keel_api::openapi::document;
use serde_json::Value;

const GUIDE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../API_DOCUMENTATION.md");
const START: &str =
    "<!-- endpoints:start (generated from openapi.json by api/tests/api/guide.rs) -->";
const END: &str = "<!-- endpoints:end -->";

/// The endpoint reference: one table per tag, in the document's tag order.
fn endpoints() -> String {
    let doc: Value = serde_json::to_value(document()).expect("json");
    let mut out = String::new();
    for tag in doc["tags"].as_array().into_iter().flatten() {
        let name = tag["name"].as_str().unwrap_or_default();
        out.push_str(&format!(
            "\n### {name}\n\n{}\n\n| Method | Path | Summary | Token | Answers | operationId |\n|---|---|---|---|---|---|\n",
            tag["description"].as_str().unwrap_or_default()
        ));
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in ["get", "post", "put", "patch", "delete"] {
                let op = &item[method];
                let tagged = op["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == name));
                if !tagged {
                    continue;
                }
                let token = if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    "bearer"
                } else {
                    "—"
                };
                let answers: Vec<&str> = op["responses"]
                    .as_object()
                    .map(|r| r.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                out.push_str(&format!(
                    "| `{}` | `{path}` | {} | {token} | {} | `{}` |\n",
                    method.to_uppercase(),
                    op["summary"].as_str().unwrap_or_default(),
                    answers.join(", "),
                    op["operationId"].as_str().unwrap_or_default(),
                ));
            }
        }
    }
    out
}

#[test]
fn the_guide_lists_every_endpoint_the_document_has() {
    let guide = std::fs::read_to_string(GUIDE).expect("API_DOCUMENTATION.md");
    let (head, rest) = guide.split_once(START).expect("start marker");
    let (_, tail) = rest.split_once(END).expect("end marker");
    let expected = format!("{head}{START}\n{}\n{END}{tail}", endpoints());
    if std::env::var_os("KEEL_UPDATE_OPENAPI").is_some() {
        std::fs::write(GUIDE, &expected).expect("write API_DOCUMENTATION.md");
    }
    let current = std::fs::read_to_string(GUIDE).expect("API_DOCUMENTATION.md");
    assert!(
        current == expected,
        "API_DOCUMENTATION.md's endpoint reference is out of date: run \
         `KEEL_UPDATE_OPENAPI=1 cargo nextest run -p keel-api guide` and commit it"
    );
}
