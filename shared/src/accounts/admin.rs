//! `keel-api create-admin`: a verified administrator, created or promoted.

use super::CreateAdminError;
use crate::auth::password;
use crate::db::{PgPool, sessions, user_tokens, users};
use crate::domain::{DisplayName, EmailAddress, NewPassword, UserId};

/// What [`create_admin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOutcome {
    /// A new, verified administrator account.
    Created,
    /// An existing, verified account is now an administrator (its password unchanged).
    Promoted,
    /// An existing account is now an administrator with the password typed: its old password,
    /// sessions and emailed links are gone, and its address counts as verified.
    PromotedWithNewPassword,
}

/// Creates a verified administrator, or promotes the account that has `email`. A new account
/// needs `password` (same rules as registration). An existing account is promoted as it is
/// only when its address is verified; otherwise (whoever registered it may not own the
/// address) the operator must type a password, which replaces the account's and signs it out
/// everywhere. A password typed for a verified account replaces its password the same way.
pub async fn create_admin(
    pool: &PgPool,
    email: &EmailAddress,
    name: &DisplayName,
    password: Option<&str>,
) -> Result<AdminOutcome, CreateAdminError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if let Some(user) = users::by_email(&tx, email.as_str()).await? {
        let outcome = match password {
            None if user.email_verified_at.is_none() => return Err(CreateAdminError::Unverified),
            None => AdminOutcome::Promoted,
            Some(password) => {
                let new_password = NewPassword::parse(password, &[&user.email, &user.name])?;
                let hash = password::hash(new_password.expose()).await?;
                users::set_password_hash(&tx, user.id, &hash).await?;
                sessions::revoke_all(&tx, user.id, None).await?;
                user_tokens::revoke_emailed(&tx, user.id).await?;
                users::verify_email(&tx, user.id, &user.email).await?;
                AdminOutcome::PromotedWithNewPassword
            }
        };
        users::set_admin(&tx, user.id, true).await?;
        tx.commit().await?;
        return Ok(outcome);
    }
    let password = password.ok_or(CreateAdminError::PasswordRequired)?;
    let new_password = NewPassword::parse(password, &[email.as_str(), name.as_str()])?;
    let hash = password::hash(new_password.expose()).await?;
    let user = users::insert(
        &tx,
        UserId::new(),
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
