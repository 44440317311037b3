//! `purge_sent_emails`: deletes old email delivery records (the idempotency ledger).

use keel_shared::db::emails;
use keel_shared::jobs::payloads::PurgeSentEmails;

use super::JobResult;
use crate::context::JobContext;

/// Deletes delivery records older than `older_than_days`.
#[tracing::instrument(name = "purge_sent_emails", skip_all, fields(purge.older_than_days = job.older_than_days))]
pub async fn run(ctx: JobContext, job: PurgeSentEmails) -> JobResult {
    let client = ctx.db.get().await.map_err(anyhow::Error::from)?;
    let purged = emails::purge_older_than(&client, job.older_than_days)
        .await
        .map_err(anyhow::Error::from)?;
    tracing::info!(purged, "purged old email delivery records");
    Ok(())
}
