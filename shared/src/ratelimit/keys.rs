//! The names limits are counted under (below the `ratelimit:` prefix). Every limit's key is
//! built here, so two endpoints never share a counter by accident and a key's shape changes
//! in one place.

use super::{EmailAddress, UserId, client_bucket};

/// Requests from `ip`'s bucket to `endpoint`.
pub fn per_ip(endpoint: &str, ip: &str) -> String {
    format!("{endpoint}:ip:{}", client_bucket(ip))
}

/// Requests about `email` to `endpoint` (emails sent to one address).
pub fn per_email(endpoint: &str, email: &EmailAddress) -> String {
    format!("{endpoint}:email:{email}")
}

/// Requests of the signed-in `user` to `endpoint`.
pub fn per_user(endpoint: &str, user: UserId) -> String {
    format!("{endpoint}:user:{user}")
}

/// Every `/api/v1` request from `ip`'s bucket without a valid access token (the global
/// limit).
pub fn global_ip(ip: &str) -> String {
    format!("global:ip:{}", client_bucket(ip))
}

/// Every `/api/v1` request with a valid access token of `user` (the global limit).
pub fn global_user(user: UserId) -> String {
    format!("global:user:{user}")
}

/// Failed logins for `email` from `ip`'s bucket.
pub fn login_failures(email: &EmailAddress, ip: &str) -> String {
    format!("login-failures:{email}:{}", client_bucket(ip))
}

/// Failed logins for `email` from anywhere (the per-account ceiling).
pub fn login_account_failures(email: &EmailAddress) -> String {
    format!("login-failures:{email}")
}

/// Set once per window when `email`'s ceiling trips, so its owner is told once.
pub fn login_lockout_notice(email: &EmailAddress) -> String {
    format!("login-lockout-notice:{email}")
}

/// Failed second-factor codes for `user`.
pub fn mfa_failures(user: UserId) -> String {
    format!("mfa-failures:{user}")
}

/// Wrong passwords given by `user` behind a bearer token (password change, account
/// deletion, two-factor changes).
pub fn password_check_failures(user: UserId) -> String {
    format!("password-check-failures:{user}")
}
