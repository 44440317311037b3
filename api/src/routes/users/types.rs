//! The user as the `/users/me` endpoints show it.

use chrono::{DateTime, Utc};
use keel_shared::db::users::User;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::state::AppState;

/// A user, as they see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// The user's id (the `sub` of their access tokens).
    #[schema(example = "0193b0a2-7c1e-74d2-9f5a-1b2c3d4e5f60")]
    pub id: Uuid,
    /// Email address.
    #[schema(example = "ada@example.com", format = "email")]
    pub email: String,
    /// Whether the address is verified.
    #[schema(example = true)]
    pub email_verified: bool,
    /// Display name.
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    /// Administrator.
    #[schema(example = false)]
    pub is_admin: bool,
    /// When the account was created.
    #[schema(example = "2026-12-01T09:29:51Z")]
    pub created_at: DateTime<Utc>,
    /// Where to fetch the avatar (`null` without one): with S3 storage a signed URL that
    /// expires after `KEEL_MEDIA_URL_TTL_SECS` (read `/users/me` again for a fresh one); with
    /// local storage a URL of `GET /api/v1/media/avatars/{name}`.
    #[schema(
        example = "https://api.example.com/api/v1/media/avatars/3f2a9c0d4b1e8f7a6c5d4e3f2a1b0c9d.webp"
    )]
    pub avatar_url: Option<String>,
}

impl UserResponse {
    /// `u` as shown to themselves, with the URL of their avatar (see
    /// [`crate::routes::media::avatar_url`]).
    pub fn new(u: &User, avatar_url: Option<String>) -> Self {
        Self {
            id: u.id.into(),
            email: u.email.clone(),
            email_verified: u.email_verified_at.is_some(),
            name: u.name.clone(),
            is_admin: u.is_admin,
            created_at: u.created_at,
            avatar_url,
        }
    }

    /// `u` with a fresh URL of their avatar.
    pub async fn of(state: &AppState, u: &User) -> Self {
        Self::new(u, crate::routes::media::avatar_url(state, u).await)
    }
}
