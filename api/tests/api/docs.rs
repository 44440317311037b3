//! The documentation the api serves about itself: the schema as JSON and YAML with ETags,
//! Swagger UI and ReDoc with every asset from the api itself, and `KEEL_API_DOCS=off`.

use keel_api::docs::assets::Assets;
use keel_api::docs::csp::{PAGE_POLICY, REDOC_POLICY};
use keel_api::openapi::document_json;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_schema_is_the_same_document_in_yaml() {
    let app = spawn_app().await;

    let by_query = app.get("/api/schema/?format=yaml").await;
    let by_accept = app
        .client
        .get(app.url("/api/schema/"))
        .header("accept", "application/yaml")
        .send()
        .await
        .expect("sent");

    assert_eq!(by_query.status(), 200);
    assert_eq!(by_query.headers()["content-type"], "application/yaml");
    assert_eq!(by_accept.headers()["content-type"], "application/yaml");
    let yaml = by_query.text().await.expect("body");
    assert_eq!(yaml, by_accept.text().await.expect("body"));
    let from_yaml: Value = yaml_serde::from_str(&yaml).expect("valid YAML");
    let from_json: Value = serde_json::from_str(&document_json()).expect("json");
    assert_eq!(from_yaml, from_json, "YAML and JSON carry the same data");
}

#[tokio::test]
async fn the_schema_revalidates_with_its_etag() {
    let app = spawn_app().await;

    let first = app.get("/api/schema/").await;
    let etag = first.headers()["etag"].to_str().expect("ascii").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "strong ETag");
    assert_eq!(first.headers()["cache-control"], "public, max-age=60");
    let again = app
        .client
        .get(app.url("/api/schema/"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("sent");
    let yaml = app
        .client
        .get(app.url("/api/schema/?format=yaml"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("sent");

    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.expect("body").is_empty());
    assert_eq!(yaml.status(), 200, "the YAML form has its own ETag");
}

#[tokio::test]
async fn an_unknown_schema_format_is_a_problem_naming_the_parameter() {
    let app = spawn_app().await;

    let res = app.get("/api/schema/?format=xml").await;

    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "invalid_parameter");
    assert_eq!(body["errors"][0]["field"], "format");
}

#[tokio::test]
async fn the_served_document_names_the_configured_servers_and_contact() {
    let app = spawn_app_with(&[
        ("KEEL_PUBLIC_URL", "https://api.example.com"),
        ("KEEL_API_EXTRA_SERVERS", "https://staging.example.com"),
        ("KEEL_API_CONTACT_EMAIL", "dev@example.com"),
    ])
    .await;

    let doc: Value = app.get("/api/schema/").await.json().await.expect("json");

    assert_eq!(doc["servers"][0]["url"], "https://api.example.com");
    assert_eq!(doc["servers"][1]["url"], "https://staging.example.com");
    assert_eq!(doc["info"]["contact"]["email"], "dev@example.com");
    assert_eq!(doc["info"]["license"]["identifier"], "MIT OR Apache-2.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn both_pages_are_served_under_the_strict_policy_with_only_local_assets() {
    let app = spawn_app().await;

    for (page, marker, policy) in [
        ("/api/docs/", "swagger-ui-bundle.js", PAGE_POLICY),
        ("/api/redoc/", "redoc.standalone.js", REDOC_POLICY),
    ] {
        let res = app.get(page).await;
        assert_eq!(res.status(), 200, "{page}");
        assert_eq!(res.headers()["content-security-policy"], policy);
        assert!(
            !policy.contains("unsafe"),
            "no unsafe-inline or unsafe-eval"
        );
        assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(res.headers()["cache-control"], "no-cache");
        let html = res.text().await.expect("body");
        assert!(html.contains(marker), "{page} loads {marker}");
        for asset in html
            .split('"')
            .filter(|s| s.starts_with("/api/docs/assets/"))
        {
            let res = app
                .client
                .get(app.url(asset))
                .header("accept-encoding", "gzip, br")
                .send()
                .await
                .expect("sent");
            assert_eq!(res.status(), 200, "{asset}");
            assert_eq!(
                res.headers()["cache-control"],
                "public, max-age=31536000, immutable"
            );
        }
    }
    assert!(
        Assets::get().urls().len() >= 6,
        "Swagger UI, ReDoc and Keel's files"
    );
}

#[tokio::test]
async fn big_assets_are_compressed() {
    let app = spawn_app().await;
    let bundle = Assets::get()
        .urls()
        .into_iter()
        .find(|u| u.ends_with("swagger-ui-bundle.js"))
        .expect("bundle");

    let res = app
        .client
        .get(app.url(&bundle))
        .header("accept-encoding", "br")
        .send()
        .await
        .expect("sent");

    assert_eq!(res.headers()["content-encoding"], "br");
}

#[tokio::test]
async fn an_unknown_asset_is_a_404_problem() {
    let app = spawn_app().await;

    let res = app.get("/api/docs/assets/swagger-ui-0.0.1/evil.js").await;

    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn docs_off_hides_the_pages_but_not_the_schema() {
    let app = spawn_app_with(&[("KEEL_API_DOCS", "off")]).await;

    assert_eq!(app.get("/api/docs/").await.status(), 404);
    assert_eq!(app.get("/api/redoc/").await.status(), 404);
    assert_eq!(app.get("/api/schema/").await.status(), 200);
}

#[tokio::test]
async fn the_pages_without_their_slash_redirect_to_it() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    for (page, to) in [("/api/docs", "/api/docs/"), ("/api/redoc", "/api/redoc/")] {
        let res = client.get(app.url(page)).send().await.expect("sent");
        assert_eq!(res.status(), 308, "{page}");
        assert_eq!(res.headers()["location"], to);
    }
}
