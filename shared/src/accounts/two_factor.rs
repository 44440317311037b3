//! Two-factor authentication with TOTP: setup, enable (with recovery codes), disable, and the
//! second step of a login. A code is accepted at most once (its time step is recorded).

use std::time::Duration;

use deadpool_postgres::GenericClient;
use serde_json::json;
use uuid::Uuid;

use super::sessions::{TokenPair, open_session};
use super::{AccountError, send};
use crate::Config;
use crate::auth::jwt::JwtKeys;
use crate::auth::sealed::Sealer;
use crate::auth::{password, tokens, totp};
use crate::db::user_tokens::{self, Purpose};
use crate::db::{PgPool, users};

/// How long the MFA token of a half-done login works.
pub const MFA_TTL: Duration = Duration::from_secs(300);

/// What setup answers: the secret in the forms an authenticator takes.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Base32, to type in.
    pub secret: String,
    /// `otpauth://` URI.
    pub otpauth_uri: String,
    /// The URI as an SVG QR code `data:` URI.
    pub qr_code: String,
}

fn sealer(config: &Config) -> Sealer {
    Sealer::new(&config.secret_key, "totp")
}

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// Starts setup: a new secret, pending until [`enable`] proves the authenticator has it.
pub async fn setup(
    pool: &PgPool,
    config: &Config,
    user: &users::User,
) -> Result<Setup, AccountError> {
    if user.totp_enabled {
        return Err(AccountError::TwoFactorAlreadyEnabled);
    }
    let secret = totp::new_secret();
    let uri = totp::uri(&secret, &user.email, &config.email.product_name)
        .ok_or(AccountError::InvalidCode)?;
    let client = pool.get().await?;
    users::set_totp_secret(&client, user.id, &sealer(config).seal(&secret)).await?;
    Ok(Setup {
        secret: totp::base32(&secret),
        qr_code: totp::qr_svg_data_uri(&uri).unwrap_or_default(),
        otpauth_uri: uri,
    })
}

/// Checks a TOTP code (once per time step) or an unused recovery code.
async fn check_second_factor(
    c: &impl GenericClient,
    config: &Config,
    user: &users::User,
    code: Option<&str>,
    recovery_code: Option<&str>,
) -> Result<(), AccountError> {
    if let Some(recovery) = recovery_code {
        return if users::use_recovery_code(c, user.id, &totp::recovery_code_hash(recovery)).await? {
            Ok(())
        } else {
            Err(AccountError::InvalidCode)
        };
    }
    let code = code.ok_or(AccountError::InvalidCode)?;
    let sealed = user
        .totp_secret
        .as_deref()
        .ok_or(AccountError::TwoFactorNotEnabled)?;
    let secret = sealer(config)
        .open(sealed)
        .map_err(|_| AccountError::InvalidCode)?;
    let step = totp::matching_step(&secret, code, now()).ok_or(AccountError::InvalidCode)?;
    if users::use_totp_step(c, user.id, i64::try_from(step).unwrap_or(i64::MAX)).await? {
        Ok(())
    } else {
        Err(AccountError::InvalidCode)
    }
}

/// Turns two-factor authentication on with a code from the authenticator; returns ten
/// single-use recovery codes (shown once; stored hashed).
pub async fn enable(
    pool: &PgPool,
    config: &Config,
    user: &users::User,
    code: &str,
) -> Result<Vec<String>, AccountError> {
    if user.totp_enabled {
        return Err(AccountError::TwoFactorAlreadyEnabled);
    }
    if user.totp_secret.is_none() {
        return Err(AccountError::TwoFactorNotEnabled);
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    check_second_factor(&tx, config, user, Some(code), None).await?;
    users::enable_totp(&tx, user.id).await?;
    let codes = totp::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| totp::recovery_code_hash(c)).collect();
    users::set_recovery_codes(&tx, user.id, &hashes).await?;
    send(
        &tx,
        format!("2fa-enabled:{}", Uuid::now_v7()),
        &user.email,
        "two_factor_enabled",
        json!({"name": user.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns two-factor authentication off; needs the password and a current code.
pub async fn disable(
    pool: &PgPool,
    config: &Config,
    user: &users::User,
    password_attempt: &str,
    code: &str,
) -> Result<(), AccountError> {
    if !user.totp_enabled {
        return Err(AccountError::TwoFactorNotEnabled);
    }
    if !password::verify(password_attempt, user.password_hash.as_deref()).await {
        return Err(AccountError::WrongPassword);
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    check_second_factor(&tx, config, user, Some(code), None).await?;
    users::disable_totp(&tx, user.id).await?;
    send(
        &tx,
        format!("2fa-disabled:{}", Uuid::now_v7()),
        &user.email,
        "two_factor_disabled",
        json!({"name": user.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A token standing for "password correct, second factor pending".
pub async fn issue_mfa_token(
    c: &impl GenericClient,
    user: &users::User,
) -> Result<String, AccountError> {
    let token = tokens::generate();
    user_tokens::insert(
        c,
        &tokens::hash(&token),
        user.id,
        Purpose::MfaLogin,
        &user.email,
        MFA_TTL,
    )
    .await?;
    Ok(token)
}

/// The user an MFA token stands for, if it is still valid (does not use it up).
pub async fn mfa_token_user(pool: &PgPool, mfa_token: &str) -> Result<Uuid, AccountError> {
    if !tokens::is_well_formed(mfa_token) {
        return Err(AccountError::InvalidToken);
    }
    let client = pool.get().await?;
    user_tokens::peek(&client, &tokens::hash(mfa_token), Purpose::MfaLogin)
        .await?
        .ok_or(AccountError::InvalidToken)
}

/// Completes a login with a TOTP code or a recovery code. A wrong code leaves the MFA token
/// usable (within its five minutes); the caller rate-limits failures.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
pub async fn complete_login(
    pool: &PgPool,
    config: &Config,
    jwt: &JwtKeys,
    mfa_token: &str,
    code: Option<&str>,
    recovery_code: Option<&str>,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<TokenPair, AccountError> {
    let user_id = mfa_token_user(pool, mfa_token).await?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let user = users::by_id(&tx, user_id)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    check_second_factor(&tx, config, &user, code, recovery_code).await?;
    user_tokens::consume(&tx, &tokens::hash(mfa_token), Purpose::MfaLogin)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let pair = open_session(&tx, config, jwt, user.id, user_agent, ip).await?;
    tx.commit().await?;
    Ok(pair)
}
