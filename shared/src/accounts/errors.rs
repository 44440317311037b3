//! What can go wrong in each account operation: one enum per operation holding only the
//! outcomes that operation can have, plus [`StoreError`] for the infrastructure under all of
//! them. The api maps each exhaustively, so a new variant is a compile error until it has an
//! HTTP answer.

use crate::auth::password::HashError;
use crate::domain::PasswordRejection;
use crate::jobs::outbox::OutboxError;
use crate::media::MediaError;

/// The infrastructure under every account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No PostgreSQL connection could be had in time.
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A query failed (including a connection lost mid-query).
    #[error("query failed: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The outbox could not take the email job.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// Password hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The access token could not be signed.
    #[error("cannot sign the access token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

impl StoreError {
    /// Whether PostgreSQL is unreachable (no connection, or the connection was lost): worth
    /// a retry later, unlike a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Pool(_) => true,
            Self::Db(e) => crate::db::is_connection_error(e),
            Self::Outbox(OutboxError::Pool(_)) => true,
            Self::Outbox(OutboxError::Db(e)) => crate::db::is_connection_error(e),
            Self::Outbox(_) | Self::Hash(_) | Self::Jwt(_) => false,
        }
    }
}

/// Gives each operation's error a `From` for every infrastructure error, so `?` works on
/// pool, query, outbox, hashing and signing results alike.
macro_rules! store_errors {
    ($($op:ty),+ $(,)?) => {$(
        store_errors!(@from $op: StoreError, deadpool_postgres::PoolError, tokio_postgres::Error,
            OutboxError, HashError, jsonwebtoken::errors::Error);
    )+};
    (@from $op:ty: $($infra:ty),+) => {$(
        impl From<$infra> for $op {
            fn from(e: $infra) -> Self {
                Self::Store(e.into())
            }
        }
    )+};
}

/// [`super::Accounts::register`].
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The password breaks a rule.
    #[error("password {0}")]
    WeakPassword(#[from] PasswordRejection),
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::verify_email`].
#[derive(Debug, thiserror::Error)]
pub enum VerifyEmailError {
    /// Unknown, used or expired link.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The address (of an email change) was taken by another account meanwhile.
    #[error("the email address is taken")]
    EmailTaken,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::reset_password`].
#[derive(Debug, thiserror::Error)]
pub enum ResetPasswordError {
    /// Unknown, used or expired link.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The new password breaks a rule.
    #[error("password {0}")]
    WeakPassword(#[from] PasswordRejection),
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::change_password`].
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The current password given is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The new password breaks a rule.
    #[error("password {0}")]
    WeakPassword(#[from] PasswordRejection),
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::update_profile`].
#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    /// The current password given for an email change is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// An email change needs the current password or a recent sign-in.
    #[error("re-authentication required")]
    ReauthRequired,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::undo_email_change`].
#[derive(Debug, thiserror::Error)]
pub enum UndoEmailChangeError {
    /// Unknown, used or expired link.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The previous address was taken by another account meanwhile.
    #[error("the email address is taken")]
    EmailTaken,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::delete_account`].
#[derive(Debug, thiserror::Error)]
pub enum DeleteAccountError {
    /// The password given is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::set_avatar`].
#[derive(Debug, thiserror::Error)]
pub enum SetAvatarError {
    /// Media storage is down or refused the object.
    #[error(transparent)]
    Storage(#[from] MediaError),
    /// The account was deleted while the upload ran.
    #[error("the account no longer exists")]
    AccountGone,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::remove_avatar`].
#[derive(Debug, thiserror::Error)]
pub enum RemoveAvatarError {
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::create_admin`].
#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    /// A new account needs a password, and none was given.
    #[error("password {}", PasswordRejection::TooShort)]
    PasswordRequired,
    /// The account's address was never verified: promoting it as it is would hand admin
    /// rights to whoever registered it.
    #[error(
        "the account's email is not verified: type a password (it replaces the account's and signs it out everywhere), or verify the address first"
    )]
    Unverified,
    /// The password breaks a rule.
    #[error("password {0}")]
    WeakPassword(#[from] PasswordRejection),
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::login`].
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password (never says which).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::refresh`].
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired or revoked refresh token.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A refresh token presented twice: its session has been revoked.
    #[error("refresh token reused; the session was revoked")]
    TokenReused,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::revoke_session`].
#[derive(Debug, thiserror::Error)]
pub enum RevokeSessionError {
    /// No active session of this user has that id.
    #[error("no such session")]
    NotFound,
    /// Signing out another session needs a recent sign-in.
    #[error("re-authentication required")]
    ReauthRequired,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::setup_two_factor`].
#[derive(Debug, thiserror::Error)]
pub enum SetupTwoFactorError {
    /// Two-factor authentication is already on.
    #[error("two-factor authentication is already enabled")]
    AlreadyEnabled,
    /// The password given is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// Setup needs the password or a recent sign-in.
    #[error("re-authentication required")]
    ReauthRequired,
    /// The account or product name cannot be put in an `otpauth://` URI.
    #[error("cannot build the otpauth URI")]
    Otpauth,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::enable_two_factor`].
#[derive(Debug, thiserror::Error)]
pub enum EnableTwoFactorError {
    /// Two-factor authentication is already on.
    #[error("two-factor authentication is already enabled")]
    AlreadyEnabled,
    /// Setup was never started.
    #[error("two-factor authentication is not set up")]
    NotSetUp,
    /// The password given is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// Enabling needs the password or a recent sign-in.
    #[error("re-authentication required")]
    ReauthRequired,
    /// The code is wrong, reused or expired.
    #[error("invalid two-factor code")]
    InvalidCode,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::disable_two_factor`].
#[derive(Debug, thiserror::Error)]
pub enum DisableTwoFactorError {
    /// Two-factor authentication is off.
    #[error("two-factor authentication is not enabled")]
    NotEnabled,
    /// The password given is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// The code is wrong, reused or expired.
    #[error("invalid two-factor code")]
    InvalidCode,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::mfa_token_user`] and [`super::Accounts::complete_login`].
#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    /// Unknown, used or expired MFA token.
    #[error("invalid or expired MFA token")]
    InvalidToken,
    /// The code (or recovery code) is wrong, reused or expired.
    #[error("invalid two-factor code")]
    InvalidCode,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

/// [`super::Accounts::oauth_sign_in`].
#[derive(Debug, thiserror::Error)]
pub enum OAuthSignInError {
    /// The provider gave no email address.
    #[error("the provider shared no email address")]
    NoEmail,
    /// The provider has not verified the email it shared: no account is linked or created
    /// through it.
    #[error("the provider has not verified this email address")]
    EmailUnverified,
    /// A concurrent sign-up took the address.
    #[error("the email address is taken")]
    EmailTaken,
    /// Infrastructure.
    #[error(transparent)]
    Store(StoreError),
}

store_errors!(
    RegisterError,
    VerifyEmailError,
    ResetPasswordError,
    ChangePasswordError,
    UpdateProfileError,
    UndoEmailChangeError,
    DeleteAccountError,
    SetAvatarError,
    RemoveAvatarError,
    CreateAdminError,
    LoginError,
    RefreshError,
    RevokeSessionError,
    SetupTwoFactorError,
    EnableTwoFactorError,
    DisableTwoFactorError,
    SecondFactorError,
    OAuthSignInError,
);
