//! `/api/v1/users/me`: the signed-in user's own account and avatar.

pub mod avatar_delete;
pub mod avatar_put;
pub mod me_delete;
pub mod me_get;
pub mod me_patch;
pub mod types;

pub use types::UserResponse;
