//! `send_email_link`: makes a single-use link (verify, reset, undo an email change) and sends
//! it, at most once per idempotency key. The token is made here and only its hash is stored:
//! it never sits in the queue. Nothing is sent when no account has the address (forgot and
//! resend queue this job for every address).
//!
//! The delivery ledger row is claimed (and locked) first, so a duplicate delivery waits and
//! then does nothing; the token is committed on its own before the email leaves, so the link
//! works the moment it arrives.

use keel_shared::accounts::links;
use keel_shared::db::emails::{self, Claim};
use keel_shared::jobs::payloads::SendEmailLink;

use super::JobResult;
use crate::context::JobContext;

/// Issues the link and sends its email, unless this key was sent already.
#[tracing::instrument(
    skip_all,
    fields(email.template = links::template(job.purpose), job.key = %job.idempotency_key)
)]
pub async fn run(ctx: JobContext, job: SendEmailLink) -> JobResult {
    let branding = ctx.mailer.branding();
    let mut client = ctx.db.get().await.map_err(anyhow::Error::from)?;
    let tx = client.transaction().await.map_err(anyhow::Error::from)?;
    let claim = emails::claim(
        &tx,
        &job.idempotency_key,
        &job.to,
        links::template(job.purpose),
    )
    .await
    .map_err(anyhow::Error::from)?;
    if claim == Claim::AlreadySent {
        tracing::info!("already sent; nothing to do");
        return Ok(());
    }
    let mut issuer = ctx.db.get().await.map_err(anyhow::Error::from)?;
    let token_tx = issuer.transaction().await.map_err(anyhow::Error::from)?;
    let issued = links::issue(&token_tx, &branding.frontend_url, &job)
        .await
        .map_err(anyhow::Error::from)?;
    token_tx.commit().await.map_err(anyhow::Error::from)?;
    let Some(email) = issued else {
        // Dropping the transaction forgets the claim: there is nothing to record.
        tracing::info!("no account to send it to; nothing to do");
        return Ok(());
    };
    let message = email.render(&branding);
    super::send_email::send_and_record(&ctx, tx, &job.to, &message, &job.idempotency_key).await
}
