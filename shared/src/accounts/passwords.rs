//! Passwords: forgotten (a reset link), reset through the link, changed while signed in.

use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::{Accounts, ChangePasswordError, ResetPasswordError, StoreError, links, send};
use crate::auth::{password, tokens};
use crate::db::user_tokens::{self, Purpose};
use crate::db::{sessions, users};
use crate::domain::{EmailAddress, NewPassword, PasswordRejection, SessionId};
use crate::email::Email;
use crate::jobs::payloads::LinkPurpose;

/// How long a password reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(3600);

/// `new_password` checked against the rules, the user's email and name.
fn parse_new(user: &users::User, new_password: &str) -> Result<NewPassword, PasswordRejection> {
    NewPassword::parse(new_password, &[&user.email, &user.name])
}

/// Stores `new_password`, signs out every session but `keep`, invalidates emailed links sent
/// before (a reset link mailed earlier must not undo this change), and queues the "password
/// changed" notice (in the caller's transaction).
async fn set_password(
    tx: &impl GenericClient,
    user: &users::User,
    new_password: &NewPassword,
    keep: Option<SessionId>,
) -> Result<(), StoreError> {
    let hash = password::hash(new_password.expose()).await?;
    users::set_password_hash(tx, user.id, &hash).await?;
    sessions::revoke_all(tx, user.id, keep).await?;
    user_tokens::revoke_emailed(tx, user.id).await?;
    let email = Email::PasswordChanged {
        name: user.name.clone(),
    };
    send(tx, "password-changed", &user.email, email).await?;
    Ok(())
}

impl Accounts {
    /// Queues a password reset link for `email`: sent if it has an account, dropped by the
    /// worker otherwise (the request does the same work either way).
    #[tracing::instrument(skip_all)]
    pub async fn forgot_password(&self, email: &EmailAddress) -> Result<(), StoreError> {
        let client = self.db.get().await?;
        links::queue(&client, LinkPurpose::ResetPassword, email.as_str(), None).await
    }

    /// Uses a reset link: sets the new password and signs out every session. The link proves
    /// the caller owns the address, so provider links that were not made through a verified
    /// email are removed too (someone else may have made them). Returns the account (the api
    /// clears its login limits: a reset is the unlock path).
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
    ) -> Result<users::User, ResetPasswordError> {
        if !tokens::is_well_formed(token) {
            return Err(ResetPasswordError::InvalidToken);
        }
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        let (user_id, _) = user_tokens::consume(&tx, &tokens::hash(token), Purpose::ResetPassword)
            .await?
            .ok_or(ResetPasswordError::InvalidToken)?;
        let user = users::by_id(&tx, user_id)
            .await?
            .ok_or(ResetPasswordError::InvalidToken)?;
        set_password(&tx, &user, &parse_new(&user, new_password)?, None).await?;
        users::unlink_unverified_identities(&tx, user.id).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Changes the password of a signed-in user and signs out their other sessions.
    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    pub async fn change_password(
        &self,
        user: &users::User,
        session: SessionId,
        current: &str,
        new_password: &str,
    ) -> Result<(), ChangePasswordError> {
        if !password::verify(current, user.password_hash.as_deref()).await {
            return Err(ChangePasswordError::WrongPassword);
        }
        let new_password = parse_new(user, new_password)?;
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        set_password(&tx, user, &new_password, Some(session)).await?;
        tx.commit().await?;
        Ok(())
    }
}
