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
/// out; signing out another one needs a sign-in within the last 10 minutes (a stolen token
/// must not sign the owner out everywhere).
#[utoipa::path(
    tag = "auth",
    operation_id = "delete_auth_session",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 403, description = "Signing out another session needs a sign-in within the last 10 minutes (`reauthentication_required`).", body = Problem),
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
        .revoke_session(
            &auth.user,
            auth.session,
            path.into_inner().into(),
            auth.reauth(None),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
