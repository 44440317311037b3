//! `POST /api/v1/auth/verify-email`.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// The token from the verification link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The `token` query parameter of the emailed link.
    #[schema(
        pattern = "^[A-Za-z0-9_-]{43}$",
        min_length = 43,
        max_length = 43,
        example = "q3Zt7wRkH0b9uXyV2mNcL5sPfA8eJdG1oTiW4hEzK6Y"
    )]
    pub token: String,
}

/// Verify an email address.
///
/// Marks the address the link was sent to as verified; for an email change, the account
/// switches to the new address now. A token works once, for 24 hours.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_verify_email",
    request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "Verified."),
        (status = 409, description = "The new address was taken by another account meanwhile (`email_taken`).", body = Problem),
        (status = 422, description = "The token is invalid, used or expired (`invalid_field` naming `token`).", body = Problem),
    )
)]
#[post("/api/v1/auth/verify-email")]
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    state: web::Data<AppState>,
    body: web::Json<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    state.accounts.verify_email(&body.token).await?;
    Ok(HttpResponse::NoContent().finish())
}
