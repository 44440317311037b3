//! `send_email`: renders an email and sends it over SMTP, at most once per idempotency key.
//!
//! The delivery row is inserted and locked in one transaction that lasts until the message is
//! accepted by the SMTP server: a second delivery of the same job (a retry, or a redelivery
//! after a worker died) waits for the lock and then sees `sent`; if the first worker died
//! mid-send, its transaction rolled back and the second one sends.

use keel_shared::db::emails::{self, Claim};
use keel_shared::email::{Email, Rendered, SendError};
use keel_shared::jobs::payloads::{SendEmail, SendEmailV1};

use super::{JobError, JobResult};
use crate::context::JobContext;

/// Sends the email unless its idempotency key was already sent.
#[tracing::instrument(
    skip_all,
    fields(email.template = job.email.template(), job.key = %job.idempotency_key)
)]
pub async fn run(ctx: JobContext, job: SendEmail) -> JobResult {
    let message = job.email.render(&ctx.mailer.branding());
    let mut client = ctx.db.get().await.map_err(anyhow::Error::from)?;
    let tx = client.transaction().await.map_err(anyhow::Error::from)?;
    match emails::claim(&tx, &job.idempotency_key, &job.to, job.email.template())
        .await
        .map_err(anyhow::Error::from)?
    {
        Claim::AlreadySent => {
            tracing::info!("already sent; nothing to do");
            return Ok(());
        }
        Claim::Claimed => {}
    }
    send_and_record(&ctx, tx, &job.to, &message, &job.idempotency_key).await
}

/// Sends `message` to `to` and records `key` as sent in the ledger transaction `tx` (which
/// holds the claim), committing it. An invalid address is permanent; anything else retries.
pub(super) async fn send_and_record(
    ctx: &JobContext,
    tx: deadpool_postgres::Transaction<'_>,
    to: &str,
    message: &Rendered,
    key: &str,
) -> JobResult {
    let message_id = ctx
        .mailer
        .send(to, message, key)
        .await
        .map_err(|e| match e {
            SendError::InvalidAddress(_) => JobError::Permanent(e.into()),
            other => JobError::Retry(other.into()),
        })?;
    emails::mark_sent(&tx, key, &message_id)
        .await
        .map_err(anyhow::Error::from)?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    tracing::info!("email sent");
    Ok(())
}

/// A version-1 job (queued before the typed payload): converted, then sent as above. One that
/// does not convert (unknown template, missing field) can never be sent: dead set.
pub async fn run_v1(ctx: JobContext, job: SendEmailV1) -> JobResult {
    let email = Email::from_template(&job.template, &job.data)
        .map_err(|e| JobError::Permanent(e.into()))?;
    run(
        ctx,
        SendEmail {
            idempotency_key: job.idempotency_key,
            to: job.to,
            email,
        },
    )
    .await
}
