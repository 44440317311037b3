//! `POST /api/v1/auth/password/reset`.

use actix_web::{HttpResponse, post, web};
use keel_shared::domain::EmailAddress;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::login_unlocked;
use crate::state::AppState;

/// A reset token and the new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The `token` query parameter of the emailed link.
    #[schema(
        pattern = "^[A-Za-z0-9_-]{43}$",
        min_length = 43,
        max_length = 43,
        example = "q3Zt7wRkH0b9uXyV2mNcL5sPfA8eJdG1oTiW4hEzK6Y"
    )]
    pub token: String,
    /// The new password (same rules as at registration).
    #[schema(example = "amber-lantern-quarry-38", min_length = 10, max_length = 128)]
    pub new_password: String,
}

/// Reset the password.
///
/// Sets the new password and signs out every session of the account. It also lifts a login
/// lock: the account-wide failure count is cleared.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_password_reset",
    request_body = PasswordResetRequest,
    responses(
        (status = 204, description = "Password changed; every session signed out."),
        (status = 422, description = "The token is invalid, used or expired, or the new password breaks a rule (`invalid_field`; `errors` names `token` or `new_password`).", body = Problem),
    )
)]
#[post("/api/v1/auth/password/reset")]
#[tracing::instrument(skip_all)]
pub async fn password_reset(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .accounts
        .reset_password(&body.token, &body.new_password)
        .await?;
    if let Ok(email) = EmailAddress::parse(&user.email) {
        login_unlocked(&state, &email, &client.ip).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
