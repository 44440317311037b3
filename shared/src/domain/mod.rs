//! Domain types: untrusted input is parsed into these once, at the edge, and carries its
//! validity from then on. No I/O here.

mod email;
mod ids;
mod media;
mod name;
mod password;

pub use email::EmailAddress;
pub use ids::{SessionId, TokenHash, UserId};
pub use media::{ImageKind, MediaKey};
pub use name::DisplayName;
pub use password::{NewPassword, PasswordRejection};
