//! Sign-up and email verification.

use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::{Accounts, RegisterError, StoreError, UndoEmailChangeError, VerifyEmailError, send};
use crate::Config;
use crate::auth::{password, tokens};
use crate::db::user_tokens::{self, Purpose};
use crate::db::{self, sessions, users};
use crate::domain::{DisplayName, EmailAddress, NewPassword, UserId};
use crate::email::Email;

/// How long an email verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);

/// How long the previous address can undo an email change.
pub const UNDO_EMAIL_CHANGE_TTL: Duration = Duration::from_secs(72 * 3600);

/// Sends `user` a new verification link for `to` (their address, or the one they are
/// changing to), revoking earlier links.
pub(super) async fn send_verification(
    tx: &impl GenericClient,
    config: &Config,
    user: &users::User,
    to: &str,
) -> Result<(), StoreError> {
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
    let email = Email::VerifyEmail {
        name: user.name.clone(),
        link,
    };
    send(tx, "verify", to, email).await
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
            Ok(user) => send_verification(&tx, &self.config, &user, email.as_str()).await?,
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
            let undo = tokens::generate();
            user_tokens::insert(
                &tx,
                &tokens::hash(&undo),
                user.id,
                Purpose::UndoEmailChange,
                &user.email,
                UNDO_EMAIL_CHANGE_TTL,
            )
            .await?;
            let notice = Email::EmailChanged {
                name: user.name.clone(),
                new_email: email.clone(),
                undo_link: format!(
                    "{}/undo-email-change?token={undo}",
                    self.config.email.frontend_url
                ),
            };
            send(&tx, "email-changed", &user.email, notice).await?;
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

    /// Sends a new verification link if `email` has an unverified account; silent otherwise.
    #[tracing::instrument(skip_all)]
    pub async fn resend_verification(&self, email: &EmailAddress) -> Result<(), StoreError> {
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        if let Some(user) = users::by_email(&tx, email.as_str()).await?
            && user.email_verified_at.is_none()
        {
            send_verification(&tx, &self.config, &user, email.as_str()).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
