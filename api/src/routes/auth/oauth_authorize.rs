//! `GET /api/v1/auth/oauth/{provider}/authorize`.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::extract::ClientInfo;
use crate::limits::limit_ip;
use crate::state::AppState;

/// Where to send the browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeResponse {
    /// The provider's authorization URL, with `state` and a PKCE challenge.
    pub authorization_url: String,
    /// The `state` it carries (single use, ten minutes).
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
    params(("provider" = String, Path, description = "`google` or `github`.")),
    responses(
        (status = 200, description = "The authorization URL.", body = AuthorizeResponse),
        (status = 404, description = "No such provider, or it is not configured.", body = Problem),
        (status = 429, description = "Too many requests from this IP; see `Retry-After`.", body = Problem),
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
    let (authorization_url, oauth_state) = state.oauth.authorize(provider).await?;
    Ok(HttpResponse::Ok().json(AuthorizeResponse {
        authorization_url,
        state: oauth_state,
    }))
}
