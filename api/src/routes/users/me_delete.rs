//! `DELETE /api/v1/users/me`.

use actix_web::{HttpResponse, delete, web};
use keel_shared::accounts::DeleteAccountError;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::limits::password_checked;
use crate::state::AppState;

/// Confirmation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMeRequest {
    /// The account's password.
    #[schema(example = "violet-anchor-mosaic-71")]
    pub password: String,
}

/// Delete my account.
///
/// Deletes the user row; its tokens, sessions and linked sign-in providers are deleted with it
/// (nothing is kept). An account created through social login has no password: it sets one
/// through `/auth/password/forgot` first.
#[utoipa::path(
    tag = "users",
    operation_id = "delete_users_me",
    request_body = DeleteMeRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 422, description = "`password` is wrong (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many wrong passwords for this user (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[delete("/api/v1/users/me")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn me_delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<DeleteMeRequest>,
) -> Result<HttpResponse, ApiError> {
    password_checked(
        &state,
        auth.user.id,
        |e| matches!(e, DeleteAccountError::WrongPassword),
        state.accounts.delete_account(&auth.user, &body.password),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
