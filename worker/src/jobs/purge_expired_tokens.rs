//! `purge_expired_tokens`: deletes ended sessions and spent email tokens.

use keel_shared::db::sessions;
use keel_shared::jobs::payloads::PurgeExpiredTokens;

use super::JobResult;
use crate::context::JobContext;

/// Deletes sessions and email tokens that ended more than a day ago.
#[tracing::instrument(name = "purge_expired_tokens", skip_all)]
pub async fn run(ctx: JobContext, _job: PurgeExpiredTokens) -> JobResult {
    let client = ctx.db.get().await.map_err(anyhow::Error::from)?;
    let (sessions, tokens) = sessions::purge_ended(&client)
        .await
        .map_err(anyhow::Error::from)?;
    tracing::info!(sessions, tokens, "purged ended sessions and spent tokens");
    Ok(())
}
