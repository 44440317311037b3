//! `POST /api/v1/auth/2fa/enable`.

use actix_web::{HttpResponse, post, web};
use keel_shared::accounts::EnableTwoFactorError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::limits::password_checked;
use crate::state::AppState;

/// A code from the authenticator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorCodeRequest {
    /// The 6-digit code the authenticator shows now.
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
    pub code: String,
    /// The current password; without it, the session must have signed in within the last
    /// 10 minutes.
    pub password: Option<String>,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    /// Ten single-use codes for when the authenticator is lost.
    #[schema(example = json!(["k7p2m-x9q4r", "c3v8n-h2w6t", "p9d4f-m7k2x", "r5t8y-b3n6q", "w2e7u-j4c9h", "a6s3d-g8l5z", "f4h9k-q2w7e", "n8m3b-v6c1x", "y5u2i-o7p4t", "l3k8j-h6g2f"]))]
    pub recovery_codes: Vec<String>,
}

/// Enable two-factor authentication.
///
/// Proves the authenticator holds the secret from setup, turns two-factor authentication on,
/// and returns ten single-use recovery codes (stored hashed; shown only now). Needs the
/// password, or a sign-in within the last 10 minutes.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_2fa_enable",
    request_body = TwoFactorCodeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Enabled.", body = RecoveryCodesResponse),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 403, description = "No `password` and no sign-in within the last 10 minutes (`reauthentication_required`).", body = Problem),
        (status = 409, description = "Already enabled (`two_factor_enabled`), or setup was not started (`two_factor_not_enabled`).", body = Problem),
        (status = 422, description = "`code` is wrong or already used, or `password` is wrong (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many wrong passwords or codes for this user (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/2fa/enable")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn two_factor_enable(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<TwoFactorCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let recovery_codes = password_checked(
        &state,
        auth.user.id,
        |e| {
            matches!(
                e,
                EnableTwoFactorError::WrongPassword | EnableTwoFactorError::InvalidCode
            )
        },
        state.accounts.enable_two_factor(
            &auth.user,
            &body.code,
            auth.reauth(body.password.as_deref()),
        ),
    )
    .await?;
    Ok(HttpResponse::Ok().json(RecoveryCodesResponse { recovery_codes }))
}
