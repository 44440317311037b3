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
mod tests;
