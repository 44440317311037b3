//! `/api/v1/auth/*`: registration, email verification, login, tokens, passwords, sessions.

pub mod login;
pub mod login_2fa;
pub mod logout;
pub mod oauth_authorize;
pub mod oauth_callback;
pub mod password_change;
pub mod password_forgot;
pub mod password_reset;
pub mod refresh;
pub mod register;
pub mod resend_verification;
pub mod session_delete;
pub mod sessions_list;
pub mod two_factor_disable;
pub mod two_factor_enable;
pub mod two_factor_setup;
pub mod verify_email;

use keel_shared::accounts::TokenPair;
use keel_shared::domain::EmailAddress;
use keel_shared::ratelimit::Decision;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// Login and refresh answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; exchange it at `/auth/refresh` (once: it rotates).
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
    pub mfa_required: bool,
    /// Send it with a code to `/auth/login/2fa`.
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

/// How many emails one address can be sent by register, resend or forgot per window.
const PER_EMAIL_LIMIT: u32 = 5;

/// Counts a request about `email` to the endpoint `name` against the per-account limit (the
/// same for addresses with and without an account).
pub async fn limit_email(
    state: &AppState,
    name: &str,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    let decision = state
        .limiter
        .hit(
            &format!("{name}:email:{email}"),
            PER_EMAIL_LIMIT,
            state.config.auth.rate_window,
        )
        .await?;
    allowed(decision)
}

/// `Ok` when allowed, else 429 with `Retry-After`.
pub fn allowed(decision: Decision) -> Result<(), ApiError> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => Err(ApiError::TooManyRequests {
            retry_after_secs: retry_after.as_secs().max(1),
        }),
    }
}

/// 429 when the failure counter `key` reached `KEEL_LOGIN_MAX_FAILURES`.
pub async fn check_failures(state: &AppState, key: &str) -> Result<(), ApiError> {
    allowed(
        state
            .limiter
            .check(key, state.config.auth.login_max_failures)
            .await?,
    )
}

/// Counts one failure under `key` for the window.
pub async fn record_failure(state: &AppState, key: &str) -> Result<(), ApiError> {
    state
        .limiter
        .hit(key, u32::MAX, state.config.auth.rate_window)
        .await?;
    Ok(())
}

/// Counts a request from `ip` to the endpoint `name` against the per-IP limit.
pub async fn limit_ip(state: &AppState, name: &str, ip: &str) -> Result<(), ApiError> {
    let auth = &state.config.auth;
    let decision = state
        .limiter
        .hit(
            &format!("{name}:ip:{ip}"),
            auth.per_ip_limit,
            auth.rate_window,
        )
        .await?;
    allowed(decision)
}
