//! The user as the `/users/me` endpoints show it.

use chrono::{DateTime, Utc};
use keel_shared::db::users::User;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.into(),
            email: u.email.clone(),
            email_verified: u.email_verified_at.is_some(),
            name: u.name.clone(),
            is_admin: u.is_admin,
            created_at: u.created_at,
        }
    }
}
