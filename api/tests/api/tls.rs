//! The `keel-api` binary in production against the local PostgreSQL over TLS: an unencrypted
//! database connection is refused at startup, `sslmode=require` serves (every session
//! encrypted), and a Redis without a password is a startup warning.

use std::time::Duration;

use keel_shared::testing::{ChildProcess, TestDb, TestRedis, free_port, test_env_with};

const BIN: &str = env!("CARGO_BIN_EXE_keel-api");
const STRONG_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";
const REAL_SMTP: &str = "smtps://user:pw@smtp.example.com:465";

#[tokio::test]
async fn production_refuses_a_database_connection_that_may_be_unencrypted() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let env = test_env_with(
        &db,
        &redis,
        &[
            ("APP_ENV", "production"),
            ("KEEL_SECRET_KEY", STRONG_KEY),
            ("KEEL_JWT_KEYS", "k1=fedcba9876543210fedcba9876543210fedc"),
            ("SMTP_URL", REAL_SMTP),
        ],
    );

    let (code, stderr) = ChildProcess::run(BIN, &["serve"], &env);

    assert_eq!(code, Some(78), "{stderr}");
    assert!(
        stderr.contains("DATABASE_URL: must use sslmode=require"),
        "{stderr}"
    );
}

#[tokio::test]
async fn production_serves_over_tls_to_postgres_and_warns_about_redis_without_password() {
    let (db, redis) = (TestDb::migrated().await, TestRedis::new());
    let addr = format!("127.0.0.1:{}", free_port());
    let url = format!("{}?sslmode=require", db.url);
    let env = test_env_with(
        &db,
        &redis,
        &[
            ("APP_ENV", "production"),
            ("KEEL_SECRET_KEY", STRONG_KEY),
            ("KEEL_JWT_KEYS", "k1=fedcba9876543210fedcba9876543210fedc"),
            ("SMTP_URL", REAL_SMTP),
            ("DATABASE_URL", url.as_str()),
            ("KEEL_API_ADDR", addr.as_str()),
        ],
    );
    let mut api = ChildProcess::spawn(BIN, &["serve"], &env);

    api.wait_until_ok(&format!("http://{addr}/readyz"), Duration::from_secs(20))
        .await;

    let encrypted: Option<bool> = db
        .client()
        .await
        .query_one(
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'keel-api' AND a.datname = current_database()",
            &[],
        )
        .await
        .expect("query")
        .get(0);
    assert_eq!(encrypted, Some(true), "the api's sessions are over TLS");
    api.terminate();
    assert!(api.wait().success());
    let stderr = api.stderr();
    assert!(stderr.contains("REDIS_URL has no password"), "{stderr}");
}
