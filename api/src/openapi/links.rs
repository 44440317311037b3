//! OpenAPI `links`: where one operation's answer feeds another. Clients and generators read
//! them as "what next", and schemathesis's stateful phase walks them (register, then log in;
//! log in, then refresh, `users/me` or the second factor).

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::{OpenApi, RefOr};

/// `(from operationId, status, link name, to operationId, parameters, request body, why)`.
type LinkSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<fn() -> serde_json::Value>,
    &'static str,
);

/// Every link, in one table.
const LINKS: &[LinkSpec] = &[
    (
        "post_auth_register",
        "202",
        "VerifyEmail",
        "post_auth_verify_email",
        &[],
        None,
        "Verify the address with the `token` of the link the email carries.",
    ),
    (
        "post_auth_register",
        "202",
        "LogIn",
        "post_auth_login",
        &[],
        Some(
            || serde_json::json!({"email": "$request.body#/email", "password": "$request.body#/password"}),
        ),
        "Log in with the registered credentials (sign-in works before the address is verified).",
    ),
    (
        "post_auth_register",
        "202",
        "ResendVerification",
        "post_auth_resend_verification",
        &[],
        Some(|| serde_json::json!({"email": "$request.body#/email"})),
        "Send the verification email again.",
    ),
    (
        "post_auth_login",
        "200",
        "Refresh",
        "post_auth_refresh",
        &[],
        Some(|| serde_json::json!({"refresh_token": "$response.body#/refresh_token"})),
        "Exchange the refresh token for a new pair (when the answer has tokens).",
    ),
    (
        "post_auth_login",
        "200",
        "LogInSecondFactor",
        "post_auth_login_2fa",
        &[],
        Some(|| serde_json::json!({"mfa_token": "$response.body#/mfa_token", "code": "123456"})),
        "Complete the sign-in with a TOTP code (when the answer is `mfa_required`).",
    ),
    (
        "post_auth_login",
        "200",
        "LogOut",
        "post_auth_logout",
        &[],
        Some(|| serde_json::json!({"refresh_token": "$response.body#/refresh_token"})),
        "End the session the tokens belong to.",
    ),
    (
        "post_auth_login_2fa",
        "200",
        "Refresh",
        "post_auth_refresh",
        &[],
        Some(|| serde_json::json!({"refresh_token": "$response.body#/refresh_token"})),
        "Exchange the refresh token for a new pair.",
    ),
    (
        "post_auth_refresh",
        "200",
        "RefreshAgain",
        "post_auth_refresh",
        &[],
        Some(|| serde_json::json!({"refresh_token": "$response.body#/refresh_token"})),
        "Refresh tokens rotate: the new one is good for the next exchange.",
    ),
    (
        "get_auth_sessions",
        "200",
        "RevokeSession",
        "delete_auth_session",
        &[("id", "$response.body#/0/id")],
        None,
        "Revoke a listed session by its id.",
    ),
];

/// Adds [`LINKS`] to the responses they start from (skipping any whose operations are gone,
/// which the tests catch).
pub fn apply(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in super::operations(item) {
            let Some(id) = op.operation_id.clone() else {
                continue;
            };
            for (from, status, name, to, params, body, why) in LINKS {
                if *from != id {
                    continue;
                }
                let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else {
                    continue;
                };
                let mut link = LinkBuilder::new().operation_id(*to).description(*why);
                for (param, expr) in *params {
                    link = link.parameter(*param, *expr);
                }
                link = link.request_body(body.map(|b| b()));
                response
                    .links
                    .insert((*name).to_owned(), RefOr::T(link.build()));
            }
        }
    }
}

/// The `(from, to)` operation ids of every link, for tests.
pub fn pairs() -> impl Iterator<Item = (&'static str, &'static str)> {
    LINKS.iter().map(|l| (l.0, l.3))
}
