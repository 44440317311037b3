//! `POST /api/v1/auth/2fa/setup`.

use actix_web::{HttpResponse, post, web};
use keel_shared::accounts::SetupTwoFactorError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::limits::password_checked;
use crate::state::AppState;

/// A new TOTP secret, pending until `/auth/2fa/enable`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorSetupResponse {
    /// Base32 secret, to type into an authenticator.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// `otpauth://totp/...` URI.
    #[schema(
        example = "otpauth://totp/Keel:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Keel&algorithm=SHA1&digits=6&period=30"
    )]
    pub otpauth_uri: String,
    /// The URI as a QR code: an SVG `data:` URI for an `<img>`.
    #[schema(
        example = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
    )]
    pub qr_code: String,
}

/// Proof of presence for a sensitive change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthRequest {
    /// The current password; without it, the session must have signed in within the last
    /// 10 minutes.
    pub password: Option<String>,
}

/// Start two-factor setup.
///
/// Returns a new secret. Setting up again before enabling replaces it. Needs the password,
/// or a sign-in within the last 10 minutes (send `{}` then).
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_2fa_setup",
    request_body = ReauthRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new secret to load into an authenticator.", body = TwoFactorSetupResponse),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 403, description = "No `password` and no sign-in within the last 10 minutes (`reauthentication_required`).", body = Problem),
        (status = 409, description = "Two-factor authentication is already enabled (`two_factor_enabled`).", body = Problem),
        (status = 422, description = "`password` is wrong (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many wrong passwords or codes for this user (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/2fa/setup")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn two_factor_setup(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<ReauthRequest>,
) -> Result<HttpResponse, ApiError> {
    let setup = password_checked(
        &state,
        auth.user.id,
        |e| matches!(e, SetupTwoFactorError::WrongPassword),
        state
            .accounts
            .setup_two_factor(&auth.user, auth.reauth(body.password.as_deref())),
    )
    .await?;
    Ok(HttpResponse::Ok().json(TwoFactorSetupResponse {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
        qr_code: setup.qr_code,
    }))
}
