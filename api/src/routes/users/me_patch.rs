//! `PATCH /api/v1/users/me`.

use actix_web::{HttpResponse, patch, web};
use keel_shared::accounts::UpdateProfileError;
use keel_shared::domain::DisplayName;
use serde::Deserialize;
use utoipa::ToSchema;

use super::UserResponse;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::limits::{limit_user, password_checked};
use crate::routes::auth::types::parse_email;
use crate::state::AppState;

/// Fields to change; absent ones stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// New display name, 1 to 100 characters.
    #[schema(example = "Ada King", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// New email address: a verification link goes to it, and the account switches to it only
    /// once the link is used (the previous address is then told, with an undo link).
    #[schema(example = "ada.king@example.com", format = "email", max_length = 254)]
    pub email: Option<String>,
    /// The current password, to change the email; without it, the session must have signed
    /// in within the last 10 minutes.
    pub current_password: Option<String>,
}

/// Update me.
///
/// Changes the display name and/or starts an email change; absent fields stay as they are,
/// unknown fields are refused (422 naming them). A new email address becomes the account's
/// only once the verification link sent to it is used.
#[utoipa::path(
    tag = "users",
    operation_id = "patch_users_me",
    request_body = UpdateMeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user after the change (the email changes only after verification).", body = UserResponse),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 403, description = "An email change needs `current_password` or a sign-in within the last 10 minutes (`reauthentication_required`).", body = Problem),
        (status = 422, description = "A field breaks a rule; `errors` names it (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many email changes for this account (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[patch("/api/v1/users/me")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn me_patch(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<UpdateMeRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = body
        .name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()
        .map_err(|message| ApiError::InvalidField {
            field: "name",
            message,
        })?;
    let email = body.email.as_deref().map(parse_email).transpose()?;
    if email
        .as_ref()
        .is_some_and(|e| e.as_str() != auth.user.email)
    {
        limit_user(&state, "email-change", auth.user.id).await?;
    }
    let user = password_checked(
        &state,
        auth.user.id,
        |e| matches!(e, UpdateProfileError::WrongPassword),
        state.accounts.update_profile(
            &auth.user,
            name.as_ref(),
            email.as_ref(),
            auth.reauth(body.current_password.as_deref()),
        ),
    )
    .await?;
    Ok(HttpResponse::Ok().json(UserResponse::of(&state, &user).await))
}
