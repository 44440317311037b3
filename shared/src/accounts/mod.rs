//! Account operations: registration, email verification, login, refresh-token rotation,
//! password change and reset, profile changes, avatars, sessions, two-factor authentication,
//! social sign-in, account deletion. They are methods of [`Accounts`], the one handle holding what
//! they need. Each runs in one transaction; the emails they need are written to the outbox in
//! that same transaction, so an email goes out exactly when the change it announces commits.
//!
//! Answers that could reveal whether an email has an account (register, resend, forgot) are
//! the same either way, and the work done is similar (a password hash is paid when the
//! account is unknown).

mod admin;
mod avatar;
mod errors;
pub mod links;
mod oauth;
mod passwords;
mod profile;
mod registration;
mod sessions;
pub mod two_factor;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

pub use admin::{AdminOutcome, create_admin};
pub use errors::{
    ChangePasswordError, CreateAdminError, DeleteAccountError, DisableTwoFactorError,
    EnableTwoFactorError, LoginError, OAuthSignInError, RefreshError, RegisterError,
    RemoveAvatarError, ResetPasswordError, RevokeSessionError, SecondFactorError, SetAvatarError,
    SetupTwoFactorError, StoreError, UndoEmailChangeError, UpdateProfileError, VerifyEmailError,
};
pub use passwords::RESET_TTL;
pub use registration::{UNDO_EMAIL_CHANGE_TTL, VERIFY_TTL};
pub use sessions::{LoginOutcome, TokenPair};

use crate::Config;
use crate::auth::jwt::JwtKeys;
use crate::auth::password;
use crate::db::PgPool;
use crate::db::users::User;
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

/// How recent a sign-in must be to stand in for the password on a sensitive change (email
/// change, 2FA setup and enable, signing out other sessions).
pub const REAUTH_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Proof that the account holder is present, not only someone holding their bearer token.
#[derive(Debug, Clone, Copy)]
pub enum Reauth<'a> {
    /// The current password, typed again.
    Password(&'a str),
    /// When the session signed in; good within [`REAUTH_WINDOW`].
    SignedInAt(DateTime<Utc>),
}

/// Why a [`Reauth`] was not enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReauthFailure {
    WrongPassword,
    Required,
}

impl Reauth<'_> {
    async fn check(self, user: &User) -> Result<(), ReauthFailure> {
        match self {
            Self::Password(attempt) => {
                if password::verify(attempt, user.password_hash.as_deref()).await {
                    Ok(())
                } else {
                    Err(ReauthFailure::WrongPassword)
                }
            }
            Self::SignedInAt(at) => {
                let age = Utc::now().signed_duration_since(at);
                if age.to_std().is_ok_and(|age| age <= REAUTH_WINDOW)
                    || age < chrono::TimeDelta::zero()
                {
                    Ok(())
                } else {
                    Err(ReauthFailure::Required)
                }
            }
        }
    }
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
