//! `POST /api/v1/auth/resend-verification`.

use actix_web::{HttpResponse, post, web};

use super::types::{ACCEPTED, Accepted, EmailRequest, parse_email};
use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::{limit_email, limit_ip};
use crate::state::AppState;

/// Send the verification email again.
///
/// Sends a new link (the old ones stop working) if the address has an unverified account. The
/// answer is the same either way.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_resend_verification",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted.", body = Accepted),
        (status = 422, description = "`email` is not an email address (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many requests from this IP or for this address (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/resend-verification")]
#[tracing::instrument(skip_all)]
pub async fn resend_verification(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "resend", &client.ip).await?;
    let email = parse_email(&body.email)?;
    limit_email(&state, "resend", &email).await?;
    state.accounts.resend_verification(&email).await?;
    Ok(HttpResponse::Accepted().json(ACCEPTED))
}
