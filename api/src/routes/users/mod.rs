//! `/api/v1/users/me`: the signed-in user's own account.

pub mod me_delete;
pub mod me_get;
pub mod me_patch;

use chrono::{DateTime, Utc};
use keel_shared::db::users::User;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A user, as they see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// Id.
    pub id: Uuid,
    /// Email address.
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// Display name.
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    /// Administrator.
    pub is_admin: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            email_verified: u.email_verified_at.is_some(),
            name: u.name.clone(),
            is_admin: u.is_admin,
            created_at: u.created_at,
        }
    }
}
