//! `POST /api/v1/auth/login`.

use actix_web::{HttpResponse, post, web};
use keel_shared::accounts::LoginError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::{LoginResponse, parse_email};
use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::{count_login, limit_ip, login_succeeded, uncount_login};
use crate::state::AppState;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email address (compared case-insensitively, surrounding blanks ignored).
    #[schema(example = "ada@example.com", format = "email", max_length = 254)]
    pub email: String,
    /// Password.
    #[schema(example = "violet-anchor-mosaic-71")]
    pub password: String,
}

/// Sign in.
///
/// Returns a short-lived access token and a refresh token. After
/// `KEEL_LOGIN_MAX_FAILURES` failures for one account from one client (IPv6: one /64), or
/// `KEEL_LOGIN_ACCOUNT_MAX_FAILURES` from all clients together, within the window, answers
/// 429 until the window ends (a password reset lifts the account-wide lock; the owner is
/// emailed when it trips). Attempts are counted before the password is checked, so
/// concurrent guesses cannot overrun the limits.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (tokens), or the second factor is needed (`mfa_required`; complete at `/auth/login/2fa`).", body = LoginResponse),
        (status = 401, description = "Unknown email or wrong password, never saying which (`invalid_credentials`).", body = Problem),
        (status = 422, description = "`email` is not an email address (`invalid_field`).", body = Problem),
        (status = 429, description = "Too many failures or requests (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[post("/api/v1/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    client: ClientInfo,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "login", &client.ip).await?;
    let email = parse_email(&body.email)?;
    count_login(&state, &email, &client.ip).await?;
    match state
        .accounts
        .login(&email, &body.password, &client.meta())
        .await
    {
        Ok(outcome) => {
            login_succeeded(&state, &email, &client.ip).await?;
            Ok(HttpResponse::Ok().json(LoginResponse::from(outcome)))
        }
        Err(LoginError::InvalidCredentials) => {
            // deploy/fail2ban/filter.d/keel-auth.conf matches this line: keep it stable.
            tracing::warn!(client.ip = %client.ip, "authentication failure");
            Err(ApiError::InvalidCredentials)
        }
        Err(e) => {
            uncount_login(&state, &email, &client.ip).await;
            Err(e.into())
        }
    }
}
