//! Migrations against a real PostgreSQL: each test has a database of its own.

use keel_shared::db::migrate::{self, MIGRATIONS, MigrateError};
use keel_shared::testing::TestDb;

fn every_version() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database() {
    let db = TestDb::empty().await;
    let mut client = db.client().await;

    let report = migrate::run(&mut client).await.expect("migrates");

    assert_eq!(report.applied, every_version());
    assert_eq!(report.already_applied, 0);
    let function: Option<String> = client
        .query_one("SELECT to_regproc('keel_set_updated_at')::text", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(function.as_deref(), Some("keel_set_updated_at"));
}

#[tokio::test]
async fn running_migrations_twice_applies_nothing_the_second_time() {
    let db = TestDb::empty().await;
    let mut client = db.client().await;
    migrate::run(&mut client).await.expect("first run");

    let second = migrate::run(&mut client).await.expect("second run");

    assert!(second.applied.is_empty());
    assert_eq!(second.already_applied, MIGRATIONS.len());
}

#[tokio::test]
async fn two_processes_migrating_at_once_apply_each_migration_once() {
    let db = TestDb::empty().await;
    let (mut a, mut b) = (db.client().await, db.client().await);

    let (ra, rb) = tokio::join!(migrate::run(&mut a), migrate::run(&mut b));

    let (ra, rb) = (ra.expect("a migrates"), rb.expect("b migrates"));
    let mut applied = [ra.applied, rb.applied].concat();
    applied.sort_unstable();
    assert_eq!(
        applied,
        every_version(),
        "each migration applied exactly once"
    );
    let rows = migrate::applied_versions(&a).await.expect("versions");
    assert_eq!(rows.len(), MIGRATIONS.len());
}

#[tokio::test]
async fn a_migration_edited_after_it_was_applied_is_refused() {
    let db = TestDb::empty().await;
    let mut client = db.client().await;
    migrate::run(&mut client).await.expect("migrates");
    client
        .execute(
            "UPDATE keel_schema_migrations SET checksum = 'edited' WHERE version = 1",
            &[],
        )
        .await
        .expect("tamper");

    let err = migrate::run(&mut client).await.expect_err("must refuse");

    assert!(
        matches!(err, MigrateError::Modified { version: 1, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused() {
    let db = TestDb::empty().await;
    let mut client = db.client().await;
    migrate::run(&mut client).await.expect("migrates");
    client
        .execute(
            "INSERT INTO keel_schema_migrations (version, name, checksum) VALUES (999999, 'future', 'x')",
            &[],
        )
        .await
        .expect("insert");

    let err = migrate::run(&mut client).await.expect_err("must refuse");

    assert!(matches!(err, MigrateError::Unknown(999_999)), "{err}");
}

#[tokio::test]
async fn test_databases_are_cloned_already_migrated() {
    let db = TestDb::migrated().await;
    let client = db.client().await;

    let versions = migrate::applied_versions(&client).await.expect("versions");

    assert_eq!(
        versions.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        every_version()
    );
}

#[tokio::test]
async fn a_dropped_test_database_is_gone() {
    let db = TestDb::empty().await;
    let name = db.name.clone();
    let admin = TestDb::empty().await;
    drop(db);

    let client = admin.client().await;
    let left = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("query");

    assert!(left.is_none(), "{name} was left behind");
}
