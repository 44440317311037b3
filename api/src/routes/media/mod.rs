//! `/api/v1/media`: media objects served by the api itself (local storage only; with S3
//! storage clients get signed URLs of the bucket instead), and the URL of each.

pub mod avatar_get;

use keel_shared::db::users::User;

use crate::state::AppState;

/// The URL a client fetches `user`'s avatar from, `None` without one: a signed, expiring URL
/// of the bucket with S3 storage, a URL of [`avatar_get`] with local storage. A signing
/// failure (credentials that cannot be loaded) is logged and shows as no avatar, rather than
/// failing the request that wanted the user.
pub async fn avatar_url(state: &AppState, user: &User) -> Option<String> {
    let key = user.avatar_key.as_ref()?;
    if state.media.is_local() {
        return Some(format!(
            "{}/api/v1/media/avatars/{}",
            state.config.docs.public_url,
            key.file_name()
        ));
    }
    match state.media.signed_url(key).await {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(error = %e, media.key = %key, "cannot sign an avatar URL");
            None
        }
    }
}
