//! Signing in with a provider's profile: an already-linked account, else an account with the
//! same email when the provider verified that email, else a new account — only for an email
//! the provider verified.
//!
//! Linking to an account whose email was never verified first takes it over from whoever
//! registered it: its password, sessions, pending email links and two-factor setup are removed
//! (someone may have registered the address before its owner, to sign in later with their own
//! password — a pre-account takeover). The provider vouches for the address; the registrant
//! never did.

use deadpool_postgres::GenericClient;

use super::sessions::LoginOutcome;
use super::{Accounts, ClientMeta, OAuthSignInError, StoreError};
use crate::db::users::{self, User};
use crate::db::{self, sessions, user_tokens};
use crate::domain::UserId;
use crate::oauth::Profile;

/// Takes an account whose email was never verified away from whoever registered it, now that
/// a provider vouched for the address: no password, no sessions, no pending links, no 2FA;
/// the address counts as verified.
async fn take_over_unverified(c: &impl GenericClient, user: &User) -> Result<(), StoreError> {
    users::clear_password(c, user.id).await?;
    users::disable_totp(c, user.id).await?;
    sessions::revoke_all(c, user.id, None).await?;
    user_tokens::revoke_emailed(c, user.id).await?;
    users::verify_email(c, user.id, &user.email).await?;
    tracing::warn!(user.id = %user.id, "unverified account taken over by a provider-verified sign-in");
    Ok(())
}

impl Accounts {
    /// Signs in (or up) the user behind `profile`.
    #[tracing::instrument(skip_all, fields(oauth.provider = profile.provider))]
    pub async fn oauth_sign_in(
        &self,
        profile: &Profile,
        client: &ClientMeta,
    ) -> Result<LoginOutcome, OAuthSignInError> {
        let mut conn = self.db.get().await?;
        let tx = conn.transaction().await?;
        let user = match users::by_identity(&tx, profile.provider, &profile.subject).await? {
            Some(user) => user,
            None => {
                let email = profile.email.as_deref().ok_or(OAuthSignInError::NoEmail)?;
                // Linking or creating on an address the provider did not verify would let
                // anyone who adds that address to a provider account take it over.
                if !profile.email_verified {
                    return Err(OAuthSignInError::EmailUnverified);
                }
                match users::by_email(&tx, email).await? {
                    Some(existing) => {
                        if existing.email_verified_at.is_none() {
                            take_over_unverified(&tx, &existing).await?;
                        }
                        users::link_identity(
                            &tx,
                            existing.id,
                            profile.provider,
                            &profile.subject,
                            true,
                        )
                        .await?;
                        users::by_id(&tx, existing.id).await?.unwrap_or(existing)
                    }
                    None => {
                        let name: String = profile.name.chars().take(100).collect();
                        let name = if name.trim().is_empty() {
                            "User".to_owned()
                        } else {
                            name
                        };
                        let user = users::insert(&tx, UserId::new(), email, name.trim(), None)
                            .await
                            .map_err(|e| {
                                if db::is_unique_violation(&e, users::EMAIL_KEY) {
                                    OAuthSignInError::EmailTaken
                                } else {
                                    e.into()
                                }
                            })?;
                        users::verify_email(&tx, user.id, email).await?;
                        users::link_identity(
                            &tx,
                            user.id,
                            profile.provider,
                            &profile.subject,
                            true,
                        )
                        .await?;
                        users::by_id(&tx, user.id).await?.unwrap_or(user)
                    }
                }
            }
        };
        let outcome = self.finish_login(&tx, &user, client).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}
