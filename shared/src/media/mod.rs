//! Media: user uploads (avatars) in a local directory or an S3-compatible bucket, through the
//! `object_store` crate. [`Media`] is the one handle the api and the worker hold; objects are
//! named by [`MediaKey`]s only; [`avatar`] turns an upload into a safe stored image.
//!
//! Objects are written before the database row that names them is committed, and deleted
//! only by the `delete_media` job, which the transaction that drops a key writes to the
//! outbox: an object is never deleted while a committed row names it, and one a failed
//! request left behind is deleted by that request.

pub mod avatar;
mod http;
mod store;

pub use crate::domain::{ImageKind, MediaKey};
pub use store::{CACHE_CONTROL, Media, MediaError};
