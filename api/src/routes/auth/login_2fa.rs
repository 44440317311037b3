//! `POST /api/v1/auth/login/2fa`.

use actix_web::{HttpResponse, post, web};
use keel_shared::accounts::{AccountError, two_factor};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{TokenResponse, check_failures, limit_ip, record_failure};
use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::state::AppState;

/// The second step of a login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login2faRequest {
    /// From the login answer.
    pub mfa_token: String,
    /// The 6-digit code the authenticator shows now.
    pub code: Option<String>,
    /// Or one of the recovery codes (each works once).
    pub recovery_code: Option<String>,
}

/// Complete a login with the second factor.
///
/// Accepts a TOTP code (once per 30-second step, ±1 step of clock skew) or a recovery code.
/// After `KEEL_LOGIN_MAX_FAILURES` wrong codes for an account within the window, answers 429.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_login_2fa",
    request_body = Login2faRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        (status = 422, description = "The MFA token or the code is wrong, used or expired; `errors` names which.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes, or requests from this IP; see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/login/2fa")]
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
    let user = two_factor::mfa_token_user(&state.db, &body.mfa_token)
        .await
        .map_err(|e| match e {
            AccountError::InvalidToken => ApiError::InvalidField {
                field: "mfa_token",
                message: "is invalid, used or expired".to_owned(),
            },
            other => ApiError::account(other, "password"),
        })?;
    let failures = format!("mfa-failures:{user}");
    check_failures(&state, &failures).await?;
    match two_factor::complete_login(
        &state.db,
        &state.config,
        &state.jwt,
        &body.mfa_token,
        body.code.as_deref(),
        body.recovery_code.as_deref(),
        client.user_agent.as_deref(),
        Some(&client.ip),
    )
    .await
    {
        Ok(pair) => {
            state.limiter.reset(&failures).await?;
            Ok(HttpResponse::Ok().json(TokenResponse::from(pair)))
        }
        Err(AccountError::InvalidCode) => {
            record_failure(&state, &failures).await?;
            Err(ApiError::account(AccountError::InvalidCode, "code"))
        }
        Err(e) => Err(ApiError::account(e, "password")),
    }
}
