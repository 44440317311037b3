//! `POST /api/v1/auth/oauth/{provider}/callback`.

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::{LoginResponse, OAUTH_COOKIE, OAuthProvider};
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
/// to this provider user, else the account with the same email if the provider verified it,
/// else a new account (only for a verified email). Linking to an account whose email was never
/// verified takes it over: its password, sessions, pending links and 2FA are removed.
///
/// The request must carry the `__Host-keel-oauth` cookie that `authorize` set (a browser
/// sends it when the SPA calls both endpoints with `credentials: "include"`); a callback from
/// another browser is refused.
#[utoipa::path(
    tag = "auth",
    operation_id = "post_auth_oauth_callback",
    params(("provider" = inline(OAuthProvider), Path, description = "The social login provider (each answers 404 unless configured).")),
    request_body = OAuthCallbackRequest,
    responses(
        (status = 200, description = "Signed in, or the second factor is needed.", body = LoginResponse),
        (status = 404, description = "No such provider, or it is not configured (`not_found`).", body = Problem),
        (status = 409, description = "The provider shared no email (`oauth_no_email`) or did not verify it (`oauth_email_unverified`).", body = Problem),
        (status = 422, description = "`state` is invalid, used, expired, for another provider, or was issued to another browser (`invalid_field`).", body = Problem),
        (status = 502, description = "The provider refused the code or failed (`oauth_provider_error`).", body = Problem),
    )
)]
#[post("/api/v1/auth/oauth/{provider}/callback")]
#[tracing::instrument(skip_all, fields(oauth.provider = %path))]
pub async fn oauth_callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    path: web::Path<String>,
    body: web::Json<OAuthCallbackRequest>,
) -> Result<HttpResponse, ApiError> {
    let binding = req.cookie(OAUTH_COOKIE);
    let provider = state
        .oauth
        .provider(&path)
        .ok_or_else(|| ApiError::NotFound {
            path: format!("/api/v1/auth/oauth/{path}/callback"),
        })?;
    let profile = state
        .oauth
        .exchange(
            provider,
            &body.code,
            &body.state,
            binding.as_ref().map(Cookie::value),
        )
        .await?;
    let outcome = state
        .accounts
        .oauth_sign_in(&profile, &client.meta())
        .await?;
    // The flow is over: the browser can forget its binding.
    let mut done = Cookie::build(OAUTH_COOKIE, "")
        .path("/")
        .secure(true)
        .http_only(true)
        .finish();
    done.make_removal();
    Ok(HttpResponse::Ok()
        .cookie(done)
        .json(LoginResponse::from(outcome)))
}
