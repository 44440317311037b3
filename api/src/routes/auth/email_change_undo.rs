//! `POST /api/v1/auth/email-change/undo`.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::limit_ip;
use crate::state::AppState;

/// The token from the link sent to the previous address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoEmailChangeRequest {
    /// The `token` query parameter of the emailed link.
    #[schema(min_length = 43, max_length = 43)]
    pub token: String,
}

/// Undo an email change.
///
/// After an email change, the previous address receives a link (valid 72 hours) that puts
/// the account back on that address, signs out every session and invalidates emailed links,
/// so whoever changed it is locked out; the owner then resets the password.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_email_change_undo",
    request_body = UndoEmailChangeRequest,
    responses(
        (status = 204, description = "The account is back on its previous address; every session was signed out."),
        (status = 409, description = "The previous address was taken by another account meanwhile (`email_taken`).", body = Problem),
        (status = 422, description = "The token is invalid, used or expired (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many requests from this IP (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/email-change/undo")]
#[tracing::instrument(skip_all)]
pub async fn email_change_undo(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<UndoEmailChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "email-change-undo", &client.ip).await?;
    state.accounts.undo_email_change(&body.token).await?;
    Ok(HttpResponse::NoContent().finish())
}
