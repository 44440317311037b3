//! `POST /api/v1/auth/register`.

use actix_web::{HttpResponse, post, web};
use keel_shared::domain::DisplayName;
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::{ACCEPTED, Accepted, parse_email};
use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::{limit_email, limit_ip};
use crate::state::AppState;

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Email address (normalised: trimmed, lowercased).
    #[schema(example = "ada@example.com", format = "email", max_length = 254)]
    pub email: String,
    /// 10 to 128 characters, not common, not built from the email or name.
    #[schema(example = "violet-anchor-mosaic-71", min_length = 10, max_length = 128)]
    pub password: String,
    /// Display name, 1 to 100 characters.
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 100)]
    pub name: String,
}

/// Register an account.
///
/// Creates an unverified account and emails a verification link. The answer is the same
/// whether or not the address already has an account (that address gets a notice instead).
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_register",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted; a verification email is on its way if the address can be used.", body = Accepted),
        (status = 422, description = "A field breaks a rule; `errors` names it (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many requests from this IP or for this address (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/register")]
#[tracing::instrument(skip_all)]
pub async fn register(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "register", &client.ip).await?;
    let email = parse_email(&body.email)?;
    limit_email(&state, "register", &email).await?;
    let name = DisplayName::parse(&body.name).map_err(|message| ApiError::InvalidField {
        field: "name",
        message,
    })?;
    state
        .accounts
        .register(&email, &body.password, &name)
        .await?;
    Ok(HttpResponse::Accepted().json(ACCEPTED))
}
