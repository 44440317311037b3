//! Per-test PostgreSQL databases, cloned from a template migrated once per migration set
//! (its name carries the migrations' fingerprint), which is much faster than migrating each.

use tokio_postgres::NoTls;
use uuid::Uuid;

use super::{base_database_url, with_database};
use crate::db::migrate;

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL for tests: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A database of this test's own, dropped (with any connections to it) when the value is.
pub struct TestDb {
    /// The database's name.
    pub name: String,
    /// A URL for it, with the server's credentials.
    pub url: String,
    admin_url: String,
}

impl TestDb {
    /// A new database holding every migration (cloned from the migrated template).
    pub async fn migrated() -> Self {
        let admin_url = with_database(&base_database_url(), "postgres");
        let template = format!("keel_tpl_{}", &migrate::fingerprint()[..16]);
        ensure_template(&admin_url, &template).await;
        Self::create(admin_url, Some(&template)).await
    }

    /// A new, empty database (for migration tests).
    pub async fn empty() -> Self {
        let admin_url = with_database(&base_database_url(), "postgres");
        Self::create(admin_url, None).await
    }

    async fn create(admin_url: String, template: Option<&str>) -> Self {
        let name = format!("keel_test_{}", Uuid::new_v4().simple());
        let admin = connect(&admin_url).await;
        let sql = match template {
            Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        admin
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database: {e:?}"));
        let url = with_database(&admin_url, &name);
        Self {
            name,
            url,
            admin_url,
        }
    }

    /// The media directory of this test (`KEEL_MEDIA_ROOT` in [`super::test_env`]), removed
    /// with the database.
    pub fn media_root(&self) -> std::path::PathBuf {
        std::env::temp_dir()
            .join("keel-test-media")
            .join(&self.name)
    }

    /// A direct connection to this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.media_root());
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside or outside a runtime; a thread with its own runtime works in both.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin_url, NoTls).await.ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// Creates the migrated template once per migration set, safely across parallel test
/// processes: an advisory lock serialises them, and the template is built under a temporary
/// name and renamed only when complete, so a crash never leaves a half-migrated template.
async fn ensure_template(admin_url: &str, template: &str) {
    let admin = connect(admin_url).await;
    let lock_key: i64 = 0x6b65_656c_7465_7374; // "keeltest"
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&lock_key])
        .await
        .unwrap_or_else(|e| panic!("cannot lock the template: {e}"));
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .unwrap_or_else(|e| panic!("cannot look up the template: {e}"))
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("cannot create the template: {e:?}"));
        }
        {
            let mut client = connect(&with_database(admin_url, &building)).await;
            migrate::run(&mut client)
                .await
                .unwrap_or_else(|e| panic!("cannot migrate the template: {e:?}"));
        }
        // The migrating connection must be gone before the rename and the first clone.
        for sql in [
            format!("ALTER DATABASE \"{building}\" WITH ALLOW_CONNECTIONS false"),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}'"
            ),
            format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("cannot finish the template: {e:?}"));
        }
    }
    let _ = admin
        .execute("SELECT pg_advisory_unlock($1)", &[&lock_key])
        .await;
}

impl TestDb {
    /// A small pool on this database (for code that takes pooled clients).
    pub fn pool(&self) -> crate::db::PgPool {
        let config = crate::Config::from_vars([("DATABASE_URL", self.url.as_str())])
            .unwrap_or_else(|e| panic!("test database URL: {e}"));
        crate::db::pool(&config.database, "keel-test")
            .unwrap_or_else(|e| panic!("test database pool: {e}"))
    }
}
