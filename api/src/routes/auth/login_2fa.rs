//! `POST /api/v1/auth/login/2fa`.

use actix_web::{HttpResponse, post, web};
use keel_shared::accounts::SecondFactorError;
use keel_shared::ratelimit::keys;
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::TokenResponse;
use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::{guarded, limit_ip};
use crate::state::AppState;

/// The second step of a login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login2faRequest {
    /// From the login answer.
    #[schema(
        example = "v1.Xq0dZ3lNwVxYk2mB9sTfQe7cR4pH1aJ8uLoG5iKzW6yE",
        min_length = 1
    )]
    pub mfa_token: String,
    /// The 6-digit code the authenticator shows now.
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
    pub code: Option<String>,
    /// Or one of the recovery codes (each works once; case and dashes do not matter).
    #[schema(example = "k7p2m-x9q4r", min_length = 1)]
    pub recovery_code: Option<String>,
}

/// Complete a login with the second factor.
///
/// Accepts a TOTP code (once per 30-second step, ±1 step of clock skew) or a recovery code.
/// After `KEEL_LOGIN_MAX_FAILURES` wrong codes for an account within the window, answers 429
/// (counted before the code is checked, so concurrent guesses cannot overrun it).
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_login_2fa",
    request_body = Login2faRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        (status = 422, description = "The MFA token or the code is wrong, used or expired; `errors` names which (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many wrong codes, or requests from this IP (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/login/2fa")]
#[tracing::instrument(skip_all)]
pub async fn login_2fa(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<Login2faRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "login-2fa", &client.ip).await?;
    if body.code.is_none() && body.recovery_code.is_none() {
        return Err(ApiError::InvalidField {
            field: "code",
            message: "or `recovery_code` is required".to_owned(),
        });
    }
    let user = state.accounts.mfa_token_user(&body.mfa_token).await?;
    let pair = guarded(
        &state,
        &keys::mfa_failures(user),
        |e| matches!(e, SecondFactorError::InvalidCode),
        state.accounts.complete_login(
            &body.mfa_token,
            body.code.as_deref(),
            body.recovery_code.as_deref(),
            &client.meta(),
        ),
    )
    .await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(pair)))
}
