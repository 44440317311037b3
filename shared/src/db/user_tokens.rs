//! `user_tokens`: single-use tokens sent by email, stored as hashes.

use std::time::Duration;

use crate::domain::{TokenHash, UserId};
use deadpool_postgres::GenericClient;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Verifies (or switches to) an email address.
    VerifyEmail,
    /// Resets the password.
    ResetPassword,
    /// Completes a login with the second factor.
    MfaLogin,
    /// Undoes an email change (sent to the previous address; the token keeps that address).
    UndoEmailChange,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::MfaLogin => "mfa_login",
            Self::UndoEmailChange => "undo_email_change",
        }
    }
}

/// Stores a token hash for `user`, sent to `email`, valid for `ttl`.
pub async fn insert(
    c: &impl GenericClient,
    token_hash: &TokenHash,
    user: UserId,
    purpose: Purpose,
    email: &str,
    ttl: Duration,
) -> Result<(), tokio_postgres::Error> {
    let secs = f64::from(u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX));
    let stmt = c
        .prepare_cached(
            "INSERT INTO user_tokens (token_hash, user_id, purpose, email, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        )
        .await?;
    c.execute(
        &stmt,
        &[&token_hash, &user, &purpose.as_str(), &email, &secs],
    )
    .await?;
    Ok(())
}

/// Uses a token: marks it used and returns its user and email, only if it exists, has this
/// purpose, is unused and unexpired. Single use even under concurrent requests.
pub async fn consume(
    c: &impl GenericClient,
    token_hash: &TokenHash,
    purpose: Purpose,
) -> Result<Option<(UserId, String)>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE user_tokens SET used_at = now()
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
             RETURNING user_id, email",
        )
        .await?;
    Ok(c.query_opt(&stmt, &[&token_hash, &purpose.as_str()])
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// The user of a valid (unused, unexpired) token, without using it.
pub async fn peek(
    c: &impl GenericClient,
    token_hash: &TokenHash,
    purpose: Purpose,
) -> Result<Option<UserId>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "SELECT user_id FROM user_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()",
        )
        .await?;
    Ok(c.query_opt(&stmt, &[&token_hash, &purpose.as_str()])
        .await?
        .map(|r| r.get(0)))
}

/// Invalidates every unused emailed token of `user` (verification and reset links): after a
/// password or email change, links sent before it must not work.
pub async fn revoke_emailed(
    c: &impl GenericClient,
    user: UserId,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE user_tokens SET used_at = now()
             WHERE user_id = $1 AND purpose IN ('verify_email', 'reset_password') AND used_at IS NULL",
        )
        .await?;
    c.execute(&stmt, &[&user]).await?;
    Ok(())
}

/// Invalidates every unused token of `user` with `purpose` (a new one replaces them).
pub async fn revoke_all(
    c: &impl GenericClient,
    user: UserId,
    purpose: Purpose,
) -> Result<(), tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "UPDATE user_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        )
        .await?;
    c.execute(&stmt, &[&user, &purpose.as_str()]).await?;
    Ok(())
}
