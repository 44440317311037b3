//! What `APP_ENV=production` refuses: missing or development secrets, short keys, the local
//! SMTP sink, well-known database passwords, a database connection that may go unencrypted
//! (unless `KEEL_ALLOW_INSECURE_DB=1`) and a media root relative to the working directory.
//! What it only warns about: Redis without a password, media over plain-HTTP S3. Every such
//! rule lives here.

use secrecy::ExposeSecret;

use super::vars::Vars;
use super::{
    Config, ConfigError, DEVELOPMENT_SECRET_KEY, DEVELOPMENT_SMTP_URL, MediaStorage, database,
};

/// Passwords that a production database URL must not use.
const KNOWN_DEFAULT_PASSWORDS: &[&str] = &["postgres", "password", "keel", "changeme", "secret"];

/// The one check made before anything else is read: unset, the key would fall back to the
/// development default, and every later error would hide that.
pub(super) fn require_secret_key(v: &Vars) -> Result<(), ConfigError> {
    match v.get("KEEL_SECRET_KEY") {
        Some(_) => Ok(()),
        None => Err(ConfigError::new(
            "KEEL_SECRET_KEY",
            "must be set in production (at least 32 random bytes, e.g. `openssl rand -hex 32`)",
        )),
    }
}

/// The checks made on a fully read production configuration: no development defaults, no
/// short secrets, no well-known database password. The first failing one is reported.
pub(super) fn refuse_insecure(config: &Config) -> Result<(), ConfigError> {
    let key = config.secret_key.expose_secret();
    if key == DEVELOPMENT_SECRET_KEY {
        return Err(ConfigError::new(
            "KEEL_SECRET_KEY",
            "is the development default; set a random value in production",
        ));
    }
    if key.len() < 32 {
        return Err(ConfigError::new(
            "KEEL_SECRET_KEY",
            format!("is {} bytes long; production needs at least 32", key.len()),
        ));
    }
    for (kid, secret) in &config.auth.jwt_keys {
        let secret = secret.expose_secret();
        if secret == key {
            // Unset KEEL_JWT_KEYS falls back to KEEL_SECRET_KEY, which also derives the
            // sealing keys: one leak (a token-signing host) would open the TOTP secrets.
            return Err(ConfigError::new(
                "KEEL_JWT_KEYS",
                format!(
                    "key {kid} is KEEL_SECRET_KEY; production needs its own JWT keys \
                     (KEEL_JWT_KEYS=k1=<32+ random bytes>)"
                ),
            ));
        }
        if secret.len() < 32 || secret == DEVELOPMENT_SECRET_KEY {
            return Err(ConfigError::new(
                "KEEL_JWT_KEYS",
                format!("key {kid} must be at least 32 random bytes in production"),
            ));
        }
    }
    if config.email.smtp_url.expose_secret() == DEVELOPMENT_SMTP_URL {
        return Err(ConfigError::new(
            "SMTP_URL",
            "must be set in production (the default is a local development sink)",
        ));
    }
    if config.cors.allows_any_origin() {
        return Err(ConfigError::new(
            "KEEL_CORS_ALLOWED_ORIGINS",
            "must list exact origins in production, not *",
        ));
    }
    if let MediaStorage::Local { root } = &config.media.storage
        && !root.is_absolute()
    {
        // A relative root lands wherever the process happens to start (inside a read-only
        // image, or a directory no other replica sees): uploads would vanish on redeploy.
        return Err(ConfigError::new(
            "KEEL_MEDIA_ROOT",
            format!(
                "is the relative path {:?}; production needs an absolute path on a persistent \
                 volume (e.g. /var/lib/keel/media) or KEEL_MEDIA_S3_BUCKET",
                root.display().to_string()
            ),
        ));
    }
    let pg = database::parse_url(config.database.url.expose_secret())?;
    if !config.database.ssl_mode.requires_tls() && !config.database.allow_insecure {
        return Err(ConfigError::new(
            "DATABASE_URL",
            "must use sslmode=require, verify-ca or verify-full in production \
             (set KEEL_ALLOW_INSECURE_DB=1 only if the database network is private)",
        ));
    }
    if let Some(password) = pg.pg.get_password() {
        let password = String::from_utf8_lossy(password).to_lowercase();
        if KNOWN_DEFAULT_PASSWORDS.contains(&password.as_str()) {
            return Err(ConfigError::new(
                "DATABASE_URL",
                "uses a well-known default password; set a strong one in production",
            ));
        }
    }
    Ok(())
}

/// What a production configuration allows but an operator should hear about.
pub(super) fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if !config.redis.has_password {
        out.push(
            "REDIS_URL has no password: set requirepass (or an ACL user) on the server and \
             put the password in the URL"
                .to_owned(),
        );
    }
    if config.database.allow_insecure && !config.database.ssl_mode.requires_tls() {
        out.push("KEEL_ALLOW_INSECURE_DB=1: the database connection may be unencrypted".to_owned());
    }
    if let MediaStorage::S3(s3) = &config.media.storage
        && s3
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
    {
        out.push(
            "KEEL_MEDIA_S3_ENDPOINT is plain http: uploads and signed URLs travel unencrypted \
             (use https unless the store is on a private network)"
                .to_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
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
        let err =
            production(&[("KEEL_SECRET_KEY", DEVELOPMENT_SECRET_KEY)]).expect_err("must fail");
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
}
