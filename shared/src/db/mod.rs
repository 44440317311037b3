//! PostgreSQL access: the pool, readiness ping and migrations. The only place SQL lives.

pub mod emails;
pub mod migrate;
pub mod outbox;
pub mod sessions;
pub mod tls;
pub mod user_tokens;
pub mod users;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use crate::config::DatabaseConfig;

/// The PostgreSQL connection pool every process uses.
pub type PgPool = Pool;

/// Why a pool could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PoolBuildError {
    /// `DATABASE_URL` did not parse (config validation normally catches this first).
    #[error("{0}")]
    Url(#[from] crate::config::ConfigError),
    /// The TLS settings could not be applied (`sslrootcert` unreadable, no system roots).
    #[error("DATABASE_URL TLS: {0}")]
    Tls(#[from] crate::tls::RootsError),
    /// deadpool refused the settings.
    #[error("cannot build the PostgreSQL pool: {0}")]
    Build(#[from] deadpool_postgres::BuildError),
}

/// Builds the pool. It connects lazily: a database that is down does not stop startup, it
/// makes `/readyz` answer 503 until it is back.
///
/// Every session gets `statement_timeout` and `application_name` set, and each wait (for a
/// free connection, a new connection, a recycle check) is bounded, so a dead or slow database
/// fails a request quickly instead of hanging it.
pub fn pool(cfg: &DatabaseConfig, application_name: &str) -> Result<PgPool, PoolBuildError> {
    let mut pg = cfg.parsed_url()?.pg;
    pg.connect_timeout(cfg.connect_timeout)
        .application_name(application_name)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .options(format!(
            "-c statement_timeout={}",
            cfg.statement_timeout.as_millis()
        ));
    let manager = Manager::from_config(
        pg,
        tls::MakeRustlsConnect::for_config(cfg)?,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(cfg.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(cfg.acquire_timeout))
        .create_timeout(Some(cfg.connect_timeout))
        .recycle_timeout(Some(cfg.connect_timeout))
        .build()?)
}

/// Errors talking to PostgreSQL through the pool.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time (database down, slow, or pool exhausted).
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("database query failed: {0}")]
    Query(#[from] tokio_postgres::Error),
}

/// Whether `e` is a unique violation of the constraint (or unique index) `name`.
pub fn is_unique_violation(e: &tokio_postgres::Error, name: &str) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some(name)
    })
}

/// Whether `e` means the connection is gone (closed by the server or the network, reset,
/// broken mid-query) rather than a statement the server refused: the caller answers "try
/// again later", and the pool discards the client when it comes back closed.
pub fn is_connection_error(e: &tokio_postgres::Error) -> bool {
    e.is_closed()
        || (e.as_db_error().is_none()
            && std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()))
}

/// Checks that a connection can be had and answers a trivial query.
#[tracing::instrument(skip_all)]
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    let client = pool.get().await?;
    client.simple_query("SELECT 1").await?;
    Ok(())
}

/// Why the migration connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL or its TLS settings are unusable.
    #[error(transparent)]
    Settings(#[from] PoolBuildError),
    /// Connecting failed.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[from] tokio_postgres::Error),
}

/// One direct connection for migrations: no `statement_timeout` (a migration may rewrite a
/// large table), still a bounded connect, with the same TLS settings as the pool.
pub async fn connect_for_migrations(
    cfg: &DatabaseConfig,
) -> Result<tokio_postgres::Client, ConnectError> {
    let mut pg = cfg.parsed_url().map_err(PoolBuildError::from)?.pg;
    pg.connect_timeout(cfg.connect_timeout)
        .application_name("keel-migrate");
    let tls = tls::MakeRustlsConnect::for_config(cfg).map_err(PoolBuildError::from)?;
    let (client, connection) = pg.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migration connection closed with an error");
        }
    });
    Ok(client)
}
