//! `GET /api/v1/auth/sessions`.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;

/// One signed-in session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// Id (to revoke it).
    #[schema(example = "0193b0a2-7c1e-74d2-9f5a-1b2c3d4e5f60")]
    pub id: Uuid,
    /// When it signed in.
    #[schema(example = "2026-12-01T09:30:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it last refreshed its tokens.
    #[schema(example = "2026-12-03T08:15:42Z")]
    pub last_used_at: DateTime<Utc>,
    /// `User-Agent` at sign-in.
    #[schema(example = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")]
    pub user_agent: Option<String>,
    /// IP at sign-in.
    #[schema(example = "203.0.113.7")]
    pub ip: Option<String>,
    /// Whether it is the session making this request.
    pub current: bool,
}

/// List my sessions.
///
/// Every active session of the signed-in user (one per sign-in), most recently used first,
/// with `current` marking the one making this request. Revoke one with
/// `DELETE /api/v1/auth/sessions/{id}`.
#[utoipa::path(
    tag = "auth",
    operation_id = "get_auth_sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active sessions, most recently used first.", body = Vec<SessionResponse>),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
    )
)]
#[get("/api/v1/auth/sessions")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn sessions_list(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let list = state.accounts.sessions(auth.user.id).await?;
    let body: Vec<SessionResponse> = list
        .into_iter()
        .map(|s| SessionResponse {
            current: s.id == auth.session,
            id: s.id.into(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            user_agent: s.user_agent,
            ip: s.ip,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
