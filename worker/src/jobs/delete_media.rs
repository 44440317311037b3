//! `delete_media`: deletes an object from media storage once no row names it any more.

use keel_shared::jobs::payloads::DeleteMedia;

use super::JobResult;
use crate::context::JobContext;

/// Deletes the object; one already gone counts as deleted. A storage failure is retried.
#[tracing::instrument(name = "delete_media", skip_all, fields(media.key = %job.key))]
pub async fn run(ctx: JobContext, job: DeleteMedia) -> JobResult {
    ctx.media
        .delete(&job.key)
        .await
        .map_err(anyhow::Error::from)?;
    tracing::info!("deleted media object");
    Ok(())
}
