//! `spawn_app`: the real api on a free port with a database and Redis namespace of its own.

use actix_web::dev::ServerHandle;
use keel_api::startup::Application;
use keel_shared::telemetry;
use keel_shared::testing::{
    TcpProxy, TestDb, TestRedis, base_database_url, base_redis_url, host_port, test_config,
    with_address,
};

/// A running api and what it stands on.
pub struct TestApp {
    pub address: String,
    /// `http://127.0.0.1:<port>` of the metrics listener (`KEEL_API_METRICS_ADDR`).
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub redis: TestRedis,
    handle: ServerHandle,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// [`TestApp::post_json`] as if from client `ip`, forwarded by a proxy (the app must be
    /// from [`spawn_app_trusting_forwarded`]).
    pub async fn post_json_from(
        &self,
        ip: &str,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("x-forwarded-for", ip)
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// `GET /api/v1/users/me` with `token`, as JSON.
    pub async fn me(&self, token: &str) -> serde_json::Value {
        self.get_authed("/api/v1/users/me", token)
            .await
            .json()
            .await
            .expect("json")
    }

    /// Sets up and enables 2FA for the holder of `access` with a code from a step back (so a
    /// login right after can use the current step); returns (base32 secret, recovery codes).
    pub async fn enable_2fa(&self, access: &str) -> (String, Vec<String>) {
        let setup: serde_json::Value = self
            .client
            .post(self.url("/api/v1/auth/2fa/setup"))
            .bearer_auth(access)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        let secret = setup["secret"].as_str().expect("secret").to_owned();
        let code =
            keel_shared::auth::totp::code_for_base32(&secret, now_secs() - 30).expect("code");
        let res = self
            .client
            .post(self.url("/api/v1/auth/2fa/enable"))
            .bearer_auth(access)
            .json(&serde_json::json!({"code": code}))
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 200, "enable 2FA");
        let body: serde_json::Value = res.json().await.expect("json");
        let codes = body["recovery_codes"]
            .as_array()
            .expect("codes")
            .iter()
            .map(|c| c.as_str().expect("str").to_owned())
            .collect();
        (secret, codes)
    }

    /// Plays the worker's part for link emails waiting in the outbox (no worker runs in
    /// these tests): makes each link as `send_email_link` does, and rewrites the row as the
    /// `send_email` job carrying that email, so a test can read the link. A job with nothing
    /// to send (an address without an account) is removed.
    async fn issue_outbox_links(&self) {
        use keel_shared::jobs::payloads::SendEmailLink;
        let pool = self.db.pool();
        let client = pool.get().await.expect("connection");
        let rows = client
            .query(
                "SELECT id, envelope FROM job_outbox WHERE envelope->>'name' = 'send_email_link' ORDER BY id",
                &[],
            )
            .await
            .expect("outbox");
        for row in rows {
            let id: i64 = row.get(0);
            let mut envelope: serde_json::Value = row.get(1);
            let job: SendEmailLink =
                serde_json::from_value(envelope["payload"].clone()).expect("payload");
            let email = keel_shared::accounts::links::issue(&client, "http://localhost:3000", &job)
                .await
                .expect("issue");
            match email {
                Some(email) => {
                    envelope["name"] = "send_email".into();
                    envelope["v"] = 2.into();
                    envelope["payload"] = serde_json::json!({
                        "idempotency_key": job.idempotency_key,
                        "to": job.to,
                        "email": email,
                    });
                    client
                        .execute(
                            "UPDATE job_outbox SET envelope = $2 WHERE id = $1",
                            &[&id, &envelope],
                        )
                        .await
                        .expect("rewrite");
                }
                None => {
                    client
                        .execute("DELETE FROM job_outbox WHERE id = $1", &[&id])
                        .await
                        .expect("drop");
                }
            }
        }
    }

    /// Every `send_email` job waiting in the outbox as (to, template, the email's values),
    /// link emails included (their links made as the worker would).
    pub async fn outbox_emails(&self) -> Vec<(String, String, serde_json::Value)> {
        self.issue_outbox_links().await;
        let client = self.db.client().await;
        client
            .query("SELECT envelope FROM job_outbox ORDER BY id", &[])
            .await
            .expect("outbox")
            .iter()
            .map(|r| r.get::<_, serde_json::Value>(0))
            .filter(|e| e["name"] == "send_email")
            .map(|e| {
                let p = &e["payload"];
                (
                    p["to"].as_str().unwrap_or_default().to_owned(),
                    p["email"]["template"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    p["email"].clone(),
                )
            })
            .collect()
    }

    /// The token in the latest emailed link of `template` to `to`.
    pub async fn emailed_token(&self, to: &str, template: &str) -> String {
        let emails = self.outbox_emails().await;
        let (_, _, data) = emails
            .iter()
            .rev()
            .find(|(t, tpl, _)| t == to && tpl == template)
            .unwrap_or_else(|| panic!("no {template} email to {to} in {emails:?}"));
        let link = data["link"]
            .as_str()
            .or(data["undo_link"].as_str())
            .expect("link");
        link.split("token=")
            .nth(1)
            .expect("token in link")
            .to_owned()
    }

    /// Registers, verifies and signs in `email`; returns (access, refresh).
    pub async fn signed_in_user(&self, email: &str) -> (String, String) {
        let res = self
            .post_json(
                "/api/v1/auth/register",
                serde_json::json!({"email": email, "password": PASSWORD, "name": "Ada Lovelace"}),
            )
            .await;
        assert_eq!(res.status(), 202, "register");
        let token = self.emailed_token(email, "verify_email").await;
        let res = self
            .post_json(
                "/api/v1/auth/verify-email",
                serde_json::json!({"token": token}),
            )
            .await;
        assert_eq!(res.status(), 204, "verify");
        self.login(email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 200, "login");
        let body: serde_json::Value = res.json().await.expect("json");
        (
            body["access_token"].as_str().expect("access").to_owned(),
            body["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }
}

/// Asserts `res` is a problem document with `status`, and returns its body.
pub async fn problem(res: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.expect("json")
}

impl TestApp {
    /// Makes every session of `email` look as if it signed in an hour ago (too long ago to
    /// stand in for the password).
    pub async fn age_sessions(&self, email: &str) {
        self.db
            .client()
            .await
            .execute(
                "UPDATE sessions SET created_at = now() - interval '1 hour'
                 WHERE user_id = (SELECT id FROM users WHERE email = $1)",
                &[&email],
            )
            .await
            .expect("aged");
    }
}

/// The api's `/metrics`, scraped from its metrics listener.
pub async fn scrape(app: &TestApp) -> String {
    let address = app.metrics_address.as_deref().expect("metrics are on");
    let res = reqwest::get(format!("{address}/metrics"))
        .await
        .expect("scraped");
    assert_eq!(res.status(), 200);
    res.text().await.expect("text")
}

/// The value of `series` (name and labels as rendered) in a scrape; 0 when absent.
pub fn series(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().expect("a number"))
}

/// Unix time in seconds.
pub fn now_secs() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).expect("time")
}

/// A password that passes the rules.
pub const PASSWORD: &str = "violet-anchor-mosaic-71";

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop without waiting: the runtime is going away with the test.
        drop(handle.stop(false));
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// An api that takes the client address from `X-Forwarded-For` (see
/// [`TestApp::post_json_from`]), plus `overrides`. The one place that knows which setting
/// makes the api believe the header: change it here when that setting changes.
pub async fn spawn_app_trusting_forwarded(overrides: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("KEEL_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")];
    vars.extend_from_slice(overrides);
    spawn_app_with(&vars).await
}

pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let db = TestDb::migrated().await;
    let redis = TestRedis::new();
    let config = test_config(&db, &redis, overrides);
    start(db, redis, config).await
}

async fn start(db: TestDb, redis: TestRedis, config: keel_shared::Config) -> TestApp {
    telemetry::init(&config.log);
    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::new(),
        db,
        redis,
        handle,
    }
}

/// An api whose PostgreSQL and Redis connections go through proxies the test controls.
pub struct ProxiedApp {
    pub app: TestApp,
    pub postgres: TcpProxy,
    pub redis: TcpProxy,
}

pub async fn spawn_app_behind_proxies() -> ProxiedApp {
    spawn_app_behind_proxies_with(&[]).await
}

/// [`spawn_app_behind_proxies`] with configuration overrides.
pub async fn spawn_app_behind_proxies_with(overrides: &[(&str, &str)]) -> ProxiedApp {
    let postgres = TcpProxy::start(host_port(&base_database_url(), 5432)).await;
    let redis = TcpProxy::start(host_port(&base_redis_url(), 6379)).await;
    let db = TestDb::migrated().await;
    let test_redis = TestRedis::new();
    let db_url = with_address(&db.url, postgres.addr());
    let redis_url = with_address(&test_redis.url, redis.addr());
    let mut vars = vec![
        ("DATABASE_URL", db_url.as_str()),
        ("REDIS_URL", redis_url.as_str()),
    ];
    vars.extend_from_slice(overrides);
    let config = test_config(&db, &test_redis, &vars);
    ProxiedApp {
        app: start(db, test_redis, config).await,
        postgres,
        redis,
    }
}
