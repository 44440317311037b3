//! `GET /api/v1/users/me`.

use actix_web::{HttpResponse, get, web};

use super::UserResponse;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;

/// Me.
///
/// The signed-in user (one PostgreSQL read, which also checks the session is still active),
/// with a fresh `avatar_url`.
#[utoipa::path(
    tag = "users",
    operation_id = "get_users_me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user.", body = UserResponse),
        (status = 401, description = "Missing, malformed, expired or wrongly signed token, or a revoked session (`unauthorized`).", body = Problem),
    )
)]
#[get("/api/v1/users/me")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn me_get(state: web::Data<AppState>, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(UserResponse::of(&state, &auth.user).await))
}
