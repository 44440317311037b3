//! `DELETE /api/v1/users/me`.

use actix_web::{HttpResponse, delete, web};
use keel_shared::accounts;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;

/// Confirmation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMeRequest {
    /// The account's password.
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
        (status = 401, description = "No valid access token.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`password` is wrong.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/users/me")]
pub async fn me_delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<DeleteMeRequest>,
) -> Result<HttpResponse, ApiError> {
    accounts::delete_account(&state.db, &auth.user, &body.password)
        .await
        .map_err(|e| ApiError::account(e, "password"))?;
    Ok(HttpResponse::NoContent().finish())
}
