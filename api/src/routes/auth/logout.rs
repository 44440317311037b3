//! `POST /api/v1/auth/logout`.

use actix_web::{HttpResponse, post, web};

use super::types::RefreshTokenRequest;
use crate::error::ApiError;
use crate::state::AppState;

/// Sign out.
///
/// Revokes the session of the refresh token: its refresh tokens and access tokens stop
/// working. Signing out twice is fine.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_logout",
    request_body = RefreshTokenRequest,
    responses((status = 204, description = "Signed out."))
)]
#[post("/api/v1/auth/logout")]
#[tracing::instrument(skip_all)]
pub async fn logout(
    state: web::Data<AppState>,
    body: web::Json<RefreshTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    state.accounts.logout(&body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}
