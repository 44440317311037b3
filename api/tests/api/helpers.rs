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
    pub client: reqwest::Client,
    #[expect(
        dead_code,
        reason = "held so the database and namespace live as long as the app"
    )]
    pub db: TestDb,
    #[expect(
        dead_code,
        reason = "held so the database and namespace live as long as the app"
    )]
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
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
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
    let postgres = TcpProxy::start(host_port(&base_database_url(), 5432)).await;
    let redis = TcpProxy::start(host_port(&base_redis_url(), 6379)).await;
    let db = TestDb::migrated().await;
    let test_redis = TestRedis::new();
    let db_url = with_address(&db.url, postgres.addr());
    let redis_url = with_address(&test_redis.url, redis.addr());
    let config = test_config(
        &db,
        &test_redis,
        &[("DATABASE_URL", &db_url), ("REDIS_URL", &redis_url)],
    );
    ProxiedApp {
        app: start(db, test_redis, config).await,
        postgres,
        redis,
    }
}
