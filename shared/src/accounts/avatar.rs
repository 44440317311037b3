//! The signed-in user's avatar: set (the object first, then the row), replace, remove. The
//! object a change drops is deleted by the `delete_media` job, written in the same
//! transaction, so it is deleted only once the change committed.

use super::{Accounts, RemoveAvatarError, SetAvatarError, StoreError};
use crate::db::users;
use crate::domain::{MediaKey, UserId};
use crate::jobs::outbox::enqueue_in_tx;
use crate::jobs::payloads::DeleteMedia;
use crate::media::Media;
use crate::media::avatar::ProcessedImage;

impl Accounts {
    /// Stores `image` under a new random key and makes it `user`'s avatar; the previous
    /// avatar's object (if any) is deleted after the commit. Returns the new key.
    #[tracing::instrument(skip_all, fields(user.id = %user))]
    pub async fn set_avatar(
        &self,
        media: &Media,
        user: UserId,
        image: ProcessedImage,
    ) -> Result<MediaKey, SetAvatarError> {
        let key = MediaKey::new_avatar(image.kind);
        media.put(&key, image.bytes).await?;
        let mut client = match self.db.get().await {
            Ok(client) => client,
            Err(e) => {
                discard(media, &key).await;
                return Err(e.into());
            }
        };
        let tx = match client.transaction().await {
            Ok(tx) => tx,
            Err(e) => {
                discard(media, &key).await;
                return Err(e.into());
            }
        };
        let swapped = swap(&tx, user, Some(&key)).await;
        match swapped {
            Ok(Some(_)) => {}
            Ok(None) => {
                discard(media, &key).await;
                return Err(SetAvatarError::AccountGone);
            }
            Err(e) => {
                discard(media, &key).await;
                return Err(e.into());
            }
        }
        // A failed commit may still have committed (the answer was lost): the object stays
        // rather than risk deleting an avatar a committed row names.
        tx.commit().await?;
        Ok(key)
    }

    /// Removes `user`'s avatar; its object is deleted after the commit. Returns whether
    /// there was one (removing none is not an error).
    #[tracing::instrument(skip_all, fields(user.id = %user))]
    pub async fn remove_avatar(&self, user: UserId) -> Result<bool, RemoveAvatarError> {
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        let previous = swap(&tx, user, None).await?;
        tx.commit().await?;
        Ok(matches!(previous, Some(Some(_))))
    }
}

/// Sets the row's key to `key` and queues the deletion of the key it replaced, in `tx`.
/// `Ok(None)` when the user no longer exists.
async fn swap(
    tx: &deadpool_postgres::Transaction<'_>,
    user: UserId,
    key: Option<&MediaKey>,
) -> Result<Option<Option<MediaKey>>, StoreError> {
    let previous = users::replace_avatar(tx, user, key).await?;
    if let Some(Some(old)) = &previous {
        enqueue_in_tx(tx, &DeleteMedia { key: old.clone() }).await?;
    }
    Ok(previous)
}

/// Deletes an object no row will name (its request failed before the commit); a failure
/// leaves an unreferenced object behind, which is only storage.
async fn discard(media: &Media, key: &MediaKey) {
    if let Err(e) = media.delete(key).await {
        tracing::warn!(error = %e, media.key = %key, "cannot delete the object of a failed avatar change");
    }
}
