//! Every `shared` error, mapped to its HTTP answer. Each operation's error is matched
//! exhaustively: a new variant does not compile until it is given an answer here.

use keel_shared::accounts::{
    ChangePasswordError, DeleteAccountError, DisableTwoFactorError, EnableTwoFactorError,
    LoginError, OAuthSignInError, RefreshError, RegisterError, RemoveAvatarError,
    ResetPasswordError, RevokeSessionError, SecondFactorError, SetAvatarError, SetupTwoFactorError,
    StoreError, UndoEmailChangeError, UpdateProfileError, VerifyEmailError,
};
use keel_shared::domain::PasswordRejection;
use keel_shared::jobs::QueueError;
use keel_shared::media::MediaError;
use keel_shared::media::avatar::ImageRejection;
use keel_shared::oauth::OAuthError;
use keel_shared::redis::RedisError;

use super::ApiError;

impl ApiError {
    fn postgres_down() -> Self {
        Self::Unavailable {
            dependency: "postgres",
        }
    }

    fn redis_down() -> Self {
        Self::Unavailable {
            dependency: "redis",
        }
    }

    fn field(field: &'static str, message: &str) -> Self {
        Self::InvalidField {
            field,
            message: message.to_owned(),
        }
    }

    fn token_invalid(field: &'static str) -> Self {
        Self::field(field, "is invalid, used or expired")
    }

    fn wrong_password(field: &'static str) -> Self {
        Self::field(field, "is wrong")
    }

    fn weak_password(field: &'static str, rule: &PasswordRejection) -> Self {
        Self::field(field, &rule.to_string())
    }

    fn wrong_code() -> Self {
        Self::field("code", "is wrong, already used or expired")
    }

    const EMAIL_TAKEN: Self = Self::Conflict {
        code: "email_taken",
        detail: "The email address belongs to another account.",
    };

    const TWO_FACTOR_ENABLED: Self = Self::Conflict {
        code: "two_factor_enabled",
        detail: "Two-factor authentication is already enabled.",
    };

    const REAUTHENTICATION_REQUIRED: Self = Self::Forbidden {
        code: "reauthentication_required",
        detail: "Confirm it is you: send your current password, or sign in again (this needs a sign-in within the last 10 minutes).",
    };

    const TWO_FACTOR_NOT_ENABLED: Self = Self::Conflict {
        code: "two_factor_not_enabled",
        detail: "Two-factor authentication is not enabled (or not set up).",
    };
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        tracing::warn!(error = %e, "no PostgreSQL connection");
        Self::postgres_down()
    }
}

/// A query that failed because the connection went away (the server restarted, the network
/// cut it) is an outage, not a bug: 503, and the pool drops the broken connection.
impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        if keel_shared::db::is_connection_error(&e) {
            tracing::warn!(error = %e, "PostgreSQL connection lost");
            Self::postgres_down()
        } else {
            Self::Internal(e.into())
        }
    }
}

impl From<deadpool_redis::PoolError> for ApiError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        tracing::warn!(error = %e, "no Redis connection");
        Self::redis_down()
    }
}

impl From<RedisError> for ApiError {
    fn from(e: RedisError) -> Self {
        tracing::warn!(error = %e, "Redis failed");
        Self::redis_down()
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Pool(_) | QueueError::Redis(_) => {
                tracing::warn!(error = %e, "cannot enqueue");
                Self::redis_down()
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "PostgreSQL unavailable");
            Self::postgres_down()
        } else {
            Self::Internal(e.into())
        }
    }
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::InvalidState => Self::token_invalid("state"),
            OAuthError::WrongClient => Self::field(
                "state",
                "was issued to another browser (the sign-in cookie is missing or differs); start again",
            ),
            OAuthError::Redis(r) => r.into(),
            other => Self::Upstream(other.to_string()),
        }
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::WeakPassword(rule) => Self::weak_password("password", &rule),
            RegisterError::Store(e) => e.into(),
        }
    }
}

impl From<VerifyEmailError> for ApiError {
    fn from(e: VerifyEmailError) -> Self {
        match e {
            VerifyEmailError::InvalidToken => Self::token_invalid("token"),
            VerifyEmailError::EmailTaken => Self::EMAIL_TAKEN,
            VerifyEmailError::Store(e) => e.into(),
        }
    }
}

impl From<ResetPasswordError> for ApiError {
    fn from(e: ResetPasswordError) -> Self {
        match e {
            ResetPasswordError::InvalidToken => Self::token_invalid("token"),
            ResetPasswordError::WeakPassword(rule) => Self::weak_password("new_password", &rule),
            ResetPasswordError::Store(e) => e.into(),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(e: ChangePasswordError) -> Self {
        match e {
            ChangePasswordError::WrongPassword => Self::wrong_password("current"),
            ChangePasswordError::WeakPassword(rule) => Self::weak_password("new", &rule),
            ChangePasswordError::Store(e) => e.into(),
        }
    }
}

impl From<UpdateProfileError> for ApiError {
    fn from(e: UpdateProfileError) -> Self {
        match e {
            UpdateProfileError::WrongPassword => Self::wrong_password("current_password"),
            UpdateProfileError::ReauthRequired => Self::REAUTHENTICATION_REQUIRED,
            UpdateProfileError::Store(e) => e.into(),
        }
    }
}

impl From<UndoEmailChangeError> for ApiError {
    fn from(e: UndoEmailChangeError) -> Self {
        match e {
            UndoEmailChangeError::InvalidToken => Self::token_invalid("token"),
            UndoEmailChangeError::EmailTaken => Self::EMAIL_TAKEN,
            UndoEmailChangeError::Store(e) => e.into(),
        }
    }
}

impl From<DeleteAccountError> for ApiError {
    fn from(e: DeleteAccountError) -> Self {
        match e {
            DeleteAccountError::WrongPassword => Self::wrong_password("password"),
            DeleteAccountError::Store(e) => e.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => Self::InvalidCredentials,
            LoginError::Store(e) => e.into(),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::InvalidToken => Self::Unauthorized("invalid refresh token"),
            RefreshError::TokenReused => {
                Self::Unauthorized("refresh token already used; session revoked")
            }
            RefreshError::Store(e) => e.into(),
        }
    }
}

impl From<RevokeSessionError> for ApiError {
    fn from(e: RevokeSessionError) -> Self {
        match e {
            RevokeSessionError::NotFound => Self::NotFound {
                path: "this session".to_owned(),
            },
            RevokeSessionError::ReauthRequired => Self::REAUTHENTICATION_REQUIRED,
            RevokeSessionError::Store(e) => e.into(),
        }
    }
}

impl From<SetupTwoFactorError> for ApiError {
    fn from(e: SetupTwoFactorError) -> Self {
        match e {
            SetupTwoFactorError::AlreadyEnabled => Self::TWO_FACTOR_ENABLED,
            SetupTwoFactorError::WrongPassword => Self::wrong_password("password"),
            SetupTwoFactorError::ReauthRequired => Self::REAUTHENTICATION_REQUIRED,
            SetupTwoFactorError::Otpauth => Self::Internal(e.into()),
            SetupTwoFactorError::Store(e) => e.into(),
        }
    }
}

impl From<EnableTwoFactorError> for ApiError {
    fn from(e: EnableTwoFactorError) -> Self {
        match e {
            EnableTwoFactorError::AlreadyEnabled => Self::TWO_FACTOR_ENABLED,
            EnableTwoFactorError::NotSetUp => Self::TWO_FACTOR_NOT_ENABLED,
            EnableTwoFactorError::WrongPassword => Self::wrong_password("password"),
            EnableTwoFactorError::ReauthRequired => Self::REAUTHENTICATION_REQUIRED,
            EnableTwoFactorError::InvalidCode => Self::wrong_code(),
            EnableTwoFactorError::Store(e) => e.into(),
        }
    }
}

impl From<DisableTwoFactorError> for ApiError {
    fn from(e: DisableTwoFactorError) -> Self {
        match e {
            DisableTwoFactorError::NotEnabled => Self::TWO_FACTOR_NOT_ENABLED,
            DisableTwoFactorError::WrongPassword => Self::wrong_password("password"),
            DisableTwoFactorError::InvalidCode => Self::wrong_code(),
            DisableTwoFactorError::Store(e) => e.into(),
        }
    }
}

impl From<SecondFactorError> for ApiError {
    fn from(e: SecondFactorError) -> Self {
        match e {
            SecondFactorError::InvalidToken => Self::token_invalid("mfa_token"),
            SecondFactorError::InvalidCode => Self::wrong_code(),
            SecondFactorError::Store(e) => e.into(),
        }
    }
}

impl From<OAuthSignInError> for ApiError {
    fn from(e: OAuthSignInError) -> Self {
        match e {
            OAuthSignInError::NoEmail => Self::Conflict {
                code: "oauth_no_email",
                detail: "The provider shared no email address; allow it and try again.",
            },
            OAuthSignInError::EmailUnverified => Self::Conflict {
                code: "oauth_email_unverified",
                detail: "The provider has not verified this email address; verify it with the provider, or sign in with your password.",
            },
            OAuthSignInError::EmailTaken => Self::EMAIL_TAKEN,
            OAuthSignInError::Store(e) => e.into(),
        }
    }
}

/// Storage failures are logged here, once, with their cause; the client hears only that
/// media storage is unavailable.
impl From<MediaError> for ApiError {
    fn from(e: MediaError) -> Self {
        tracing::warn!(error = %e, "media storage failed");
        Self::MediaUnavailable
    }
}

impl From<ImageRejection> for ApiError {
    fn from(e: ImageRejection) -> Self {
        let message = e.to_string();
        match e {
            ImageRejection::UnsupportedType => Self::UnsupportedImage {
                field: "body",
                message,
            },
            ImageRejection::UnsupportedContentType | ImageRejection::ContentTypeMismatch { .. } => {
                Self::UnsupportedImage {
                    field: "Content-Type",
                    message,
                }
            }
            ImageRejection::TooManyPixels { .. } => Self::ImageTooLarge(message),
            ImageRejection::Empty | ImageRejection::Malformed(_) => Self::InvalidImage(message),
        }
    }
}

impl From<SetAvatarError> for ApiError {
    fn from(e: SetAvatarError) -> Self {
        match e {
            SetAvatarError::Storage(e) => e.into(),
            SetAvatarError::AccountGone => Self::Unauthorized("the account no longer exists"),
            SetAvatarError::Store(e) => e.into(),
        }
    }
}

impl From<RemoveAvatarError> for ApiError {
    fn from(e: RemoveAvatarError) -> Self {
        match e {
            RemoveAvatarError::Store(e) => e.into(),
        }
    }
}
