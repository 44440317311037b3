//! Social login against a local fake provider speaking OAuth 2.0 over HTTP.

use keel_shared::testing::{FakeOAuthProvider, FakeProfile};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

fn profile(email: &str, verified: bool) -> FakeProfile {
    FakeProfile {
        id: "4242".into(),
        email: Some(email.into()),
        verified,
        name: "Grace Hopper".into(),
    }
}

async fn app_with(provider: &str, fake: &FakeOAuthProvider) -> TestApp {
    let env = fake.env(provider);
    let overrides: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    spawn_app_with(&overrides).await
}

/// Starts a flow, plays the browser at the provider, returns (code, state) from the redirect.
async fn browser_round_trip(app: &TestApp, provider: &str) -> (String, String) {
    let start: Value = app
        .get(&format!("/api/v1/auth/oauth/{provider}/authorize"))
        .await
        .json()
        .await
        .expect("json");
    let url = start["authorization_url"].as_str().expect("url");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let redirect = browser.get(url).send().await.expect("provider");
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with(&format!("http://localhost:3000/oauth/callback/{provider}?")),
        "{location}"
    );
    let query = reqwest::Url::parse(&location).expect("url");
    let get = |k: &str| {
        query
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .expect(k)
    };
    assert_eq!(get("state"), start["state"].as_str().expect("state"));
    (get("code"), get("state"))
}

async fn callback(app: &TestApp, provider: &str, code: &str, state: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/auth/oauth/{provider}/callback"),
        json!({"code": code, "state": state}),
    )
    .await
}

#[tokio::test]
async fn google_sign_in_creates_a_verified_account_then_signs_into_it_again() {
    let fake = FakeOAuthProvider::start(
        "google-client",
        "google-secret",
        profile("Grace@Example.com", true),
    );
    let app = app_with("google", &fake).await;

    let (code, state) = browser_round_trip(&app, "google").await;
    let first = callback(&app, "google", &code, &state).await;
    assert_eq!(first.status(), 200);
    let tokens: Value = first.json().await.expect("json");
    let me: Value = app
        .me(tokens["access_token"].as_str().expect("token"))
        .await;
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some("grace@example.com"), Some(true))
    );
    assert_eq!(me["name"], "Grace Hopper");

    let (code, state) = browser_round_trip(&app, "google").await;
    let again: Value = callback(&app, "google", &code, &state)
        .await
        .json()
        .await
        .expect("json");
    let me_again: Value = app.me(again["access_token"].as_str().expect("token")).await;
    assert_eq!(me_again["id"], me["id"], "the same account");
}

#[tokio::test]
async fn github_sign_in_links_an_existing_account_through_a_verified_email() {
    let fake = FakeOAuthProvider::start("gh-client", "gh-secret", profile("ada@example.com", true));
    let app = app_with("github", &fake).await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    let me: Value = app.me(&access).await;

    let (code, state) = browser_round_trip(&app, "github").await;
    let res = callback(&app, "github", &code, &state).await;

    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.expect("json");
    let linked: Value = app
        .me(tokens["access_token"].as_str().expect("token"))
        .await;
    assert_eq!(linked["id"], me["id"]);
}

#[tokio::test]
async fn an_unverified_provider_email_never_links_to_an_existing_account() {
    let fake =
        FakeOAuthProvider::start("gh-client", "gh-secret", profile("ada@example.com", false));
    let app = app_with("github", &fake).await;
    app.signed_in_user("ada@example.com").await;

    let (code, state) = browser_round_trip(&app, "github").await;
    let res = callback(&app, "github", &code, &state).await;

    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "oauth_email_unverified");
}

#[tokio::test]
async fn a_state_works_once_and_only_for_its_provider() {
    let fake = FakeOAuthProvider::start(
        "google-client",
        "google-secret",
        profile("grace@example.com", true),
    );
    let app = app_with("google", &fake).await;

    let (code, state) = browser_round_trip(&app, "google").await;
    assert_eq!(callback(&app, "google", &code, &state).await.status(), 200);
    let reused = callback(&app, "google", &code, &state).await;
    let forged = callback(&app, "google", &code, "not-a-state").await;

    for res in [reused, forged] {
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["errors"][0]["field"], "state");
    }
}

#[tokio::test]
async fn a_code_the_provider_refuses_is_a_502() {
    let fake = FakeOAuthProvider::start(
        "google-client",
        "google-secret",
        profile("grace@example.com", true),
    );
    let app = app_with("google", &fake).await;

    let (_, state) = browser_round_trip(&app, "google").await;
    let res = callback(&app, "google", "wrong-code", &state).await;

    assert_eq!(res.status(), 502);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "oauth_provider_error");
}

#[tokio::test]
async fn a_provider_that_is_not_configured_is_a_404() {
    let fake = FakeOAuthProvider::start(
        "google-client",
        "google-secret",
        profile("grace@example.com", true),
    );
    let app = app_with("google", &fake).await;

    assert_eq!(
        app.get("/api/v1/auth/oauth/github/authorize")
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get("/api/v1/auth/oauth/myspace/authorize")
            .await
            .status(),
        404
    );
    let res = callback(&app, "github", "c", "s").await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn an_oauth_sign_in_to_an_account_with_2fa_asks_for_the_code() {
    let fake = FakeOAuthProvider::start("gh-client", "gh-secret", profile("ada@example.com", true));
    let app = app_with("github", &fake).await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    app.enable_2fa(&access).await;

    let (oauth_code, state) = browser_round_trip(&app, "github").await;
    let body: Value = callback(&app, "github", &oauth_code, &state)
        .await
        .json()
        .await
        .expect("json");

    assert_eq!(body["mfa_required"], true, "{body}");
}
