//! Accounts and sessions: token signing keys and lifetimes, abuse limits, password hashing.

use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;
use super::vars::Vars;

/// Accounts, tokens and abuse limits.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `KEEL_JWT_KEYS`: `kid=secret` pairs separated by `,`; the first signs, all verify.
    /// Unset: one key, `k0`, with `KEEL_SECRET_KEY`.
    pub jwt_keys: Vec<(String, SecretString)>,
    /// `KEEL_JWT_ISSUER`: the `iss` claim of access tokens, required on every token.
    pub jwt_issuer: String,
    /// `KEEL_JWT_AUDIENCE`: the `aud` claim of access tokens, required on every token.
    pub jwt_audience: String,
    /// `KEEL_ACCESS_TOKEN_TTL_SECS`: access-token lifetime.
    pub access_ttl: Duration,
    /// `KEEL_SESSION_ABSOLUTE_TIMEOUT_SECS`: a session (refresh-token family) ends this long
    /// after the login, however much it is used.
    pub session_absolute_timeout: Duration,
    /// `KEEL_SESSION_IDLE_TIMEOUT_SECS`: a session whose refresh token was not used for this
    /// long ends.
    pub session_idle_timeout: Duration,
    /// `KEEL_LOGIN_MAX_FAILURES`: failed logins per account and client (IPv6: per /64) within
    /// the window before 429; also wrong second-factor codes per account and wrong passwords
    /// per user behind a bearer token.
    pub login_max_failures: u32,
    /// `KEEL_LOGIN_ACCOUNT_MAX_FAILURES`: failed logins per account from all clients together
    /// within the window before 429 (the account is locked until the window ends or its
    /// password is reset; its owner is told by email).
    pub login_account_max_failures: u32,
    /// `KEEL_RATE_LIMIT_WINDOW_SECS`: the window of every abuse limit.
    pub rate_window: Duration,
    /// `KEEL_RATE_LIMIT_PER_IP`: requests per IP within the window to each limited endpoint
    /// (register, login, forgot, resend).
    pub per_ip_limit: u32,
    /// `KEEL_PASSWORD_HASH_CONCURRENCY`: password hashes running at once (0: half the cores).
    pub hash_concurrency: usize,
}

impl AuthConfig {
    /// The `KEEL_JWT_KEYS` (default: `k0` with `secret_key`), token lifetimes and limits.
    /// Lifetimes, windows and limits of 0 are read as 1.
    pub(super) fn from_vars(v: &Vars, secret_key: &SecretString) -> Result<Self, ConfigError> {
        let jwt_keys = match v.get("KEEL_JWT_KEYS") {
            None => vec![("k0".to_owned(), secret_key.clone())],
            Some(raw) => parse_jwt_keys(raw).map_err(|e| ConfigError::new("KEEL_JWT_KEYS", e))?,
        };
        Ok(Self {
            jwt_keys,
            jwt_issuer: v.get_or("KEEL_JWT_ISSUER", "keel").to_owned(),
            jwt_audience: v.get_or("KEEL_JWT_AUDIENCE", "keel-api").to_owned(),
            access_ttl: v.secs_at_least_one("KEEL_ACCESS_TOKEN_TTL_SECS", 900)?,
            session_absolute_timeout: v
                .secs_at_least_one("KEEL_SESSION_ABSOLUTE_TIMEOUT_SECS", 30 * 86_400)?,
            session_idle_timeout: v
                .secs_at_least_one("KEEL_SESSION_IDLE_TIMEOUT_SECS", 7 * 86_400)?,
            login_max_failures: v.parse_or::<u32>("KEEL_LOGIN_MAX_FAILURES", 5)?.max(1),
            login_account_max_failures: v
                .parse_or::<u32>("KEEL_LOGIN_ACCOUNT_MAX_FAILURES", 20)?
                .max(1),
            rate_window: v.secs_at_least_one("KEEL_RATE_LIMIT_WINDOW_SECS", 900)?,
            per_ip_limit: v.parse_or::<u32>("KEEL_RATE_LIMIT_PER_IP", 50)?.max(1),
            hash_concurrency: v.parse_or("KEEL_PASSWORD_HASH_CONCURRENCY", 0)?,
        })
    }
}

/// `k2=secret2,k1=secret1` → `[("k2", secret2), ("k1", secret1)]`.
fn parse_jwt_keys(raw: &str) -> Result<Vec<(String, SecretString)>, String> {
    let mut keys: Vec<(String, SecretString)> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kid, secret) = part
            .split_once('=')
            .ok_or_else(|| "expected kid=secret pairs separated by commas".to_owned())?;
        let kid = kid.trim();
        if kid.is_empty()
            || !kid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "key id {kid:?} may hold only letters, digits, '-', '_' and '.'"
            ));
        }
        if secret.trim().is_empty() {
            return Err(format!("key {kid} has an empty secret"));
        }
        if keys.iter().any(|(k, _)| k == kid) {
            return Err(format!("key id {kid} is listed twice"));
        }
        keys.push((kid.to_owned(), SecretString::from(secret.trim().to_owned())));
    }
    if keys.is_empty() {
        return Err("lists no key".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::vars::{accepted, refused};

    fn auth(v: &Vars) -> Result<AuthConfig, ConfigError> {
        AuthConfig::from_vars(v, &SecretString::from("the-secret-key"))
    }

    #[test]
    fn jwt_keys_default_to_the_secret_key_and_parse_in_order() {
        let c = accepted(auth, &[]);
        assert_eq!(c.jwt_keys.len(), 1);
        assert_eq!(c.jwt_keys[0].0, "k0");
        assert_eq!(c.jwt_keys[0].1.expose_secret(), "the-secret-key");
        let c = accepted(
            auth,
            &[("KEEL_JWT_KEYS", "k2=second-secret,k1=first-secret")],
        );
        let kids: Vec<&str> = c.jwt_keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kids, ["k2", "k1"]);
    }

    #[test]
    fn malformed_jwt_keys_are_refused() {
        for bad in ["nokey", "k1=", "k 1=x", "k1=a,k1=b", ","] {
            refused(auth, "KEEL_JWT_KEYS", bad);
        }
    }

    #[test]
    fn lifetimes_and_limits_default_and_zero_reads_as_one() {
        let c = accepted(auth, &[]);
        assert_eq!(c.access_ttl, Duration::from_secs(900));
        assert_eq!(c.session_absolute_timeout, Duration::from_secs(30 * 86_400));
        assert_eq!(c.session_idle_timeout, Duration::from_secs(7 * 86_400));
        assert_eq!((c.login_max_failures, c.per_ip_limit), (5, 50));
        assert_eq!(c.login_account_max_failures, 20);
        assert_eq!(
            (c.jwt_issuer.as_str(), c.jwt_audience.as_str()),
            ("keel", "keel-api")
        );
        let c = accepted(
            auth,
            &[
                ("KEEL_ACCESS_TOKEN_TTL_SECS", "0"),
                ("KEEL_SESSION_ABSOLUTE_TIMEOUT_SECS", "0"),
                ("KEEL_SESSION_IDLE_TIMEOUT_SECS", "0"),
                ("KEEL_LOGIN_MAX_FAILURES", "0"),
                ("KEEL_LOGIN_ACCOUNT_MAX_FAILURES", "0"),
            ],
        );
        assert_eq!(c.access_ttl, Duration::from_secs(1));
        assert_eq!(c.session_absolute_timeout, Duration::from_secs(1));
        assert_eq!(c.session_idle_timeout, Duration::from_secs(1));
        assert_eq!(c.login_max_failures, 1);
        assert_eq!(c.login_account_max_failures, 1);
    }
}
