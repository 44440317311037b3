//! The abuse limits of the auth endpoints, at the HTTP edge: counts in Redis through
//! [`keel_shared::ratelimit`] (which owns every key's format), answers as 429 with
//! `Retry-After`.

use keel_shared::domain::{EmailAddress, UserId};
use keel_shared::ratelimit::{Decision, keys};

use crate::error::ApiError;
use crate::state::AppState;

/// How many emails one address can be sent by register, resend or forgot per window.
const PER_EMAIL_LIMIT: u32 = 5;

/// `Ok` when allowed, else 429 with `Retry-After`.
pub fn allowed(decision: Decision) -> Result<(), ApiError> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => Err(ApiError::TooManyRequests {
            retry_after_secs: retry_after.as_secs().max(1),
        }),
    }
}

/// Counts a request from `ip` to `endpoint` against the per-IP limit.
pub async fn limit_ip(state: &AppState, endpoint: &str, ip: &str) -> Result<(), ApiError> {
    let auth = &state.config.auth;
    let decision = state
        .limiter
        .hit(
            &keys::per_ip(endpoint, ip),
            auth.per_ip_limit,
            auth.rate_window,
        )
        .await?;
    allowed(decision)
}

/// Counts a request about `email` to `endpoint` against the per-address limit (the same for
/// addresses with and without an account).
pub async fn limit_email(
    state: &AppState,
    endpoint: &str,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    let decision = state
        .limiter
        .hit(
            &keys::per_email(endpoint, email),
            PER_EMAIL_LIMIT,
            state.config.auth.rate_window,
        )
        .await?;
    allowed(decision)
}

/// Counts a request of the signed-in `user` to `endpoint` against the per-user limit (the
/// same as per address: each such request can send an email).
pub async fn limit_user(state: &AppState, endpoint: &str, user: UserId) -> Result<(), ApiError> {
    let decision = state
        .limiter
        .hit(
            &keys::per_user(endpoint, user),
            PER_EMAIL_LIMIT,
            state.config.auth.rate_window,
        )
        .await?;
    allowed(decision)
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
