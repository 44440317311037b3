use super::super::{AppEnv, LogFormat};
use super::*;

const STRONG_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";
const JWT_KEYS: (&str, &str) = ("KEEL_JWT_KEYS", "k1=fedcba9876543210fedcba9876543210fedc");
const REAL_SMTP: (&str, &str) = ("SMTP_URL", "smtps://user:pw@smtp.example.com:465");
const STRONG_DB: (&str, &str) = (
    "DATABASE_URL",
    "postgres://app:Xk29vLq8a@db/keel?sslmode=verify-full",
);
const MEDIA_ROOT: (&str, &str) = ("KEEL_MEDIA_ROOT", "/var/lib/keel/media");

/// A production configuration from `extra` on top of `APP_ENV=production`.
fn production(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
    let mut vars = vec![("APP_ENV", "production"), MEDIA_ROOT];
    vars.extend_from_slice(extra);
    Config::from_vars(vars)
}

#[test]
fn production_requires_a_secret_key() {
    let err = production(&[]).expect_err("must fail");
    assert_eq!(err.var, "KEEL_SECRET_KEY");
    assert!(err.problem.starts_with("must be set in production"));
}

#[test]
fn a_missing_secret_key_is_reported_before_any_other_problem() {
    let err = production(&[("KEEL_API_ADDR", "nonsense")]).expect_err("must fail");
    assert_eq!(err.var, "KEEL_SECRET_KEY");
}

#[test]
fn production_refuses_a_short_secret_key() {
    let err = production(&[("KEEL_SECRET_KEY", "short")]).expect_err("must fail");
    assert_eq!(err.var, "KEEL_SECRET_KEY");
    assert_eq!(err.problem, "is 5 bytes long; production needs at least 32");
}

#[test]
fn production_refuses_the_development_secret_key() {
    let err = production(&[("KEEL_SECRET_KEY", DEVELOPMENT_SECRET_KEY)]).expect_err("must fail");
    assert!(err.problem.contains("development default"));
}

#[test]
fn production_refuses_a_short_jwt_key() {
    let err = production(&[
        ("KEEL_SECRET_KEY", STRONG_KEY),
        ("KEEL_JWT_KEYS", "k1=short"),
    ])
    .expect_err("must fail");
    assert_eq!(err.var, "KEEL_JWT_KEYS");
    assert_eq!(
        err.problem,
        "key k1 must be at least 32 random bytes in production"
    );
}

#[test]
fn production_refuses_jwt_keys_that_are_the_secret_key() {
    let unset = production(&[("KEEL_SECRET_KEY", STRONG_KEY), REAL_SMTP]).expect_err("unset");
    assert_eq!(unset.var, "KEEL_JWT_KEYS");
    assert!(unset.problem.contains("k0 is KEEL_SECRET_KEY"), "{unset}");
    let same = format!("k0=abc-other-key-of-enough-length-000000,k1={STRONG_KEY}");
    let err = Config::from_vars([
        ("APP_ENV", "production"),
        ("KEEL_SECRET_KEY", STRONG_KEY),
        ("KEEL_JWT_KEYS", same.as_str()),
        REAL_SMTP,
    ])
    .expect_err("same key listed");
    assert_eq!(err.var, "KEEL_JWT_KEYS");
    assert!(err.problem.contains("k1 is KEEL_SECRET_KEY"), "{err}");
}

#[test]
fn production_requires_a_real_smtp_server() {
    let err = production(&[("KEEL_SECRET_KEY", STRONG_KEY), JWT_KEYS]).expect_err("must fail");
    assert_eq!(err.var, "SMTP_URL");
}

#[test]
fn production_refuses_a_default_database_password_in_any_case() {
    for url in [
        "postgres://app:postgres@db/keel?sslmode=require",
        "postgres://app:ChangeMe@db/keel?sslmode=require",
    ] {
        let err = production(&[
            ("KEEL_SECRET_KEY", STRONG_KEY),
            ("DATABASE_URL", url),
            REAL_SMTP,
            JWT_KEYS,
        ])
        .expect_err(url);
        assert_eq!(err.var, "DATABASE_URL", "{url}");
    }
}

#[test]
fn production_with_strong_settings_starts_with_json_logs() {
    let c = production(&[
        ("KEEL_SECRET_KEY", STRONG_KEY),
        JWT_KEYS,
        REAL_SMTP,
        STRONG_DB,
    ])
    .expect("valid");
    assert_eq!(c.env, AppEnv::Production);
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn production_refuses_a_database_connection_that_may_be_unencrypted() {
    for url in [
        "postgres://app:Xk29vLq8a@db/keel?sslmode=disable",
        "postgres://app:Xk29vLq8a@db/keel?sslmode=prefer",
        "postgres://app:Xk29vLq8a@db/keel",
    ] {
        let err = production(&[
            ("KEEL_SECRET_KEY", STRONG_KEY),
            JWT_KEYS,
            REAL_SMTP,
            ("DATABASE_URL", url),
        ])
        .expect_err(url);
        assert_eq!(err.var, "DATABASE_URL", "{url}");
        assert!(err.problem.contains("sslmode=require"), "{err}");
    }
}

#[test]
fn allow_insecure_db_lets_production_connect_without_tls_with_a_warning() {
    let c = production(&[
        ("KEEL_SECRET_KEY", STRONG_KEY),
        REAL_SMTP,
        JWT_KEYS,
        (
            "DATABASE_URL",
            "postgres://app:Xk29vLq8a@db/keel?sslmode=disable",
        ),
        ("KEEL_ALLOW_INSECURE_DB", "1"),
    ])
    .expect("valid");
    assert!(
        c.warnings()
            .iter()
            .any(|w| w.contains("KEEL_ALLOW_INSECURE_DB")),
        "{:?}",
        c.warnings()
    );
}

#[test]
fn every_verifying_sslmode_is_accepted_in_production() {
    for url in [
        "postgres://app:Xk29vLq8a@db/keel?sslmode=require",
        "postgres://app:Xk29vLq8a@db/keel?sslmode=verify-ca&sslrootcert=/ca.pem",
        "postgres://app:Xk29vLq8a@db/keel?sslmode=verify-full",
    ] {
        production(&[
            ("KEEL_SECRET_KEY", STRONG_KEY),
            JWT_KEYS,
            REAL_SMTP,
            ("DATABASE_URL", url),
        ])
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

#[test]
fn production_warns_when_redis_has_no_password_and_not_when_it_has_one() {
    let without = production(&[
        ("KEEL_SECRET_KEY", STRONG_KEY),
        JWT_KEYS,
        REAL_SMTP,
        STRONG_DB,
    ])
    .expect("valid");
    assert!(
        without
            .warnings()
            .iter()
            .any(|w| w.starts_with("REDIS_URL has no password")),
        "{:?}",
        without.warnings()
    );
    let with = production(&[
        ("KEEL_SECRET_KEY", STRONG_KEY),
        JWT_KEYS,
        REAL_SMTP,
        STRONG_DB,
        ("REDIS_URL", "rediss://:Xk29vLq8a@cache:6380"),
    ])
    .expect("valid");
    assert!(with.warnings().is_empty(), "{:?}", with.warnings());
}

#[test]
fn production_refuses_a_relative_media_root_and_takes_an_absolute_one_or_a_bucket() {
    let strong = [
        ("KEEL_SECRET_KEY", STRONG_KEY),
        JWT_KEYS,
        REAL_SMTP,
        STRONG_DB,
    ];
    for root in ["./.keel/media", "media"] {
        let mut vars = strong.to_vec();
        vars.push(("KEEL_MEDIA_ROOT", root));
        let err = production(&vars).expect_err(root);
        assert_eq!(err.var, "KEEL_MEDIA_ROOT", "{root}");
        assert!(err.problem.contains("absolute path"), "{err}");
    }
    let mut vars = strong.to_vec();
    vars.extend([
        ("KEEL_MEDIA_ROOT", "./.keel/media"),
        ("KEEL_MEDIA_S3_BUCKET", "keel-media"),
    ]);
    production(&vars).expect("a bucket needs no local root");
}

#[test]
fn production_warns_about_media_over_plain_http_only() {
    let with = |endpoint: &'static str| {
        production(&[
            ("KEEL_SECRET_KEY", STRONG_KEY),
            JWT_KEYS,
            REAL_SMTP,
            STRONG_DB,
            ("REDIS_URL", "rediss://:Xk29vLq8a@cache:6380"),
            ("KEEL_MEDIA_S3_BUCKET", "keel-media"),
            ("KEEL_MEDIA_S3_ENDPOINT", endpoint),
        ])
        .expect("valid")
        .warnings()
    };
    let plain = with("http://minio.internal:9000");
    assert!(
        plain
            .iter()
            .any(|w| w.starts_with("KEEL_MEDIA_S3_ENDPOINT is plain http")),
        "{plain:?}"
    );
    assert!(with("https://s3.example.com").is_empty());
}

#[test]
fn development_never_warns() {
    let c = Config::from_vars(Vec::<(String, String)>::new()).expect("valid");
    assert!(c.warnings().is_empty());
}

#[test]
fn production_refuses_any_origin_for_cors() {
    let err = production(&[
        ("KEEL_SECRET_KEY", STRONG_KEY),
        JWT_KEYS,
        REAL_SMTP,
        STRONG_DB,
        ("KEEL_CORS_ALLOWED_ORIGINS", "https://app.example.com, *"),
    ])
    .expect_err("must fail");
    assert_eq!(err.var, "KEEL_CORS_ALLOWED_ORIGINS");
}

#[test]
fn development_allows_what_production_refuses() {
    let c = Config::from_vars([
        ("APP_ENV", "development"),
        ("KEEL_SECRET_KEY", "short"),
        ("DATABASE_URL", "postgres://app:postgres@db/keel"),
    ])
    .expect("valid");
    assert_eq!(c.env, AppEnv::Development);
}
