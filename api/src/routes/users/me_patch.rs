//! `PATCH /api/v1/users/me`.

use actix_web::{HttpResponse, patch, web};
use keel_shared::domain::DisplayName;
use serde::Deserialize;
use utoipa::ToSchema;

use super::UserResponse;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
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
    /// once the link is used.
    #[schema(example = "ada.king@example.com", format = "email", max_length = 254)]
    pub email: Option<String>,
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
        (status = 409, description = "The new email address belongs to another account (`email_taken`).", body = Problem),
        (status = 422, description = "A field breaks a rule; `errors` names it.", body = Problem),
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
    let user = state
        .accounts
        .update_profile(&auth.user, name.as_ref(), email.as_ref())
        .await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(&user)))
}
