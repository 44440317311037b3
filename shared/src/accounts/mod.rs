//! Account operations: registration, email verification, login, refresh-token rotation,
//! password change and reset, profile changes, account deletion. Each runs in one
//! transaction; the emails they need are written to the outbox in that same transaction, so an
//! email goes out exactly when the change it announces committed.
//!
//! Answers that could reveal whether an email has an account (register, resend, forgot) are
//! the same either way, and the work done is similar (a password hash is paid when the
//! account is unknown).

pub mod oauth;
mod sessions;
pub mod two_factor;

use std::time::Duration;

use deadpool_postgres::GenericClient;
use serde_json::json;
use uuid::Uuid;

pub use sessions::{LoginOutcome, TokenPair, login, logout, refresh};

use crate::Config;
use crate::auth::{password, tokens};
use crate::db::user_tokens::{self, Purpose};
use crate::db::{self, PgPool, users};
use crate::domain::{DisplayName, EmailAddress, NewPassword, PasswordRejection};
use crate::jobs::outbox::{OutboxError, enqueue_in_tx};
use crate::jobs::payloads::SendEmail;

/// How long an email verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a password reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(3600);

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Unknown email or wrong password (never says which).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A token (email link, refresh token) that is unknown, used, expired or revoked.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A refresh token presented twice: its session has been revoked.
    #[error("refresh token reused; the session was revoked")]
    TokenReused,
    /// The current password given does not match.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A two-factor code (or recovery code) that is wrong, reused or expired.
    #[error("invalid two-factor code")]
    InvalidCode,
    /// Two-factor authentication is already on.
    #[error("two-factor authentication is already enabled")]
    TwoFactorAlreadyEnabled,
    /// Two-factor authentication is off (or was never set up).
    #[error("two-factor authentication is not enabled")]
    TwoFactorNotEnabled,
    /// The provider gave no email address.
    #[error("the provider shared no email address")]
    OAuthNoEmail,
    /// An account has the provider's email, but the provider did not verify it.
    #[error("the provider has not verified this email address")]
    OAuthEmailUnverified,
    /// The address belongs to another account (only said to a signed-in user).
    #[error("the email address is taken")]
    EmailTaken,
    /// The new password breaks a rule.
    #[error("password {0}")]
    WeakPassword(#[from] PasswordRejection),
    /// No database connection.
    #[error(transparent)]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A query failed.
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] password::HashError),
    /// Signing failed.
    #[error("cannot sign the access token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

async fn send(
    tx: &impl GenericClient,
    key: String,
    to: &str,
    template: &str,
    data: serde_json::Value,
) -> Result<(), AccountError> {
    enqueue_in_tx(
        tx,
        &SendEmail {
            idempotency_key: key,
            to: to.to_owned(),
            template: template.to_owned(),
            data,
        },
    )
    .await?;
    Ok(())
}

async fn send_verification(
    tx: &impl GenericClient,
    config: &Config,
    user: &users::User,
    to: &str,
) -> Result<(), AccountError> {
    let token = tokens::generate();
    user_tokens::revoke_all(tx, user.id, Purpose::VerifyEmail).await?;
    user_tokens::insert(
        tx,
        &tokens::hash(&token),
        user.id,
        Purpose::VerifyEmail,
        to,
        VERIFY_TTL,
    )
    .await?;
    let link = format!("{}/verify-email?token={token}", config.email.frontend_url);
    send(
        tx,
        format!("verify:{}", Uuid::now_v7()),
        to,
        "verify_email",
        json!({"name": user.name, "link": link}),
    )
    .await
}

/// Registers an unverified user and sends the verification email. An email that already has
/// an account gets a notice instead, and the caller sees the same success.
pub async fn register(
    pool: &PgPool,
    config: &Config,
    email: &EmailAddress,
    password: &str,
    name: &DisplayName,
) -> Result<(), AccountError> {
    let new_password = NewPassword::parse(password, &[email.as_str(), name.as_str()])?;
    let hash = password::hash(new_password.expose()).await?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    match users::insert(
        &tx,
        Uuid::now_v7(),
        email.as_str(),
        name.as_str(),
        Some(&hash),
    )
    .await
    {
        Ok(user) => send_verification(&tx, config, &user, email.as_str()).await?,
        Err(e) if db::is_unique_violation(&e, users::EMAIL_KEY) => {
            drop(tx);
            let tx = client.transaction().await?;
            send(
                &tx,
                format!("exists:{}", Uuid::now_v7()),
                email.as_str(),
                "account_exists",
                json!({}),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(())
}

/// Uses a verification link: verifies the address it was sent to (switching the account to
/// it, for an email change).
pub async fn verify_email(pool: &PgPool, token: &str) -> Result<(), AccountError> {
    if !tokens::is_well_formed(token) {
        return Err(AccountError::InvalidToken);
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let (user, email) = user_tokens::consume(&tx, &tokens::hash(token), Purpose::VerifyEmail)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    users::verify_email(&tx, user, &email).await.map_err(|e| {
        if db::is_unique_violation(&e, users::EMAIL_KEY) {
            AccountError::EmailTaken
        } else {
            e.into()
        }
    })?;
    tx.commit().await?;
    Ok(())
}

/// Sends a new verification link if `email` has an unverified account; silent otherwise.
pub async fn resend_verification(
    pool: &PgPool,
    config: &Config,
    email: &EmailAddress,
) -> Result<(), AccountError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if let Some(user) = users::by_email(&tx, email.as_str()).await?
        && user.email_verified_at.is_none()
    {
        send_verification(&tx, config, &user, email.as_str()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sends a password reset link if `email` has an account; silent otherwise.
pub async fn forgot_password(
    pool: &PgPool,
    config: &Config,
    email: &EmailAddress,
) -> Result<(), AccountError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if let Some(user) = users::by_email(&tx, email.as_str()).await? {
        let token = tokens::generate();
        user_tokens::revoke_all(&tx, user.id, Purpose::ResetPassword).await?;
        user_tokens::insert(
            &tx,
            &tokens::hash(&token),
            user.id,
            Purpose::ResetPassword,
            &user.email,
            RESET_TTL,
        )
        .await?;
        let link = format!("{}/reset-password?token={token}", config.email.frontend_url);
        send(
            &tx,
            format!("reset:{}", Uuid::now_v7()),
            &user.email,
            "password_reset",
            json!({"name": user.name, "link": link}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Uses a reset link: sets the new password and signs out every session.
pub async fn reset_password(
    pool: &PgPool,
    token: &str,
    new_password: &str,
) -> Result<(), AccountError> {
    if !tokens::is_well_formed(token) {
        return Err(AccountError::InvalidToken);
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let (user_id, _) = user_tokens::consume(&tx, &tokens::hash(token), Purpose::ResetPassword)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let user = users::by_id(&tx, user_id)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    set_password(&tx, &user, new_password, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Checks and stores `new_password`, signs out every session but `keep`, and queues the
/// "password changed" notice (in the caller's transaction).
async fn set_password(
    tx: &impl GenericClient,
    user: &users::User,
    new_password: &str,
    keep: Option<Uuid>,
) -> Result<(), AccountError> {
    let new_password = NewPassword::parse(new_password, &[&user.email, &user.name])?;
    let hash = password::hash(new_password.expose()).await?;
    users::set_password_hash(tx, user.id, &hash).await?;
    db::sessions::revoke_all(tx, user.id, keep).await?;
    send(
        tx,
        format!("password-changed:{}", Uuid::now_v7()),
        &user.email,
        "password_changed",
        json!({"name": user.name}),
    )
    .await
}

/// Changes the password of a signed-in user and signs out their other sessions.
pub async fn change_password(
    pool: &PgPool,
    user: &users::User,
    session: Uuid,
    current: &str,
    new_password: &str,
) -> Result<(), AccountError> {
    if !password::verify(current, user.password_hash.as_deref()).await {
        return Err(AccountError::WrongPassword);
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    set_password(&tx, user, new_password, Some(session)).await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the name now, and the email once the new address is verified (a link is sent to
/// it; the account keeps its current address until then).
pub async fn update_profile(
    pool: &PgPool,
    config: &Config,
    user: &users::User,
    name: Option<&DisplayName>,
    email: Option<&EmailAddress>,
) -> Result<(), AccountError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if let Some(name) = name {
        users::set_name(&tx, user.id, name.as_str()).await?;
    }
    if let Some(email) = email.filter(|e| e.as_str() != user.email) {
        if users::by_email(&tx, email.as_str()).await?.is_some() {
            return Err(AccountError::EmailTaken);
        }
        send_verification(&tx, config, user, email.as_str()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes the account (its tokens and sessions go with it) after checking the password.
pub async fn delete_account(
    pool: &PgPool,
    user: &users::User,
    password: &str,
) -> Result<(), AccountError> {
    if !password::verify(password, user.password_hash.as_deref()).await {
        return Err(AccountError::WrongPassword);
    }
    let client = pool.get().await?;
    users::delete(&client, user.id).await?;
    Ok(())
}

/// What [`create_admin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOutcome {
    /// A new, verified administrator account.
    Created,
    /// An existing account is now an administrator (its password unchanged).
    Promoted,
}

/// Creates a verified administrator, or promotes the account that has `email`. A new account
/// needs `password` (same rules as registration).
pub async fn create_admin(
    pool: &PgPool,
    email: &EmailAddress,
    name: &DisplayName,
    password: Option<&str>,
) -> Result<AdminOutcome, AccountError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if let Some(user) = users::by_email(&tx, email.as_str()).await? {
        users::set_admin(&tx, user.id, true).await?;
        tx.commit().await?;
        return Ok(AdminOutcome::Promoted);
    }
    let password = password.ok_or(AccountError::WeakPassword(PasswordRejection::TooShort))?;
    let new_password = NewPassword::parse(password, &[email.as_str(), name.as_str()])?;
    let hash = password::hash(new_password.expose()).await?;
    let user = users::insert(
        &tx,
        Uuid::now_v7(),
        email.as_str(),
        name.as_str(),
        Some(&hash),
    )
    .await?;
    users::set_admin(&tx, user.id, true).await?;
    users::verify_email(&tx, user.id, email.as_str()).await?;
    tx.commit().await?;
    Ok(AdminOutcome::Created)
}
