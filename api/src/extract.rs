//! Extractors: the signed-in user, and who is calling.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use keel_shared::accounts::ClientMeta;
use keel_shared::auth::jwt::{Claims, TokenError};
use keel_shared::db::users::{self, User};
use keel_shared::domain::SessionId;

use crate::error::ApiError;
use crate::middleware::proxy::{self, ClientAddr};
use crate::middleware::rate_limit::VerifiedToken;
use crate::state::AppState;

/// A request with a valid bearer access token of an active session. One PostgreSQL read:
/// the user joined with the session (a revoked session's tokens stop working at once). On
/// `/api/v1` the rate limiter has checked the token's signature already and handed over its
/// claims.
pub struct AuthUser {
    /// The user.
    pub user: User,
    /// The session the token belongs to.
    pub session: SessionId,
    /// When that session signed in (a recent sign-in stands in for the password on
    /// sensitive changes).
    pub signed_in_at: chrono::DateTime<chrono::Utc>,
}

impl AuthUser {
    /// The proof of presence for a sensitive change: the password when the request carries
    /// one, else the session's sign-in time.
    pub fn reauth<'a>(&self, password: Option<&'a str>) -> keel_shared::accounts::Reauth<'a> {
        match password {
            Some(password) => keel_shared::accounts::Reauth::Password(password),
            None => keel_shared::accounts::Reauth::SignedInAt(self.signed_in_at),
        }
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        // The rate limiter verified the token of this request already.
        let verified = req.extensions().get::<VerifiedToken>().map(|t| t.0.clone());
        let claims = match (verified, &state) {
            (Some(claims), _) => Ok(claims),
            (None, Some(state)) => verify(req, state),
            (None, None) => Err(ApiError::Internal(anyhow::anyhow!("no AppState"))),
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no AppState")))?;
            let claims = claims?;
            let client = state.db.get().await?;
            let (user, signed_in_at) = users::by_active_session(&client, claims.sub, claims.sid)
                .await?
                .ok_or(ApiError::Unauthorized("session revoked or expired"))?;
            crate::observe::set_user(user.id);
            Ok(Self {
                user,
                session: claims.sid,
                signed_in_at,
            })
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &header::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    Some(value.strip_prefix("Bearer ")?.trim())
}

/// Checks the request's bearer token, saying what is wrong with it.
fn verify(req: &HttpRequest, state: &AppState) -> Result<Claims, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized("missing Authorization header"))?;
    let token = value.strip_prefix("Bearer ").ok_or(ApiError::Unauthorized(
        "the Authorization scheme must be Bearer",
    ))?;
    state.jwt.verify(token.trim()).map_err(|e| {
        ApiError::Unauthorized(match e {
            TokenError::Expired => "token expired",
            TokenError::BadSignature => "bad signature",
            TokenError::Malformed => "malformed token",
        })
    })
}

/// The caller's address (resolved through trusted proxies only, see
/// [`crate::middleware::proxy`]) and user agent.
pub struct ClientInfo {
    /// The client's address: rate limits count by it.
    pub ip: String,
    /// `User-Agent`, if sent.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// What account operations record about the client.
    pub fn meta(&self) -> ClientMeta {
        ClientMeta {
            ip: Some(self.ip.clone()),
            user_agent: self.user_agent.clone(),
        }
    }
}

impl FromRequest for ClientInfo {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The middleware resolved it once; without it (a bare test app), resolve here.
        let resolved = req.extensions().get::<ClientAddr>().copied();
        let client = resolved.or_else(|| {
            let state = req.app_data::<web::Data<AppState>>()?;
            Some(proxy::resolve(
                req.peer_addr(),
                req.headers(),
                &state.config.http,
            ))
        });
        let ip = client
            .and_then(|c| c.ip)
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        std::future::ready(Ok(Self { ip, user_agent }))
    }
}
