//! Request and response bodies several auth endpoints share, and the email field parser.

use keel_shared::accounts::TokenPair;
use keel_shared::domain::EmailAddress;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The cookie binding a social sign-in to the browser that started it (set by authorize,
/// checked by the callback). `__Host-`: only over HTTPS, for this host, path `/`.
pub const OAUTH_COOKIE: &str = "__Host-keel-oauth";

/// Login and refresh answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT for `Authorization: Bearer`.
    #[schema(
        example = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjEiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiIwMTkzYjBhMi03YzFlLTc0ZDItOWY1YS0xYjJjM2Q0ZTVmNjAiLCJleHAiOjE3NjQ3NjU2MDB9.3q2-7wHk"
    )]
    pub access_token: String,
    /// Opaque; exchange it at `/auth/refresh` (once: it rotates).
    #[schema(example = "q3Zt7wRkH0b9uXyV2mNcL5sPfA8eJdG1oTiW4hEzK6Y")]
    pub refresh_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
}

impl From<TokenPair> for TokenResponse {
    fn from(p: TokenPair) -> Self {
        Self {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            token_type: "Bearer",
            expires_in: p.expires_in,
        }
    }
}

/// Password correct; the second factor is needed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequired {
    /// Always `true`.
    #[schema(example = true)]
    pub mfa_required: bool,
    /// Send it with a code to `/auth/login/2fa`.
    #[schema(example = "v1.Xq0dZ3lNwVxYk2mB9sTfQe7cR4pH1aJ8uLoG5iKzW6yE")]
    pub mfa_token: String,
    /// Seconds the MFA token stays valid.
    #[schema(example = 300)]
    pub expires_in: u64,
}

/// What login answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    /// Signed in.
    Tokens(TokenResponse),
    /// Second factor needed.
    MfaRequired(MfaRequired),
}

impl From<keel_shared::accounts::LoginOutcome> for LoginResponse {
    fn from(outcome: keel_shared::accounts::LoginOutcome) -> Self {
        use keel_shared::accounts::{LoginOutcome, two_factor::MFA_TTL};
        match outcome {
            LoginOutcome::Tokens(pair) => Self::Tokens(TokenResponse::from(pair)),
            LoginOutcome::MfaRequired { mfa_token } => Self::MfaRequired(MfaRequired {
                mfa_required: true,
                mfa_token,
                expires_in: MFA_TTL.as_secs(),
            }),
        }
    }
}

/// A body holding a refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenRequest {
    /// The refresh token from login or the last refresh.
    #[schema(example = "q3Zt7wRkH0b9uXyV2mNcL5sPfA8eJdG1oTiW4hEzK6Y")]
    pub refresh_token: String,
}

/// A body holding only an email address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    /// The account's email address.
    #[schema(example = "ada@example.com", format = "email", max_length = 254)]
    pub email: String,
}

/// A social login provider, as named in the paths.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "lowercase", example = "google")]
pub enum OAuthProvider {
    /// Google (OpenID Connect).
    Google,
    /// GitHub.
    Github,
}

/// The answer of endpoints that must not reveal whether an account exists.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`.
    #[schema(example = "accepted")]
    pub status: &'static str,
}

/// The one [`Accepted`] answer.
pub const ACCEPTED: Accepted = Accepted { status: "accepted" };

/// Parses an email field, naming it in the error.
pub fn parse_email(raw: &str) -> Result<EmailAddress, ApiError> {
    EmailAddress::parse(raw).map_err(|message| ApiError::InvalidField {
        field: "email",
        message,
    })
}
