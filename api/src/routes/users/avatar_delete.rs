//! `DELETE /api/v1/users/me/avatar`.

use actix_web::{HttpResponse, delete, web};

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;

/// Remove my avatar.
///
/// The user has no avatar afterwards (`avatar_url` is `null`); its file is deleted shortly
/// after. Removing an avatar that is not there is not an error.
#[utoipa::path(
    tag = "users",
    operation_id = "delete_users_me_avatar",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The user has no avatar."),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
    )
)]
#[delete("/api/v1/users/me/avatar")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn avatar_delete(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let removed = state.accounts.remove_avatar(auth.user.id).await?;
    tracing::info!(removed, "avatar removed");
    Ok(HttpResponse::NoContent().finish())
}
