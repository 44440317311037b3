//! The signed-in user's profile: name and email changes, account deletion.

use super::registration::send_verification;
use super::{Accounts, DeleteAccountError, Reauth, ReauthFailure, UpdateProfileError, send};
use crate::auth::password;
use crate::db::users::{self, User};
use crate::domain::{DisplayName, EmailAddress};
use crate::email::Email;
use crate::jobs::outbox::enqueue_in_tx;
use crate::jobs::payloads::DeleteMedia;

impl Accounts {
    /// Changes the name now, and the email once the new address is verified (a link is sent
    /// to it; the account keeps its current address until then). An email change needs
    /// `reauth` (the current password, or a recent sign-in). An address that already has an
    /// account is not revealed: the answer is the same, and that address's owner is told by
    /// email instead. Returns the user as stored afterwards.
    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    pub async fn update_profile(
        &self,
        user: &User,
        name: Option<&DisplayName>,
        email: Option<&EmailAddress>,
        reauth: Reauth<'_>,
    ) -> Result<User, UpdateProfileError> {
        let email = email.filter(|e| e.as_str() != user.email);
        if email.is_some() {
            reauth.check(user).await.map_err(|e| match e {
                ReauthFailure::WrongPassword => UpdateProfileError::WrongPassword,
                ReauthFailure::Required => UpdateProfileError::ReauthRequired,
            })?;
        }
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        if let Some(name) = name {
            users::set_name(&tx, user.id, name.as_str()).await?;
        }
        if let Some(email) = email {
            if users::by_email(&tx, email.as_str()).await?.is_some() {
                send(&tx, "address-in-use", email.as_str(), Email::AddressInUse).await?;
            } else {
                send_verification(&tx, user, email.as_str()).await?;
            }
        }
        let updated = users::by_id(&tx, user.id).await?;
        tx.commit().await?;
        // The row exists: this transaction read it after its own update.
        Ok(updated.unwrap_or_else(|| user.clone()))
    }

    /// Deletes the account (its tokens and sessions go with it) after checking the password;
    /// its avatar's object is deleted by a job queued in the same transaction.
    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    pub async fn delete_account(
        &self,
        user: &User,
        password: &str,
    ) -> Result<(), DeleteAccountError> {
        if !password::verify(password, user.password_hash.as_deref()).await {
            return Err(DeleteAccountError::WrongPassword);
        }
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        if let Some(key) = users::delete(&tx, user.id).await? {
            enqueue_in_tx(&tx, &DeleteMedia { key }).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
