//! Social login against a local fake provider speaking OAuth 2.0 over HTTP.

use keel_shared::testing::{FakeOAuthProvider, FakeProfile};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app_with};

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

/// A finished round trip at the provider: what the browser brings back, and the binding
/// cookie the api set when the flow started.
struct Returned {
    code: String,
    state: String,
    cookie: String,
}

/// Starts a flow, plays the browser at the provider, returns what came back.
async fn browser_round_trip(app: &TestApp, provider: &str) -> Returned {
    let res = app
        .get(&format!("/api/v1/auth/oauth/{provider}/authorize"))
        .await;
    let set_cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    assert!(cookie.starts_with("__Host-keel-oauth="), "{cookie}");
    let start: Value = res.json().await.expect("json");
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
    Returned {
        code: get("code"),
        state: get("state"),
        cookie,
    }
}

/// Posts `code` and `state` to the callback with the binding `cookie` (if any).
async fn callback_with(
    app: &TestApp,
    provider: &str,
    code: &str,
    state: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(&format!("/api/v1/auth/oauth/{provider}/callback")))
        .json(&json!({"code": code, "state": state}));
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.send().await.expect("request sent")
}

/// The callback as the browser that started the flow sends it.
async fn callback(app: &TestApp, provider: &str, r: &Returned) -> reqwest::Response {
    callback_with(app, provider, &r.code, &r.state, Some(&r.cookie)).await
}

#[tokio::test]
async fn google_sign_in_creates_a_verified_account_then_signs_into_it_again() {
    let fake = FakeOAuthProvider::start(
        "google-client",
        "google-secret",
        profile("Grace@Example.com", true),
    );
    let app = app_with("google", &fake).await;

    let flow = browser_round_trip(&app, "google").await;
    let first = callback(&app, "google", &flow).await;
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

    let flow = browser_round_trip(&app, "google").await;
    let again: Value = callback(&app, "google", &flow)
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

    let flow = browser_round_trip(&app, "github").await;
    let res = callback(&app, "github", &flow).await;

    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.expect("json");
    let linked: Value = app
        .me(tokens["access_token"].as_str().expect("token"))
        .await;
    assert_eq!(linked["id"], me["id"]);
}

#[tokio::test]
async fn a_callback_from_another_browser_is_refused() {
    let fake = FakeOAuthProvider::start(
        "google-client",
        "google-secret",
        profile("grace@example.com", true),
    );
    let app = app_with("google", &fake).await;
    // The attacker starts a flow in their browser and gets code + state for their account.
    let attackers = browser_round_trip(&app, "google").await;
    // The victim's browser posts them: it has no binding cookie, or the one of its own flow.
    let victims_own = browser_round_trip(&app, "google").await;

    for cookie in [None, Some(victims_own.cookie.as_str())] {
        let res = callback_with(&app, "google", &attackers.code, &attackers.state, cookie).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["errors"][0]["field"], "state", "{body}");
    }
    // The state was used up by the refused attempt: the attacker cannot retry it either.
    assert_eq!(callback(&app, "google", &attackers).await.status(), 422);
}

#[tokio::test]
async fn a_provider_sign_in_takes_over_an_unverified_account_and_its_password_stops_working() {
    // Someone registered the victim's address with their own password and never verified it.
    let fake = FakeOAuthProvider::start(
        "google-client",
        "google-secret",
        profile("victim@example.com", true),
    );
    let app = app_with("google", &fake).await;
    let res = app
        .post_json(
            "/api/v1/auth/register",
            json!({"email": "victim@example.com", "password": PASSWORD, "name": "Mallory"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let (squatter_access, _) = app.login("victim@example.com", PASSWORD).await;

    // The victim signs in with Google, which verified the address.
    let flow = browser_round_trip(&app, "google").await;
    let res = callback(&app, "google", &flow).await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.expect("json");
    let me = app
        .me(tokens["access_token"].as_str().expect("token"))
        .await;
    assert_eq!(me["email"], "victim@example.com");
    assert_eq!(me["email_verified"], true);

    // The squatter's password and session no longer work.
    let login = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "victim@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 401);
    let old = app.get_authed("/api/v1/users/me", &squatter_access).await;
    assert_eq!(old.status(), 401);
}

#[tokio::test]
async fn no_account_is_created_from_an_email_the_provider_did_not_verify() {
    let fake = FakeOAuthProvider::start(
        "gh-client",
        "gh-secret",
        profile("nobody-yet@example.com", false),
    );
    let app = app_with("github", &fake).await;

    let flow = browser_round_trip(&app, "github").await;
    let res = callback(&app, "github", &flow).await;

    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "oauth_email_unverified");
    let client = app.db.client().await;
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(users, 0);
}

#[tokio::test]
async fn a_password_reset_removes_provider_links_not_made_through_a_verified_email() {
    let fake = FakeOAuthProvider::start("gh-client", "gh-secret", profile("ada@example.com", true));
    let app = app_with("github", &fake).await;
    app.signed_in_user("ada@example.com").await;
    // A link made (by an earlier version) through an unverified provider email, and one made
    // through a verified email.
    let client = app.db.client().await;
    client
        .execute(
            "INSERT INTO oauth_identities (provider, provider_user_id, user_id, email_verified)
             SELECT p, s, id, v FROM users,
                    (VALUES ('github', 'attacker', false), ('google', 'owner', true)) AS l(p, s, v)
             WHERE email = 'ada@example.com'",
            &[],
        )
        .await
        .expect("links");

    // The owner resets the password through the emailed link.
    let res = app
        .post_json(
            "/api/v1/auth/password/forgot",
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let token = app.emailed_token("ada@example.com", "password_reset").await;
    let res = app
        .post_json(
            "/api/v1/auth/password/reset",
            json!({"token": token, "new_password": "quartz-lantern-orbit-93"}),
        )
        .await;
    assert_eq!(res.status(), 204);

    let left: Vec<String> = client
        .query(
            "SELECT provider_user_id FROM oauth_identities ORDER BY 1",
            &[],
        )
        .await
        .expect("links")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["owner"]);
}

#[tokio::test]
async fn an_unverified_provider_email_never_links_to_an_existing_account() {
    let fake =
        FakeOAuthProvider::start("gh-client", "gh-secret", profile("ada@example.com", false));
    let app = app_with("github", &fake).await;
    app.signed_in_user("ada@example.com").await;

    let flow = browser_round_trip(&app, "github").await;
    let res = callback(&app, "github", &flow).await;

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

    let flow = browser_round_trip(&app, "google").await;
    assert_eq!(callback(&app, "google", &flow).await.status(), 200);
    let reused = callback(&app, "google", &flow).await;
    let forged = callback_with(
        &app,
        "google",
        &flow.code,
        "not-a-state",
        Some(&flow.cookie),
    )
    .await;

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

    let flow = browser_round_trip(&app, "google").await;
    let res = callback_with(
        &app,
        "google",
        "wrong-code",
        &flow.state,
        Some(&flow.cookie),
    )
    .await;

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
    let res = callback_with(&app, "github", "c", "s", None).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn an_oauth_sign_in_to_an_account_with_2fa_asks_for_the_code() {
    let fake = FakeOAuthProvider::start("gh-client", "gh-secret", profile("ada@example.com", true));
    let app = app_with("github", &fake).await;
    let (access, _) = app.signed_in_user("ada@example.com").await;
    app.enable_2fa(&access).await;

    let flow = browser_round_trip(&app, "github").await;
    let body: Value = callback(&app, "github", &flow)
        .await
        .json()
        .await
        .expect("json");

    assert_eq!(body["mfa_required"], true, "{body}");
}
