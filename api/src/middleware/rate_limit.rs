//! The global request limit on `/api/v1`, told to the client on every answer.
//!
//! Each request is counted in Redis with one round trip ([`Limiter::count`]): per user when
//! it carries a valid access token (the signature is checked here, no PostgreSQL; the
//! verified claims are handed to the `AuthUser` extractor so it does not check them again),
//! else per client address ([`ClientAddr`], resolved through trusted proxies only; IPv6 per
//! /64). Over the limit the request is answered 429 `rate_limited` with `Retry-After` before
//! it reaches a handler. Every answer carries `RateLimit-Limit`, `RateLimit-Remaining`,
//! `RateLimit-Reset` (seconds) and the same values as `X-RateLimit-*`.
//!
//! When a per-endpoint limit (`crate::limits`) refused the request, its 429 says so through a
//! [`Refusal`] and the headers describe that limit (remaining 0, reset = `Retry-After`): the
//! limit the client ran into wins.
//!
//! When Redis cannot be reached, or does not answer within `KEEL_GLOBAL_RATE_LIMIT_TIMEOUT_MS`,
//! the request is served uncounted (fail-open): rate limiting must not turn a Redis outage
//! into an api outage, nor a hung Redis into a slow api. Each such request is counted in
//! `keel_api_rate_limit_fail_open_total` and a warning is logged at most every 10 s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError, web};
use keel_shared::auth::jwt::Claims;
use keel_shared::ratelimit::{Quota, keys};

use super::proxy::ClientAddr;
use crate::error::ApiError;
use crate::state::AppState;

/// The paths the limit applies to.
const LIMITED_PREFIX: &str = "/api/v1/";

/// The headers, IETF draft names first, then the `X-` ones with the same values.
pub const LIMIT: [HeaderName; 2] = [
    HeaderName::from_static("ratelimit-limit"),
    HeaderName::from_static("x-ratelimit-limit"),
];
/// Requests left in the window.
pub const REMAINING: [HeaderName; 2] = [
    HeaderName::from_static("ratelimit-remaining"),
    HeaderName::from_static("x-ratelimit-remaining"),
];
/// Seconds until the window ends.
pub const RESET: [HeaderName; 2] = [
    HeaderName::from_static("ratelimit-reset"),
    HeaderName::from_static("x-ratelimit-reset"),
];

/// A limit refused the request: put in the 429's extensions by `ApiError`, so the
/// rate-limit headers describe the limit that refused, not the global one.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    /// The refusing limit (requests or attempts per window).
    pub limit: u32,
    /// Seconds until it has room again (`Retry-After`).
    pub retry_after_secs: u64,
}

/// The claims of the request's access token, verified by [`rate_limit`].
#[derive(Debug, Clone)]
pub struct VerifiedToken(pub Claims);

/// The middleware (`from_fn(rate_limit)`); wrap it inside [`super::proxy::client_addr`],
/// which resolves the client address it counts by.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (true, Some(state)) = (req.path().starts_with(LIMITED_PREFIX), state) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let config = state.config.global_rate_limit;
    let claims =
        crate::extract::bearer_token(req.headers()).and_then(|token| state.jwt.verify(token).ok());
    let (key, limit) = match claims {
        Some(claims) => {
            let key = keys::global_user(claims.sub);
            req.extensions_mut().insert(VerifiedToken(claims));
            (key, config.per_user)
        }
        None => {
            let ip = req.extensions().get::<ClientAddr>().and_then(|c| c.ip);
            let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
            (keys::global_ip(&ip), config.per_ip)
        }
    };
    let counted = tokio::time::timeout(config.timeout, state.limiter.count(&key, config.window));
    let quota = match counted.await {
        Ok(Ok(usage)) => Quota::of(usage, limit),
        Ok(Err(e)) => {
            failed_open(&e);
            Quota::untouched(limit, config.window)
        }
        Err(_) => {
            failed_open(&"no answer within KEEL_GLOBAL_RATE_LIMIT_TIMEOUT_MS");
            Quota::untouched(limit, config.window)
        }
    };
    let mut res = if quota.exceeded {
        crate::limits::count_rejection("global");
        let refused = ApiError::TooManyRequests {
            retry_after_secs: quota.reset_secs,
            limit,
        };
        req.into_response(refused.error_response())
    } else {
        next.call(req).await?.map_into_boxed_body()
    };
    let refusal = res.response().extensions().get::<Refusal>().copied();
    let told = refusal.map_or(quota, |r| Quota {
        limit: r.limit,
        remaining: 0,
        reset_secs: r.retry_after_secs,
        exceeded: true,
    });
    stamp(res.headers_mut(), told);
    Ok(res)
}

/// Writes `quota` as the six rate-limit headers.
fn stamp(headers: &mut HeaderMap, quota: Quota) {
    for (names, value) in [
        (&LIMIT, HeaderValue::from(quota.limit)),
        (&REMAINING, HeaderValue::from(quota.remaining)),
        (&RESET, HeaderValue::from(quota.reset_secs)),
    ] {
        for name in names {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// When the last fail-open warning was logged (ms since the epoch).
static LAST_WARNING_MS: AtomicU64 = AtomicU64::new(0);

/// How often a fail-open warning is logged at most (the metric counts every request).
const WARNING_EVERY_MS: u64 = 10_000;

/// A request served without being counted: counted as such, and logged at most every 10 s
/// so that an outage does not flood the log.
fn failed_open(error: &dyn std::fmt::Display) {
    metrics::counter!("keel_api_rate_limit_fail_open_total").increment(1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let last = LAST_WARNING_MS.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= WARNING_EVERY_MS
        && LAST_WARNING_MS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            error = %error,
            "global rate limit skipped: Redis is unreachable, requests are served uncounted \
             (logged at most every 10 s; keel_api_rate_limit_fail_open_total counts them)"
        );
    }
}
