//! `POST /api/v1/auth/2fa/disable`.

use actix_web::{HttpResponse, post, web};
use keel_shared::accounts::DisableTwoFactorError;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::limits::password_checked;
use crate::state::AppState;

/// Password and a current code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorDisableRequest {
    /// The account's password.
    #[schema(example = "violet-anchor-mosaic-71")]
    pub password: String,
    /// The 6-digit code the authenticator shows now.
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// Disable two-factor authentication.
///
/// Needs the password and a current TOTP code (or a recovery code), so a stolen access
/// token alone cannot turn the second factor off. Sign-in then asks for the password only.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_2fa_disable",
    request_body = TwoFactorDisableRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Disabled; the secret and recovery codes are deleted."),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 409, description = "Two-factor authentication is not enabled (`two_factor_not_enabled`).", body = Problem),
        (status = 422, description = "`password` or `code` is wrong (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many wrong passwords for this user (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/2fa/disable")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn two_factor_disable(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<TwoFactorDisableRequest>,
) -> Result<HttpResponse, ApiError> {
    password_checked(
        &state,
        auth.user.id,
        |e| {
            matches!(
                e,
                DisableTwoFactorError::WrongPassword | DisableTwoFactorError::InvalidCode
            )
        },
        state
            .accounts
            .disable_two_factor(&auth.user, &body.password, &body.code),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
