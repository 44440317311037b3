//! Signing in with a provider's profile: an already-linked account, else an account with the
//! same email only when the provider verified that email, else a new account.

use super::sessions::LoginOutcome;
use super::{Accounts, ClientMeta, OAuthSignInError};
use crate::db::{self, users};
use crate::domain::UserId;
use crate::oauth::Profile;

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
                match users::by_email(&tx, email).await? {
                    Some(existing) if profile.email_verified => {
                        users::link_identity(&tx, existing.id, profile.provider, &profile.subject)
                            .await?;
                        existing
                    }
                    // Linking on an address the provider did not verify would let anyone who
                    // adds that address to a provider account take this account over.
                    Some(_) => return Err(OAuthSignInError::EmailUnverified),
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
                        if profile.email_verified {
                            users::verify_email(&tx, user.id, email).await?;
                        }
                        users::link_identity(&tx, user.id, profile.provider, &profile.subject)
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
