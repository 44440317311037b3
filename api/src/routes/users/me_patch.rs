//! `PATCH /api/v1/users/me`.

use actix_web::{HttpResponse, patch, web};
use keel_shared::accounts;
use keel_shared::db::users;
use keel_shared::domain::DisplayName;
use serde::Deserialize;
use utoipa::ToSchema;

use super::UserResponse;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::routes::auth::parse_email;
use crate::state::AppState;

/// Fields to change; absent ones stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// New display name.
    pub name: Option<String>,
    /// New email address: a verification link goes to it, and the account switches to it only
    /// once the link is used.
    pub email: Option<String>,
}

/// Update me.
#[utoipa::path(
    tag = "users",
    operation_id = "patch_users_me",
    request_body = UpdateMeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user after the change (the email changes only after verification).", body = UserResponse),
        (status = 401, description = "No valid access token.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new email address belongs to another account.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule; `errors` names it.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/api/v1/users/me")]
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
    accounts::update_profile(
        &state.db,
        &state.config,
        &auth.user,
        name.as_ref(),
        email.as_ref(),
    )
    .await
    .map_err(|e| ApiError::account(e, "password"))?;
    let client = state.db.get().await?;
    let user = users::by_id(&client, auth.user.id)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .ok_or(ApiError::Unauthorized("account deleted"))?;
    Ok(HttpResponse::Ok().json(UserResponse::from(&user)))
}
