//! The email idempotency ledger (`email_deliveries`).

use deadpool_postgres::GenericClient;

/// The outcome of [`claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This transaction holds the key; send, then [`mark_sent`].
    Claimed,
    /// Already sent: do nothing.
    AlreadySent,
}

/// Records `key` as being sent and locks its row until the transaction ends. Waits while
/// another transaction holds it (bounded by `statement_timeout`).
pub async fn claim(
    tx: &impl GenericClient,
    key: &str,
    recipient: &str,
    template: &str,
) -> Result<Claim, tokio_postgres::Error> {
    let insert = tx
        .prepare_cached(
            "INSERT INTO email_deliveries (idempotency_key, recipient, template, status)
             VALUES ($1, $2, $3, 'sending') ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .await?;
    tx.execute(&insert, &[&key, &recipient, &template]).await?;
    let lock = tx
        .prepare_cached("SELECT status FROM email_deliveries WHERE idempotency_key = $1 FOR UPDATE")
        .await?;
    let status: String = tx.query_one(&lock, &[&key]).await?.get(0);
    Ok(if status == "sent" {
        Claim::AlreadySent
    } else {
        Claim::Claimed
    })
}

/// Marks `key` as sent with the SMTP message id.
pub async fn mark_sent(
    tx: &impl GenericClient,
    key: &str,
    message_id: &str,
) -> Result<(), tokio_postgres::Error> {
    let stmt = tx
        .prepare_cached(
            "UPDATE email_deliveries SET status = 'sent', message_id = $2, sent_at = now()
             WHERE idempotency_key = $1",
        )
        .await?;
    tx.execute(&stmt, &[&key, &message_id]).await?;
    Ok(())
}

/// How many deliveries of `key` are recorded as sent (0 or 1).
pub async fn sent_count(
    client: &impl GenericClient,
    key: &str,
) -> Result<i64, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT count(*) FROM email_deliveries WHERE idempotency_key = $1 AND status = 'sent'",
            &[&key],
        )
        .await?;
    Ok(row.get(0))
}

/// Deletes records older than `days`. Returns how many.
pub async fn purge_older_than(
    client: &impl GenericClient,
    days: u64,
) -> Result<u64, tokio_postgres::Error> {
    let days = i32::try_from(days).unwrap_or(i32::MAX);
    client
        .execute(
            "DELETE FROM email_deliveries WHERE created_at < now() - make_interval(days => $1)",
            &[&days],
        )
        .await
}
