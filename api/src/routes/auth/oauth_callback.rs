//! `POST /api/v1/auth/oauth/{provider}/callback`.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::LoginResponse;
use super::types::OAuthProvider;
use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::state::AppState;

/// What the provider sent the browser back with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthCallbackRequest {
    /// The `code` query parameter.
    #[schema(example = "4/0AanRRrv8x3kQ", min_length = 1)]
    pub code: String,
    /// The `state` query parameter.
    #[schema(
        example = "q3Zt7wRkH0b9uXyV2mNcL5sPfA8eJdG1oTiW4hEzK6Y",
        min_length = 1
    )]
    pub state: String,
}

/// Finish a social login.
///
/// Exchanges the code, reads the provider's profile and signs in: the account already linked
/// to this provider user, else the account with the same email only if the provider verified
/// it, else a new account.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_oauth_callback",
    params(("provider" = inline(OAuthProvider), Path, description = "The social login provider (each answers 404 unless configured).")),
    request_body = OAuthCallbackRequest,
    responses(
        (status = 200, description = "Signed in, or the second factor is needed.", body = LoginResponse),
        (status = 404, description = "No such provider, or it is not configured (`not_found`).", body = Problem),
        (status = 409, description = "The provider shared no email (`oauth_no_email`), or did not verify the email of an existing account (`oauth_email_unverified`).", body = Problem),
        (status = 422, description = "`state` is invalid, used, expired or for another provider.", body = Problem),
        (status = 502, description = "The provider refused the code or failed (`oauth_provider_error`).", body = Problem),
    )
)]
#[post("/api/v1/auth/oauth/{provider}/callback")]
#[tracing::instrument(skip_all, fields(oauth.provider = %path))]
pub async fn oauth_callback(
    state: web::Data<AppState>,
    client: ClientInfo,
    path: web::Path<String>,
    body: web::Json<OAuthCallbackRequest>,
) -> Result<HttpResponse, ApiError> {
    let provider = state
        .oauth
        .provider(&path)
        .ok_or_else(|| ApiError::NotFound {
            path: format!("/api/v1/auth/oauth/{path}/callback"),
        })?;
    let profile = state
        .oauth
        .exchange(provider, &body.code, &body.state)
        .await?;
    let outcome = state
        .accounts
        .oauth_sign_in(&profile, &client.meta())
        .await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(outcome)))
}
