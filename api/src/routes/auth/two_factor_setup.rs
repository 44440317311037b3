//! `POST /api/v1/auth/2fa/setup`.

use actix_web::{HttpResponse, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
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

/// Start two-factor setup.
///
/// Returns a new secret. Setting up again before enabling replaces it.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_2fa_setup",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new secret to load into an authenticator.", body = TwoFactorSetupResponse),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 409, description = "Two-factor authentication is already enabled (`two_factor_enabled`).", body = Problem),
    )
)]
#[post("/api/v1/auth/2fa/setup")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn two_factor_setup(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let setup = state.accounts.setup_two_factor(&auth.user).await?;
    Ok(HttpResponse::Ok().json(TwoFactorSetupResponse {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
        qr_code: setup.qr_code,
    }))
}
