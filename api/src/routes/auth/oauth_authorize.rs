//! `GET /api/v1/auth/oauth/{provider}/authorize`.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{HttpResponse, get, web};
use keel_shared::oauth::STATE_TTL;
use serde::Serialize;
use utoipa::ToSchema;

use super::types::{OAUTH_COOKIE, OAuthProvider};
use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::limit_ip;
use crate::state::AppState;

/// Where to send the browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeResponse {
    /// The provider's authorization URL, with `state` and a PKCE challenge.
    #[schema(
        format = "uri",
        example = "https://accounts.google.com/o/oauth2/v2/auth?response_type=code&client_id=1234.apps.googleusercontent.com&state=q3Zt7wRkH0b9uXyV2mNcL5sPfA8eJdG1oTiW4hEzK6Y&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    )]
    pub authorization_url: String,
    /// The `state` it carries (single use, ten minutes).
    #[schema(example = "q3Zt7wRkH0b9uXyV2mNcL5sPfA8eJdG1oTiW4hEzK6Y")]
    pub state: String,
}

/// Start a social login.
///
/// The browser goes to `authorization_url`; the provider sends it back to
/// `KEEL_OAUTH_REDIRECT_URL/{provider}` with `code` and `state`, which the frontend posts to
/// `/auth/oauth/{provider}/callback`.
#[utoipa::path(
    tag = "auth",
    operation_id = "get_auth_oauth_authorize",
    params(("provider" = inline(OAuthProvider), Path, description = "The social login provider (each answers 404 unless configured).")),
    responses(
        (status = 200, description = "The authorization URL.", body = AuthorizeResponse),
        (status = 404, description = "No such provider, or it is not configured (`not_found`).", body = Problem),
        (status = 429, description = "Too many requests from this IP (`rate_limited`); see `Retry-After`.", body = Problem),
    )
)]
#[get("/api/v1/auth/oauth/{provider}/authorize")]
#[tracing::instrument(skip_all, fields(oauth.provider = %path))]
pub async fn oauth_authorize(
    state: web::Data<AppState>,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    limit_ip(&state, "oauth-authorize", &client.ip).await?;
    let provider = state
        .oauth
        .provider(&path)
        .ok_or_else(|| ApiError::NotFound {
            path: format!("/api/v1/auth/oauth/{path}/authorize"),
        })?;
    let flow = state.oauth.authorize(provider).await?;
    let binding = Cookie::build(OAUTH_COOKIE, flow.binding)
        .path("/")
        .secure(true)
        .http_only(true)
        // Lax: the flow comes back to the frontend through a cross-site redirect.
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(
            i64::try_from(STATE_TTL.as_secs()).unwrap_or(600),
        ))
        .finish();
    Ok(HttpResponse::Ok().cookie(binding).json(AuthorizeResponse {
        authorization_url: flow.url,
        state: flow.state,
    }))
}
