//! `DELETE /api/v1/auth/sessions/{id}`.

use actix_web::{HttpResponse, delete, web};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;

/// Revoke one of my sessions.
///
/// Its refresh token and access tokens stop working at once (access tokens are checked
/// against the session on every request). Revoking the current session signs this client
/// out.
#[utoipa::path(
    tag = "auth",
    operation_id = "delete_auth_session",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 404, description = "No active session of yours has this id (`not_found`).", body = Problem),
    )
)]
#[delete("/api/v1/auth/sessions/{id}")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn session_delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .accounts
        .revoke_session(auth.user.id, path.into_inner().into())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
