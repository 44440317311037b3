//! `POST /api/v1/auth/password/forgot`.

use actix_web::{HttpResponse, post, web};

use super::types::{ACCEPTED, Accepted, EmailRequest, parse_email};
use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::{limit_email, limit_ip};
use crate::state::AppState;

/// Ask for a password reset link.
///
/// Emails a single-use link valid for one hour if the address has an account. The answer is
/// the same either way.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_password_forgot",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted.", body = Accepted),
        (status = 422, description = "`email` is not an email address (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many requests from this IP or for this address (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/password/forgot")]
#[tracing::instrument(skip_all)]
pub async fn password_forgot(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "forgot", &client.ip).await?;
    let email = parse_email(&body.email)?;
    limit_email(&state, "forgot", &email).await?;
    state.accounts.forgot_password(&email).await?;
    Ok(HttpResponse::Accepted().json(ACCEPTED))
}
