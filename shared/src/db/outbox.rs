//! The transactional outbox (`job_outbox`): jobs that must be enqueued if and only if the
//! transaction that wants them commits.

use deadpool_postgres::GenericClient;

/// Writes an envelope (JSON) in the caller's transaction.
pub async fn insert(
    tx: &impl GenericClient,
    envelope: &serde_json::Value,
) -> Result<(), tokio_postgres::Error> {
    let stmt = tx
        .prepare_cached("INSERT INTO job_outbox (envelope) VALUES ($1)")
        .await?;
    tx.execute(&stmt, &[envelope]).await?;
    Ok(())
}

/// Removes and returns up to `limit` of the oldest rows, skipping rows another relay holds.
/// Call it in a transaction and commit only after the jobs are in Redis.
pub async fn take(
    tx: &impl GenericClient,
    limit: i64,
) -> Result<Vec<serde_json::Value>, tokio_postgres::Error> {
    let stmt = tx
        .prepare_cached(
            "DELETE FROM job_outbox WHERE id IN (
                 SELECT id FROM job_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
             ) RETURNING envelope",
        )
        .await?;
    Ok(tx
        .query(&stmt, &[&limit])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Rows waiting in the outbox.
pub async fn len(client: &impl GenericClient) -> Result<i64, tokio_postgres::Error> {
    Ok(client
        .query_one("SELECT count(*) FROM job_outbox", &[])
        .await?
        .get(0))
}
