//! The store on Spin's SQLite interface: one table of versioned, expiring
//! items, where every write is one statement whose condition SQLite checks
//! and applies atomically, so concurrent requests for one profile never
//! lose an update nor apply one twice.
//!
//! ```sql
//! CREATE TABLE items (tbl TEXT, key TEXT, value BLOB, version INTEGER,
//!                     expires_at INTEGER, PRIMARY KEY (tbl, key))
//! ```
//!
//! | write | statement | lost race |
//! | --- | --- | --- |
//! | put-if-absent | `INSERT … ON CONFLICT DO UPDATE … WHERE items.expires_at <= now RETURNING version` | no row returned |
//! | versioned | `UPDATE … SET version = version + 1 … WHERE version = ? AND expires_at > now RETURNING version` | no row returned |
//! | unconditional | `INSERT … ON CONFLICT DO UPDATE … RETURNING version` | — |
//!
//! Spin's key-value store has no conditional write, which is why state is
//! kept here instead. SQLite has no expiry of its own: an item past its
//! `expires_at` reads as absent at once, and [`SqlStore::sweep`] deletes a
//! bounded number of them each time a request calls it.
//!
//! The statements go through a [`Database`]: Spin's connection in the
//! component, anything that speaks SQLite's dialect elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tailor_core::Timestamp;
use tailor_core::ports::{
    Clock, Expiring, Item, Precondition, Store, StoreError, Table, distinct_chunks, in_order,
};

/// A value bound to, or read from, a statement: the variants of Spin's
/// `fermyon:spin/sqlite` `value`.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// A 64-bit integer.
    Integer(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// NULL.
    Null,
}

/// A statement the database could not run, with the database's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sqlite: {0}")]
pub struct SqlError(pub String);

/// Where statements run: Spin's SQLite connection in the component.
pub trait Database: Send + Sync {
    /// Runs `statement` with `parameters` bound to `?1`, `?2`, …; returns
    /// the rows it yields, each a value per column.
    ///
    /// # Errors
    /// The database refused or could not run it.
    fn execute(
        &self,
        statement: &str,
        parameters: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, SqlError>;
}

impl<D: Database + ?Sized> Database for Arc<D> {
    fn execute(
        &self,
        statement: &str,
        parameters: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, SqlError> {
        (**self).execute(statement, parameters)
    }
}

/// Creates the items table and its expiry index, if missing.
pub const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS items (\
       tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, \
       version INTEGER NOT NULL, expires_at INTEGER NOT NULL, \
       PRIMARY KEY (tbl, key)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires_at)",
];

const GET: &str =
    "SELECT value, version, expires_at FROM items WHERE tbl = ?1 AND key = ?2 AND expires_at > ?3";

const PUT_IF_ABSENT: &str = "INSERT INTO items (tbl, key, value, version, expires_at) \
     VALUES (?1, ?2, ?3, 1, ?4) \
     ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value, \
       version = items.version + 1, expires_at = excluded.expires_at \
     WHERE items.expires_at <= ?5 \
     RETURNING version";

const PUT_AT_VERSION: &str = "UPDATE items SET value = ?3, version = version + 1, expires_at = ?4 \
     WHERE tbl = ?1 AND key = ?2 AND version = ?5 AND expires_at > ?6 \
     RETURNING version";

const PUT: &str = "INSERT INTO items (tbl, key, value, version, expires_at) \
     VALUES (?1, ?2, ?3, 1, ?4) \
     ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value, \
       version = items.version + 1, expires_at = excluded.expires_at \
     RETURNING version";

const DELETE: &str = "DELETE FROM items WHERE tbl = ?1 AND key = ?2";

const SWEEP: &str = "DELETE FROM items WHERE (tbl, key) IN \
     (SELECT tbl, key FROM items WHERE expires_at <= ?1 LIMIT ?2)";

/// The most keys one batched read binds: far under SQLite's limit on
/// parameters in a statement.
pub const KEYS_PER_READ: usize = 100;

/// The core's [`Store`] over a [`Database`].
pub struct SqlStore<D> {
    database: D,
    clock: Arc<dyn Clock>,
    reads: AtomicU64,
    writes: AtomicU64,
}

impl<D> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").finish_non_exhaustive()
    }
}

/// Statements run, by kind, as [`Store::take_billed`] reports them.
pub const READS: &str = "sqlite_reads";
/// See [`READS`].
pub const WRITES: &str = "sqlite_writes";

impl<D: Database> SqlStore<D> {
    /// The store over `database`, its items expiring by `clock`. Creates
    /// the table if missing.
    ///
    /// # Errors
    /// The database could not create it.
    pub fn open(database: D, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        for statement in SCHEMA {
            database
                .execute(statement, &[])
                .map_err(|e| unavailable(&e))?;
        }
        Ok(Self {
            database,
            clock,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        })
    }

    /// The database.
    #[must_use]
    pub const fn database(&self) -> &D {
        &self.database
    }

    fn now(&self) -> i64 {
        self.clock.now().as_millis()
    }

    fn run(
        &self,
        statement: &str,
        parameters: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        self.database
            .execute(statement, parameters)
            .map_err(|e| unavailable(&e))
    }

    /// Deletes up to `limit` items that have expired; returns how many.
    ///
    /// # Errors
    /// The database could not run the statement.
    pub fn sweep(&self, limit: u32) -> Result<u64, StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let rows = self.run(
            &format!("{SWEEP} RETURNING 1"),
            &[
                SqlValue::Integer(self.now()),
                SqlValue::Integer(limit.into()),
            ],
        )?;
        Ok(rows.len() as u64)
    }

    /// Every live item of `table`, by key.
    ///
    /// # Errors
    /// The database could not be read, or holds something that is not an item.
    pub fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, StoreError> {
        let rows = self.run(
            "SELECT key, value, version, expires_at FROM items \
             WHERE tbl = ?1 AND expires_at > ?2 ORDER BY key",
            &[text(table.as_str()), SqlValue::Integer(self.now())],
        )?;
        rows.into_iter()
            .map(|row| match row.as_slice() {
                [SqlValue::Text(key), rest @ ..] => Ok((key.clone(), item(rest)?)),
                _ => Err(corrupt(&row)),
            })
            .collect()
    }
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

fn unavailable(e: &SqlError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(row: &[SqlValue]) -> StoreError {
    StoreError::Corrupt(format!("not an item: {row:?}"))
}

/// An item from its `value, version, expires_at` columns.
fn item(row: &[SqlValue]) -> Result<Item, StoreError> {
    match row {
        [
            SqlValue::Blob(value),
            SqlValue::Integer(version),
            SqlValue::Integer(expires),
        ] => Ok(Item {
            value: value.clone(),
            version: u64::try_from(*version).map_err(|_| corrupt(row))?,
            expires_at: Timestamp::from_millis(*expires),
        }),
        _ => Err(corrupt(row)),
    }
}

/// The version a writing statement returned, or a lost race.
fn written(table: Table, rows: &[Vec<SqlValue>]) -> Result<u64, StoreError> {
    match rows {
        [] => Err(StoreError::Conflict { table }),
        [row] => match row.as_slice() {
            [SqlValue::Integer(v)] => u64::try_from(*v).map_err(|_| corrupt(row)),
            _ => Err(corrupt(row)),
        },
        _ => Err(StoreError::Corrupt(format!(
            "a write returned {} rows",
            rows.len()
        ))),
    }
}

impl<D: Database> Expiring for SqlStore<D> {
    fn expiring_by(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl<D: Database> Store for SqlStore<D> {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let rows = self.run(
            GET,
            &[
                text(table.as_str()),
                text(key),
                SqlValue::Integer(self.now()),
            ],
        )?;
        rows.first().map(|row| item(row)).transpose()
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let mut found = std::collections::HashMap::new();
        for chunk in distinct_chunks(keys, KEYS_PER_READ) {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("?{}", i + 3)).collect();
            let statement = format!(
                "SELECT key, value, version, expires_at FROM items \
                 WHERE tbl = ?1 AND expires_at > ?2 AND key IN ({})",
                placeholders.join(", ")
            );
            let mut parameters = vec![text(table.as_str()), SqlValue::Integer(self.now())];
            parameters.extend(chunk.iter().map(|k| text(k)));
            for row in self.run(&statement, &parameters)? {
                match row.as_slice() {
                    [SqlValue::Text(key), rest @ ..] => {
                        found.insert(key.clone(), item(rest)?);
                    }
                    _ => return Err(corrupt(&row)),
                }
            }
        }
        Ok(in_order(keys, &found, Some))
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        StoreError::check_size(table, &value)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut parameters = vec![
            text(table.as_str()),
            text(key),
            SqlValue::Blob(value),
            SqlValue::Integer(expires_at.as_millis()),
        ];
        let statement = match precondition {
            Precondition::None => PUT,
            Precondition::Absent => {
                parameters.push(SqlValue::Integer(self.now()));
                PUT_IF_ABSENT
            }
            Precondition::Version(v) => {
                let v = i64::try_from(v).map_err(|_| StoreError::Conflict { table })?;
                parameters.push(SqlValue::Integer(v));
                parameters.push(SqlValue::Integer(self.now()));
                PUT_AT_VERSION
            }
        };
        written(table, &self.run(statement, &parameters)?)
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.run(DELETE, &[text(table.as_str()), text(key)])?;
        Ok(())
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        [
            (READS, self.reads.swap(0, Ordering::Relaxed)),
            (WRITES, self.writes.swap(0, Ordering::Relaxed)),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}
