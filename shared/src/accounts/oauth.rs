//! Signing in with a provider's profile: an already-linked account, else an account with the
//! same email only when the provider verified that email, else a new account.

use uuid::Uuid;

use super::AccountError;
use super::sessions::{LoginOutcome, finish_login};
use crate::Config;
use crate::auth::jwt::JwtKeys;
use crate::db::{self, PgPool, users};
use crate::oauth::Profile;

/// Signs in (or up) the user behind `profile`.
pub async fn sign_in(
    pool: &PgPool,
    config: &Config,
    jwt: &JwtKeys,
    profile: &Profile,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<LoginOutcome, AccountError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let user = match users::by_identity(&tx, profile.provider, &profile.subject).await? {
        Some(user) => user,
        None => {
            let email = profile.email.as_deref().ok_or(AccountError::OAuthNoEmail)?;
            match users::by_email(&tx, email).await? {
                Some(existing) if profile.email_verified => {
                    users::link_identity(&tx, existing.id, profile.provider, &profile.subject)
                        .await?;
                    existing
                }
                // Linking on an address the provider did not verify would let anyone who
                // adds that address to a provider account take this account over.
                Some(_) => return Err(AccountError::OAuthEmailUnverified),
                None => {
                    let name: String = profile.name.chars().take(100).collect();
                    let name = if name.trim().is_empty() {
                        "User".to_owned()
                    } else {
                        name
                    };
                    let user = users::insert(&tx, Uuid::now_v7(), email, name.trim(), None)
                        .await
                        .map_err(|e| {
                            if db::is_unique_violation(&e, users::EMAIL_KEY) {
                                AccountError::EmailTaken
                            } else {
                                e.into()
                            }
                        })?;
                    if profile.email_verified {
                        users::verify_email(&tx, user.id, email).await?;
                    }
                    users::link_identity(&tx, user.id, profile.provider, &profile.subject).await?;
                    users::by_id(&tx, user.id)
                        .await?
                        .ok_or(AccountError::InvalidCredentials)?
                }
            }
        }
    };
    let outcome = finish_login(&tx, config, jwt, &user, user_agent, ip).await?;
    tx.commit().await?;
    Ok(outcome)
}
