//! Sign-up and email verification.

use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::{
    Accounts, RegisterError, StoreError, UndoEmailChangeError, VerifyEmailError, links, send,
};
use crate::auth::{password, tokens};
use crate::db::user_tokens::{self, Purpose};
use crate::db::{self, sessions, users};
use crate::domain::{DisplayName, EmailAddress, NewPassword, UserId};
use crate::email::Email;
use crate::jobs::payloads::LinkPurpose;

/// How long an email verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);

/// How long the previous address can undo an email change.
pub const UNDO_EMAIL_CHANGE_TTL: Duration = Duration::from_secs(72 * 3600);

/// Queues a verification link for `user` to `to` (their address, or the one they are
/// changing to); sending it revokes earlier ones.
pub(super) async fn send_verification(
    tx: &impl GenericClient,
    user: &users::User,
    to: &str,
) -> Result<(), StoreError> {
    links::queue(tx, LinkPurpose::VerifyEmail, to, Some(user.id)).await
}

impl Accounts {
    /// Registers an unverified user and sends the verification email. An email that already
    /// has an account gets a notice instead, and the caller sees the same success.
    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        email: &EmailAddress,
        password: &str,
        name: &DisplayName,
    ) -> Result<(), RegisterError> {
        let new_password = NewPassword::parse(password, &[email.as_str(), name.as_str()])?;
        let hash = password::hash(new_password.expose()).await?;
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        match users::insert(
            &tx,
            UserId::new(),
            email.as_str(),
            name.as_str(),
            Some(&hash),
        )
        .await
        {
            Ok(user) => send_verification(&tx, &user, email.as_str()).await?,
            Err(e) if db::is_unique_violation(&e, users::EMAIL_KEY) => {
                drop(tx);
                let tx = client.transaction().await?;
                send(&tx, "exists", email.as_str(), Email::AccountExists).await?;
                tx.commit().await?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// Uses a verification link: verifies the address it was sent to. For an email change the
    /// account switches to it now; links emailed before stop working, and the previous address
    /// is told, with a link that undoes the change for 72 hours.
    #[tracing::instrument(skip_all)]
    pub async fn verify_email(&self, token: &str) -> Result<(), VerifyEmailError> {
        if !tokens::is_well_formed(token) {
            return Err(VerifyEmailError::InvalidToken);
        }
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        let (user_id, email) =
            user_tokens::consume(&tx, &tokens::hash(token), Purpose::VerifyEmail)
                .await?
                .ok_or(VerifyEmailError::InvalidToken)?;
        let user = users::by_id(&tx, user_id)
            .await?
            .ok_or(VerifyEmailError::InvalidToken)?;
        users::verify_email(&tx, user.id, &email)
            .await
            .map_err(|e| {
                if db::is_unique_violation(&e, users::EMAIL_KEY) {
                    VerifyEmailError::EmailTaken
                } else {
                    e.into()
                }
            })?;
        if email != user.email {
            user_tokens::revoke_emailed(&tx, user.id).await?;
            links::queue(
                &tx,
                LinkPurpose::UndoEmailChange,
                &user.email,
                Some(user.id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Uses the link sent to the previous address after an email change: the account goes
    /// back to that address, every session is signed out and emailed links stop working (so
    /// whoever changed it is out; the owner then resets the password).
    #[tracing::instrument(skip_all)]
    pub async fn undo_email_change(&self, token: &str) -> Result<(), UndoEmailChangeError> {
        if !tokens::is_well_formed(token) {
            return Err(UndoEmailChangeError::InvalidToken);
        }
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        let (user, previous) =
            user_tokens::consume(&tx, &tokens::hash(token), Purpose::UndoEmailChange)
                .await?
                .ok_or(UndoEmailChangeError::InvalidToken)?;
        users::verify_email(&tx, user, &previous)
            .await
            .map_err(|e| {
                if db::is_unique_violation(&e, users::EMAIL_KEY) {
                    UndoEmailChangeError::EmailTaken
                } else {
                    e.into()
                }
            })?;
        sessions::revoke_all(&tx, user, None).await?;
        user_tokens::revoke_emailed(&tx, user).await?;
        tx.commit().await?;
        tracing::warn!(user.id = %user, "email change undone from the previous address");
        Ok(())
    }

    /// Queues a new verification link for `email`: sent if it has an unverified account,
    /// dropped by the worker otherwise (the request does the same work either way).
    #[tracing::instrument(skip_all)]
    pub async fn resend_verification(&self, email: &EmailAddress) -> Result<(), StoreError> {
        let client = self.db.get().await?;
        links::queue(&client, LinkPurpose::VerifyEmail, email.as_str(), None).await
    }
}
