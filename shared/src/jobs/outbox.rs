//! Jobs through the transactional outbox: written in the caller's PostgreSQL transaction,
//! moved to Redis by [`relay`] once committed. A rolled-back transaction enqueues nothing.

use deadpool_postgres::GenericClient;

use super::{Envelope, Job, Queue, QueueError};
use crate::db::{self, PgPool};

/// Failures of the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// PostgreSQL failed.
    #[error("outbox query failed: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection.
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// Redis failed (the rows stay in the outbox).
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The job did not serialise.
    #[error("cannot serialise the job: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Writes `job` to the outbox inside `tx`. Returns the job id.
pub async fn enqueue_in_tx<J: Job>(
    tx: &impl GenericClient,
    job: &J,
) -> Result<String, OutboxError> {
    let envelope = Queue::envelope(J::NAME, J::VERSION, J::QUEUE, serde_json::to_value(job)?);
    db::outbox::insert(tx, &serde_json::to_value(&envelope)?).await?;
    super::count_enqueued(J::NAME, "outbox");
    Ok(envelope.id)
}

/// Moves up to `batch` committed outbox rows to Redis. Rows are deleted only when the push
/// succeeded (a crash in between enqueues them twice, never zero times). Returns how many.
pub async fn relay(pool: &PgPool, queue: &Queue, batch: i64) -> Result<usize, OutboxError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let rows = db::outbox::take(&tx, batch).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut envelopes = Vec::with_capacity(rows.len());
    for row in rows {
        match serde_json::from_value::<Envelope>(row) {
            Ok(envelope) => envelopes.push(envelope),
            // Written by this code, so unreadable rows mean a bug or a manual edit: log and
            // drop them rather than wedge the relay.
            Err(e) => tracing::error!(error = %e, "dropping an unreadable outbox row"),
        }
    }
    queue.push_many(&envelopes).await?;
    tx.commit().await?;
    Ok(envelopes.len())
}
