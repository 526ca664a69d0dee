//! `admin copy-to-postgres`: moves a SQLite deployment to PostgreSQL.
//!
//! Every row of every table is copied with its id, in one PostgreSQL
//! transaction (all or nothing), into a database that holds no server data
//! yet; the identities then continue after the copied ids (event ids are
//! never reused, so clients' cursors stay valid). The server's private keys,
//! files in the key directory for SQLite, are sealed with the key-encryption
//! key and stored in the database, as the PostgreSQL store keeps them.
//! Challenges (in memory) and in-memory rate-limit counters are not copied.
//! The key directory is locked while copying: stop the server first.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::AdminError;
use crate::keys;
use crate::settings::ServerSettings;
use crate::storage::StoreError;
use crate::storage::postgres::PgStore;
use crate::storage::sqlite::SqliteStore;

/// How a column is read from SQLite and bound for PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    /// INTEGER NOT NULL → BIGINT.
    Int,
    /// INTEGER → BIGINT (NULL allowed).
    OptInt,
    /// TEXT NOT NULL.
    Text,
    /// TEXT (NULL allowed).
    OptText,
    /// BLOB NOT NULL → BYTEA.
    Bytes,
    /// INTEGER 0/1 → BOOLEAN.
    Bool,
    /// INTEGER → INTEGER (opcodes).
    Int4,
}

use Kind::*;

/// The tables in an order that satisfies the foreign keys, with their columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "actors",
        &[
            ("id", Int),
            ("local_name", Text),
            ("fid", Text),
            ("password_hash", Text),
            ("auth_payload", OptText),
            ("created_at", Int),
            ("operator_made", Bool),
        ],
    ),
    (
        "server_certs",
        &[
            ("serial", Int),
            ("cert_pem", Text),
            ("key_file", Text),
            ("current_from", Int),
            ("current_until", OptInt),
        ],
    ),
    (
        "id_certs",
        &[
            ("id", Int),
            ("serial", Int),
            ("actor_id", Int),
            ("session_id", Text),
            ("cert_pem", Text),
            ("not_before", Int),
            ("not_after", Int),
            ("root_serial", Int),
            ("issued_at", Int),
            ("invalidated_at", OptInt),
            ("closed_at", OptInt),
        ],
    ),
    (
        "foreign_sessions",
        &[
            ("id", Int),
            ("fid", Text),
            ("session_id", Text),
            ("cert_pem", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("ended_at", OptInt),
            ("not_after", Int),
            ("checked_at", Int),
        ],
    ),
    (
        "tokens",
        &[
            ("token_hash", Bytes),
            ("cert_serial", OptInt),
            ("foreign_session_id", OptInt),
            ("created_at", Int),
            ("revoked_at", OptInt),
        ],
    ),
    (
        "key_packages",
        &[
            ("id", Int),
            ("actor_id", Int),
            ("session_id", Text),
            ("cert_serial", Int),
            ("body_b64", Text),
            ("init_key", Bytes),
            ("not_after", Int),
            ("last_resort", Bool),
            ("created_at", Int),
        ],
    ),
    (
        "events",
        &[
            ("id", Int),
            ("actor_id", Int),
            ("session_id", Text),
            ("n", Text),
            ("op", Int4),
            ("d", Text),
            ("created_at", Int),
        ],
    ),
    (
        "invites",
        &[
            ("id", Int),
            ("token_hash", Bytes),
            ("created_at", Int),
            ("expires_at", Int),
            ("max_uses", Int),
            ("used", Int),
            ("revoked_at", OptInt),
        ],
    ),
];

/// Tables whose `id` is an identity to move past the copied ids.
const IDENTITIES: &[&str] = &[
    "actors",
    "id_certs",
    "foreign_sessions",
    "key_packages",
    "events",
    "invites",
];

/// Rows read from SQLite per round.
const PAGE: i64 = 1000;

/// What [`copy_sqlite_to_postgres`] copied: rows per table, and the keys sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyReport {
    /// `(table, rows)` in copy order.
    pub rows: Vec<(&'static str, u64)>,
    /// Root keys sealed into the database.
    pub keys: u64,
}

impl std::fmt::Display for CopyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        write!(
            f,
            "{}; {} server key(s) sealed",
            parts.join(", "),
            self.keys
        )
    }
}

fn bind_column<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    row: &SqliteRow,
    name: &str,
    kind: Kind,
) -> Result<sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>, StoreError> {
    Ok(match kind {
        Int => q.bind(row.try_get::<i64, _>(name)?),
        OptInt => q.bind(row.try_get::<Option<i64>, _>(name)?),
        Text => q.bind(row.try_get::<String, _>(name)?),
        OptText => q.bind(row.try_get::<Option<String>, _>(name)?),
        Bytes => q.bind(row.try_get::<Vec<u8>, _>(name)?),
        Bool => q.bind(row.try_get::<i64, _>(name)? != 0),
        Int4 => {
            let v: i64 = row.try_get(name)?;
            q.bind(i32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{name} {v}")))?)
        }
    })
}

/// Copies the SQLite store `from` into the PostgreSQL store `to` (see the
/// module docs). `settings` names the key directory (locked while copying,
/// and where the key files are) and carries the key-encryption key.
/// Refused ([`AdminError::Usage`]) when the PostgreSQL database already holds
/// actors or root certificates, or no key-encryption key is given.
pub async fn copy_sqlite_to_postgres(
    from: &SqliteStore,
    to: &PgStore,
    settings: &ServerSettings,
) -> Result<CopyReport, AdminError> {
    let _lock = keys::lock_data_dir(&settings.keys.dir).map_err(|e| match e {
        keys::KeyError::Busy(m) => AdminError::Busy(m),
        other => other.into(),
    })?;
    let kek = settings.keys.encryption_key.as_ref().ok_or_else(|| {
        AdminError::Usage(
            "the PostgreSQL store keeps the server's keys sealed: give the key-encryption key \
             (--key-encryption-key-file) the instances will use"
                .into(),
        )
    })?;
    let src = from.reader_pool();
    let mut tx = to.pool().begin().await.map_err(StoreError::from)?;
    let used: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM actors) + (SELECT COUNT(*) FROM server_certs)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    if used > 0 {
        return Err(AdminError::Usage(
            "the PostgreSQL database already holds server data; copy into an empty one".into(),
        ));
    }
    let mut report = CopyReport::default();
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
        let select = format!(
            "SELECT rowid AS p2core_rowid, {} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            names.join(", ")
        );
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            marks.join(", ")
        );
        let (mut after, mut copied) = (0_i64, 0_u64);
        loop {
            let rows = sqlx::query(&select)
                .bind(after)
                .bind(PAGE)
                .fetch_all(src)
                .await
                .map_err(StoreError::from)?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("p2core_rowid").map_err(StoreError::from)?;
            for row in &rows {
                let mut q = sqlx::query(&insert);
                for (name, kind) in *columns {
                    q = bind_column(q, row, name, *kind)?;
                }
                q.execute(&mut *tx).await.map_err(StoreError::from)?;
                copied += 1;
            }
        }
        report.rows.push((table, copied));
    }
    // The server's keys: each root's key file, sealed into the database.
    let roots: Vec<(i64, String)> = sqlx::query_as("SELECT serial, key_file FROM server_certs")
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    for (serial, key_file) in roots {
        let path = settings.keys.dir.join(&key_file);
        let pem =
            std::fs::read(&path).map_err(|e| keys::KeyError::Io(path.display().to_string(), e))?;
        let sealed = keys::seal_key(kek, serial, &pem)?;
        sqlx::query("INSERT INTO server_keys (serial, sealed, created_at) VALUES ($1, $2, $3)")
            .bind(serial)
            .bind(sealed)
            .bind(crate::storage::sql::db_ts(
                p2core_types::UnixTimestamp::now(),
            ))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        sqlx::query("UPDATE server_certs SET key_file = $1 WHERE serial = $2")
            .bind(format!("db:{serial}"))
            .bind(serial)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        report.keys += 1;
    }
    for table in IDENTITIES {
        // Past the largest id SQLite ever gave out: `events` is AUTOINCREMENT,
        // so its ids are never reused even after the newest rows were deleted
        // (a client's cursor may name one); `sqlite_sequence` remembers them.
        let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?")
            .bind(*table)
            .fetch_optional(src)
            .await
            .map_err(StoreError::from)?;
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                           GREATEST(COALESCE((SELECT MAX(id) FROM {table}), 0), $1) + 1, false)"
        ))
        .bind(seq.unwrap_or(0))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(report)
}
