//! `keel-api create-admin`: a verified administrator, created or promoted.

use super::CreateAdminError;
use crate::auth::password;
use crate::db::{PgPool, users};
use crate::domain::{DisplayName, EmailAddress, NewPassword, UserId};

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
) -> Result<AdminOutcome, CreateAdminError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if let Some(user) = users::by_email(&tx, email.as_str()).await? {
        users::set_admin(&tx, user.id, true).await?;
        tx.commit().await?;
        return Ok(AdminOutcome::Promoted);
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
