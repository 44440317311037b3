//! TLS to PostgreSQL and Redis against servers started with TLS on: a second PostgreSQL with
//! `ssl=on` that refuses plain connections, and a redis-server with `requirepass` and
//! `tls-port`, both with certificates from a throwaway CA.

use std::path::Path;

use keel_shared::Config;
use keel_shared::testing::{TestCa, TlsPostgres, TlsRedis};

fn config(vars: &[(&str, String)]) -> Config {
    Config::from_vars(vars.iter().map(|(k, v)| (*k, v.clone())))
        .unwrap_or_else(|e| panic!("{vars:?}: {e}"))
}

fn pg_url(port: u16, host: &str, mode: &str, root: Option<&Path>) -> String {
    let mut url = format!("postgres://postgres@{host}:{port}/postgres?sslmode={mode}");
    if let Some(root) = root {
        url.push_str(&format!("&sslrootcert={}", root.display()));
    }
    url
}

/// Whether the session is encrypted, as PostgreSQL sees it; or the connection error.
async fn session_is_encrypted(url: String) -> Result<bool, String> {
    let cfg = config(&[
        ("DATABASE_URL", url),
        ("KEEL_DB_CONNECT_TIMEOUT_MS", "5000".to_owned()),
    ]);
    let pool = keel_shared::db::pool(&cfg.database, "keel-tls-test").map_err(|e| e.to_string())?;
    let client = pool.get().await.map_err(|e| format!("{e:?}"))?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test]
async fn postgres_verify_full_accepts_a_certificate_naming_the_host_and_refuses_other_cas() {
    let ca = TestCa::new();
    let cert = ca.server_cert("db", "DNS:localhost,IP:127.0.0.1");
    let pg = TlsPostgres::start(&cert);
    let port = pg.port;

    for host in ["127.0.0.1", "localhost"] {
        let url = pg_url(port, host, "verify-full", Some(&ca.cert));
        assert_eq!(session_is_encrypted(url).await, Ok(true), "{host}");
    }
    for mode in ["require", "prefer"] {
        let url = pg_url(port, "127.0.0.1", mode, None);
        assert_eq!(session_is_encrypted(url).await, Ok(true), "{mode}");
    }
    // The server refuses plain sessions, so the successes above were over TLS.
    let plain = session_is_encrypted(pg_url(port, "127.0.0.1", "disable", None)).await;
    assert!(
        plain
            .as_ref()
            .is_err_and(|e| e.contains("no pg_hba.conf entry")),
        "{plain:?}"
    );

    let stranger = TestCa::new();
    for mode in ["verify-full", "verify-ca"] {
        let url = pg_url(port, "127.0.0.1", mode, Some(&stranger.cert));
        let refused = session_is_encrypted(url).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("UnknownIssuer")),
            "{mode}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn postgres_verify_full_refuses_a_certificate_for_another_host() {
    let ca = TestCa::new();
    let cert = ca.server_cert("elsewhere", "DNS:db.elsewhere.invalid");
    let pg = TlsPostgres::start(&cert);

    let wrong_host =
        session_is_encrypted(pg_url(pg.port, "127.0.0.1", "verify-full", Some(&ca.cert))).await;
    assert!(
        wrong_host
            .as_ref()
            .is_err_and(|e| e.contains("NotValidForName")),
        "{wrong_host:?}"
    );
    // verify-ca checks the chain only, require nothing: both connect, encrypted.
    let chain_only =
        session_is_encrypted(pg_url(pg.port, "127.0.0.1", "verify-ca", Some(&ca.cert))).await;
    assert_eq!(chain_only, Ok(true));
    let unverified = session_is_encrypted(pg_url(pg.port, "127.0.0.1", "require", None)).await;
    assert_eq!(unverified, Ok(true));
}

#[tokio::test]
async fn migrations_connect_with_the_same_tls_settings() {
    let ca = TestCa::new();
    let pg = TlsPostgres::start(&ca.server_cert("db", "IP:127.0.0.1"));
    let good = config(&[(
        "DATABASE_URL",
        pg_url(pg.port, "127.0.0.1", "verify-full", Some(&ca.cert)),
    )]);
    let client = keel_shared::db::connect_for_migrations(&good.database)
        .await
        .expect("connects");
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("query")
        .get(0);
    assert!(ssl);

    let untrusted = TestCa::new();
    let bad = config(&[(
        "DATABASE_URL",
        pg_url(pg.port, "127.0.0.1", "verify-full", Some(&untrusted.cert)),
    )]);
    let err = keel_shared::db::connect_for_migrations(&bad.database)
        .await
        .expect_err("untrusted CA");
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
}

#[test]
fn a_missing_root_certificate_file_stops_the_pool_from_being_built() {
    let cfg = config(&[(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1/postgres?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
            .to_owned(),
    )]);
    let err = keel_shared::db::pool(&cfg.database, "keel-tls-test").expect_err("must fail");
    assert!(
        err.to_string()
            .starts_with("DATABASE_URL TLS: cannot read CA certificates from /nonexistent/ca.pem"),
        "{err}"
    );
}

/// `PING` through a pool built from `REDIS_URL` (and the CA file, if any).
async fn redis_ping(url: String, ca_file: Option<&Path>) -> Result<String, String> {
    let mut vars = vec![
        ("REDIS_URL", url),
        ("KEEL_REDIS_TIMEOUT_MS", "3000".to_owned()),
    ];
    if let Some(ca) = ca_file {
        vars.push(("KEEL_REDIS_CA_FILE", ca.display().to_string()));
    }
    let cfg = config(&vars);
    let pool = keel_shared::redis::pool(&cfg.redis).map_err(|e| e.to_string())?;
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn rediss_with_the_password_and_the_ca_answers_and_nothing_less_does() {
    let ca = TestCa::new();
    let server = TlsRedis::start(&ca.server_cert("cache", "DNS:localhost,IP:127.0.0.1"), &ca);
    let (pw, tls_port, port) = (&server.password, server.tls_port, server.port);

    for host in ["127.0.0.1", "localhost"] {
        let url = format!("rediss://:{pw}@{host}:{tls_port}");
        assert_eq!(
            redis_ping(url, Some(&ca.cert)).await,
            Ok("PONG".to_owned()),
            "{host}"
        );
    }
    let plain = format!("redis://:{pw}@127.0.0.1:{port}");
    assert_eq!(redis_ping(plain, None).await, Ok("PONG".to_owned()));

    let no_password = redis_ping(format!("rediss://127.0.0.1:{tls_port}"), Some(&ca.cert)).await;
    assert!(
        no_password.as_ref().is_err_and(|e| e.contains("NOAUTH")),
        "{no_password:?}"
    );
    let wrong_password = redis_ping(
        format!("rediss://:wrong@127.0.0.1:{tls_port}"),
        Some(&ca.cert),
    )
    .await;
    assert!(
        wrong_password
            .as_ref()
            .is_err_and(|e| e.contains("Password authentication failed")),
        "{wrong_password:?}"
    );
    let stranger = TestCa::new();
    let untrusted = redis_ping(
        format!("rediss://:{pw}@127.0.0.1:{tls_port}"),
        Some(&stranger.cert),
    )
    .await;
    assert!(
        untrusted
            .as_ref()
            .is_err_and(|e| e.contains("UnknownIssuer")),
        "{untrusted:?}"
    );
    let wrong_host = TlsRedis::start(&ca.server_cert("other", "DNS:cache.elsewhere.invalid"), &ca);
    let url = format!(
        "rediss://:{}@127.0.0.1:{}",
        wrong_host.password, wrong_host.tls_port
    );
    let refused = redis_ping(url, Some(&ca.cert)).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("certificate not valid for name")),
        "{refused:?}"
    );
}
