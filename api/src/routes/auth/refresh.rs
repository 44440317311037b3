//! `POST /api/v1/auth/refresh`.

use actix_web::{HttpResponse, post, web};

use super::types::{RefreshTokenRequest, TokenResponse};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Exchange a refresh token for a new pair.
///
/// The refresh token rotates: the one presented stops working. Presenting an already-used
/// refresh token revokes its whole session (it was stolen, or the client is broken).
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_refresh",
    request_body = RefreshTokenRequest,
    responses(
        (status = 200, description = "A new access token and refresh token.", body = TokenResponse),
        (status = 401, description = "Unknown, used, expired or revoked refresh token (`unauthorized`); a reused one also revokes its session.", body = Problem),
    )
)]
#[post("/api/v1/auth/refresh")]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let pair = state.accounts.refresh(&body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(pair)))
}
