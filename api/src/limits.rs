//! The abuse limits of the auth endpoints, at the HTTP edge: counts in Redis through
//! [`keel_shared::ratelimit`] (which owns every key's format), answers as 429 with
//! `Retry-After`.

use keel_shared::domain::{EmailAddress, UserId};
use keel_shared::ratelimit::{Attempt, Decision, keys};

use crate::error::ApiError;
use crate::state::AppState;

/// How many emails one address can be sent by register, resend or forgot per window.
const PER_EMAIL_LIMIT: u32 = 5;

/// `Ok` when allowed, else 429 with `Retry-After`, naming `limit` (the limit that decided).
pub fn allowed(decision: Decision, limit: u32) -> Result<(), ApiError> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => {
            count_rejection("endpoint");
            Err(ApiError::TooManyRequests {
                retry_after_secs: retry_after.as_secs().max(1),
                limit,
            })
        }
    }
}

/// Counts a request refused by the `global` limit or an `endpoint` limit in
/// `keel_api_rate_limited_total`.
pub fn count_rejection(limit: &'static str) {
    metrics::counter!("keel_api_rate_limited_total", "limit" => limit).increment(1);
}

/// Counts a request from `ip` to `endpoint` against the per-IP limit.
pub async fn limit_ip(state: &AppState, endpoint: &str, ip: &str) -> Result<(), ApiError> {
    hit(
        state,
        &keys::per_ip(endpoint, ip),
        state.config.auth.per_ip_limit,
    )
    .await
}

/// Counts one request under `key`: at most `limit` per `KEEL_RATE_LIMIT_WINDOW_SECS`, else 429.
async fn hit(state: &AppState, key: &str, limit: u32) -> Result<(), ApiError> {
    let decision = state
        .limiter
        .hit(key, limit, state.config.auth.rate_window)
        .await?;
    allowed(decision, limit)
}

/// Counts a request about `email` to `endpoint` against the per-address limit (the same for
/// addresses with and without an account).
pub async fn limit_email(
    state: &AppState,
    endpoint: &str,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    hit(state, &keys::per_email(endpoint, email), PER_EMAIL_LIMIT).await
}

/// Counts a request of the signed-in `user` to `endpoint` against the per-user limit (the
/// same as per address: each such request can send an email).
pub async fn limit_user(state: &AppState, endpoint: &str, user: UserId) -> Result<(), ApiError> {
    hit(state, &keys::per_user(endpoint, user), PER_EMAIL_LIMIT).await
}

/// Counts an upload of the signed-in `user` against `KEEL_MEDIA_UPLOADS_PER_WINDOW`, before
/// its body is read (refused uploads count too: each costs a decode).
pub async fn limit_uploads(state: &AppState, user: UserId) -> Result<(), ApiError> {
    hit(
        state,
        &keys::per_user("media-upload", user),
        state.config.media.uploads_per_window,
    )
    .await
}

/// Counts a login attempt for `email` from `ip` before the password is checked, on two
/// counters at once: per account and client (`KEEL_LOGIN_MAX_FAILURES`) and per account from
/// everywhere (`KEEL_LOGIN_ACCOUNT_MAX_FAILURES`). 429 when either is full; the first time
/// the account-wide one refuses in a window, its owner (if the account exists) is emailed.
/// Settle the attempt with [`login_succeeded`] or [`uncount_login`]; a wrong password
/// stays counted.
pub async fn count_login(state: &AppState, email: &EmailAddress, ip: &str) -> Result<(), ApiError> {
    let auth = &state.config.auth;
    let (pair, account) = (
        keys::login_failures(email, ip),
        keys::login_account_failures(email),
    );
    let attempt = state
        .limiter
        .acquire(
            &[
                (&pair, auth.login_max_failures),
                (&account, auth.login_account_max_failures),
            ],
            auth.rate_window,
        )
        .await?;
    let limit = match attempt {
        Attempt::Refused { counter: 1, .. } => auth.login_account_max_failures,
        _ => auth.login_max_failures,
    };
    if let Attempt::Refused {
        counter: 1,
        retry_after,
    } = attempt
    {
        let notice = keys::login_lockout_notice(email);
        if state.limiter.first_in_window(&notice, retry_after).await? {
            // The 429 stands even if the notice cannot be queued.
            if let Err(e) = state.accounts.notify_lockout(email, retry_after).await {
                tracing::error!(error = %e, "cannot queue the account-locked notice");
            }
        }
    }
    allowed(attempt.decision(), limit)
}

/// A login succeeded: this client's failures for `email` are forgotten, and the attempt is
/// taken back from the account-wide count (other clients' failures stay counted).
pub async fn login_succeeded(
    state: &AppState,
    email: &EmailAddress,
    ip: &str,
) -> Result<(), ApiError> {
    state
        .limiter
        .reset(&[&keys::login_failures(email, ip)])
        .await?;
    state
        .limiter
        .uncount(&[&keys::login_account_failures(email)])
        .await?;
    Ok(())
}

/// A login ended for another reason than a wrong password (an outage): the attempt is
/// taken back from both counters.
pub async fn uncount_login(state: &AppState, email: &EmailAddress, ip: &str) {
    let uncounted = state
        .limiter
        .uncount(&[
            &keys::login_failures(email, ip),
            &keys::login_account_failures(email),
        ])
        .await;
    if let Err(e) = uncounted {
        tracing::warn!(error = %e, "cannot take back a login attempt");
    }
}

/// A password reset is the unlock path: it clears the account-wide failure count (and the
/// once-per-window lockout notice) of `email`, and the resetting client's own count.
pub async fn login_unlocked(
    state: &AppState,
    email: &EmailAddress,
    ip: &str,
) -> Result<(), ApiError> {
    state
        .limiter
        .reset(&[
            &keys::login_account_failures(email),
            &keys::login_lockout_notice(email),
            &keys::login_failures(email, ip),
        ])
        .await?;
    Ok(())
}

/// Runs `attempt`, a guess of a secret (a password or a code), counted on the failure
/// counter `key` (at most `KEEL_LOGIN_MAX_FAILURES` per window) **before** it runs, so that
/// concurrent guesses cannot overrun the limit: 429 when the counter is full. A guess that
/// `is_wrong` says was wrong stays counted; a success clears the counter; any other outcome
/// is taken back.
pub async fn guarded<T, E>(
    state: &AppState,
    key: &str,
    is_wrong: impl FnOnce(&E) -> bool,
    attempt: impl Future<Output = Result<T, E>>,
) -> Result<T, ApiError>
where
    ApiError: From<E>,
{
    let auth = &state.config.auth;
    allowed(
        state
            .limiter
            .acquire(&[(key, auth.login_max_failures)], auth.rate_window)
            .await?
            .decision(),
        auth.login_max_failures,
    )?;
    match attempt.await {
        Ok(value) => {
            state.limiter.reset(&[key]).await?;
            Ok(value)
        }
        Err(e) if is_wrong(&e) => Err(e.into()),
        Err(e) => {
            if let Err(redis) = state.limiter.uncount(&[key]).await {
                tracing::warn!(error = %redis, "cannot take back a guarded attempt");
            }
            Err(e.into())
        }
    }
}

/// Runs `check`, a check of `user`'s password (or code) behind a bearer token, under the
/// per-user failure limit: after `KEEL_LOGIN_MAX_FAILURES` wrong answers within the window,
/// 429 (a stolen access token must not become a password oracle). Every password-checking
/// endpoint behind a bearer token goes through here; `is_wrong` picks out the wrong-password
/// (and wrong-code) errors of its operation.
pub async fn password_checked<T, E>(
    state: &AppState,
    user: UserId,
    is_wrong: impl FnOnce(&E) -> bool,
    check: impl Future<Output = Result<T, E>>,
) -> Result<T, ApiError>
where
    ApiError: From<E>,
{
    guarded(state, &keys::password_check_failures(user), is_wrong, check).await
}
