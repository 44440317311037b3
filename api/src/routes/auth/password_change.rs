//! `POST /api/v1/auth/password/change`.

use actix_web::{HttpResponse, post, web};
use keel_shared::accounts::ChangePasswordError;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::limits::password_checked;
use crate::state::AppState;

/// The current and the new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    /// The current password.
    #[schema(example = "violet-anchor-mosaic-71")]
    pub current: String,
    /// The new password (same rules as at registration).
    #[schema(example = "amber-lantern-quarry-38", min_length = 10, max_length = 128)]
    pub new: String,
}

/// Change the password.
///
/// Signs out every other session of the account and emails a notice.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_password_change",
    request_body = PasswordChangeRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed."),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 422, description = "`current` is wrong or `new` breaks a rule (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many wrong passwords for this user (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/password/change")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn password_change(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<PasswordChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    password_checked(
        &state,
        auth.user.id,
        |e| matches!(e, ChangePasswordError::WrongPassword),
        state
            .accounts
            .change_password(&auth.user, auth.session, &body.current, &body.new),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
