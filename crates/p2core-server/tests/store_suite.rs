//! The Store conformance suite (`storage::test_suite`) run against the SQLite
//! store: every case gets a new database file in its own temporary directory.

use p2core_server::storage::sqlite::SqliteStore;
use tempfile::TempDir;

/// A fresh, migrated SQLite store, and the directory holding it (removed
/// when the case drops it, after the store).
async fn fresh_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("p2core.db"))
        .await
        .expect("open a fresh SQLite store");
    (store, dir)
}

p2core_server::store_test_suite!();
