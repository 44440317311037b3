//! Schema migrations: plain SQL files in `shared/migrations/`, embedded in the binary.
//!
//! Applied by `keel-api migrate` (a release step), never by every replica at boot. Each
//! migration runs in its own transaction and is recorded with a checksum; a session-level
//! advisory lock makes two processes migrating at once take turns, so running it twice, or
//! from two places, is safe. Editing an applied migration is refused (its checksum changed).

use sha2::{Digest, Sha256};
use tokio_postgres::{Client, GenericClient};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number; migrations apply in ascending order.
    pub version: i64,
    /// Its file name without the number and extension.
    pub name: &'static str,
    /// The SQL it runs.
    pub sql: &'static str,
}

/// Every migration, in order. Add a file to `shared/migrations/` and a line here.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "jobs",
        sql: include_str!("../../migrations/0002_jobs.sql"),
    },
    Migration {
        version: 3,
        name: "accounts",
        sql: include_str!("../../migrations/0003_accounts.sql"),
    },
    Migration {
        version: 4,
        name: "two_factor",
        sql: include_str!("../../migrations/0004_two_factor.sql"),
    },
    Migration {
        version: 5,
        name: "oauth",
        sql: include_str!("../../migrations/0005_oauth.sql"),
    },
    Migration {
        version: 6,
        name: "account_security",
        sql: include_str!("../../migrations/0006_account_security.sql"),
    },
    Migration {
        version: 10,
        name: "avatars",
        sql: include_str!("../../migrations/0010_avatars.sql"),
    },
];

/// Key of the advisory lock that serialises migrating processes ("keelmigr" as ASCII).
const LOCK_KEY: i64 = 0x6b65_656c_6d69_6772;

impl Migration {
    /// SHA-256 of the SQL, hex-encoded.
    pub fn checksum(&self) -> String {
        hex(&Sha256::digest(self.sql.as_bytes()))
    }
}

/// A digest of every migration: databases migrated from the same set share it.
pub fn fingerprint() -> String {
    let mut hasher = Sha256::new();
    for m in MIGRATIONS {
        hasher.update(m.version.to_be_bytes());
        hasher.update(m.checksum().as_bytes());
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A statement failed (the failing migration was rolled back).
    #[error("migration failed: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// An applied migration's SQL no longer matches what was applied.
    #[error(
        "migration {version} ({name}) was changed after it was applied; add a new migration instead"
    )]
    Modified {
        /// The migration's number.
        version: i64,
        /// The migration's name.
        name: &'static str,
    },
    /// The database holds a migration this binary does not know (it is older than the schema).
    #[error(
        "the database has migration {0}, which this binary does not know; deploy a newer binary"
    )]
    Unknown(i64),
}

/// What a run of [`run`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// Versions applied by this run.
    pub applied: Vec<i64>,
    /// Versions that were already there.
    pub already_applied: usize,
}

/// Applies every pending migration on `client`'s database.
///
/// Takes a session-level advisory lock first, so concurrent callers wait for each other and
/// the second one finds nothing left to do.
#[tracing::instrument(skip_all)]
pub async fn run(client: &mut Client) -> Result<MigrateReport, MigrateError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = apply_pending(client).await;
    // Unlock whatever happened; a failed unlock ends with the session anyway.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    let report = result?;
    unlocked?;
    Ok(report)
}

async fn apply_pending(client: &mut Client) -> Result<MigrateReport, MigrateError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS keel_schema_migrations (
                version    bigint PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
    let applied = applied_versions(&*client).await?;
    for (version, checksum) in &applied {
        match MIGRATIONS.iter().find(|m| m.version == *version) {
            None => return Err(MigrateError::Unknown(*version)),
            Some(m) if m.checksum() != *checksum => {
                return Err(MigrateError::Modified {
                    version: m.version,
                    name: m.name,
                });
            }
            Some(_) => {}
        }
    }
    let mut report = MigrateReport {
        applied: Vec::new(),
        already_applied: applied.len(),
    };
    for m in MIGRATIONS
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
    {
        let tx = client.transaction().await?;
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO keel_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &m.checksum()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            migration.version = m.version,
            migration.name = m.name,
            "applied migration"
        );
        report.applied.push(m.version);
    }
    Ok(report)
}

/// The versions recorded as applied, with their checksums.
pub async fn applied_versions(
    client: &impl GenericClient,
) -> Result<Vec<(i64, String)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT version, checksum FROM keel_schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_strictly_ascending_order() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert!(
            MIGRATIONS
                .iter()
                .all(|m| m.version > 0 && !m.sql.trim().is_empty())
        );
    }

    #[test]
    fn checksum_is_hex_sha256() {
        let c = MIGRATIONS[0].checksum();
        assert_eq!(c.len(), 64);
        assert!(c.chars().all(|ch| ch.is_ascii_hexdigit()));
    }
}
