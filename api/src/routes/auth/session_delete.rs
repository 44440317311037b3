//! `DELETE /api/v1/auth/sessions/{id}`.

use actix_web::{HttpResponse, delete, web};
use keel_shared::db::sessions;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;

/// Revoke one of my sessions.
#[utoipa::path(
    tag = "auth",
    operation_id = "delete_auth_session",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "No valid access token.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No active session of yours has this id.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/auth/sessions/{id}")]
pub async fn session_delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let client = state.db.get().await?;
    let revoked = sessions::revoke_own(&client, auth.user.id, path.into_inner())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if revoked {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound {
            path: "this session".to_owned(),
        })
    }
}
