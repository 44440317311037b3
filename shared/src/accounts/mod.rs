//! Account operations: registration, email verification, login, refresh-token rotation,
//! password change and reset, profile changes, sessions, two-factor authentication, social
//! sign-in, account deletion. They are methods of [`Accounts`], the one handle holding what
//! they need. Each runs in one transaction; the emails they need are written to the outbox in
//! that same transaction, so an email goes out exactly when the change it announces commits.
//!
//! Answers that could reveal whether an email has an account (register, resend, forgot) are
//! the same either way, and the work done is similar (a password hash is paid when the
//! account is unknown).

mod admin;
mod errors;
mod oauth;
mod passwords;
mod profile;
mod registration;
mod sessions;
pub mod two_factor;

use std::sync::Arc;

use deadpool_postgres::GenericClient;
use uuid::Uuid;

pub use admin::{AdminOutcome, create_admin};
pub use errors::{
    ChangePasswordError, CreateAdminError, DeleteAccountError, DisableTwoFactorError,
    EnableTwoFactorError, LoginError, OAuthSignInError, RefreshError, RegisterError,
    ResetPasswordError, RevokeSessionError, SecondFactorError, SetupTwoFactorError, StoreError,
    UpdateProfileError, VerifyEmailError,
};
pub use passwords::RESET_TTL;
pub use registration::VERIFY_TTL;
pub use sessions::{LoginOutcome, TokenPair};

use crate::Config;
use crate::auth::jwt::JwtKeys;
use crate::db::PgPool;
use crate::email::Email;
use crate::jobs::outbox::enqueue_in_tx;
use crate::jobs::payloads::SendEmail;

/// Who is calling: recorded with a new session and told in the "new sign-in" notice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientMeta {
    /// The client's address, as the api derives it.
    pub ip: Option<String>,
    /// The client's `User-Agent`, if it sent one.
    pub user_agent: Option<String>,
}

/// The account operations, over the database, the configuration and the token keys. Cheap
/// to clone.
#[derive(Clone)]
pub struct Accounts {
    db: PgPool,
    config: Arc<Config>,
    jwt: Arc<JwtKeys>,
}

impl Accounts {
    /// Operations over `db`, configured by `config`, signing access tokens with `jwt`.
    pub fn new(db: PgPool, config: Arc<Config>, jwt: Arc<JwtKeys>) -> Self {
        Self { db, config, jwt }
    }
}

/// Queues `email` to `to` in the caller's transaction, under a new idempotency key starting
/// with `kind`.
async fn send(
    tx: &impl GenericClient,
    kind: &str,
    to: &str,
    email: Email,
) -> Result<(), StoreError> {
    enqueue_in_tx(
        tx,
        &SendEmail {
            idempotency_key: format!("{kind}:{}", Uuid::now_v7()),
            to: to.to_owned(),
            email,
        },
    )
    .await?;
    Ok(())
}
