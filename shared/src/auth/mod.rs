//! Authentication primitives: password hashing (Argon2id, off the async executor), random
//! single-use tokens stored only as hashes, and access tokens (JWT, HS256, rotated by `kid`).

pub mod jwt;
pub mod password;
pub mod sealed;
pub mod tokens;
pub mod totp;
