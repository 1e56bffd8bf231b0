//! The embedded store: one redb table per Tailor table.
//!
//! Each item is stored as `version (u64 LE) ‖ expires_at (i64 LE) ‖ value`.
//! Expired items are invisible to reads and removed by [`LocalStore::sweep`].
//!
//! A deleted or overwritten item's bytes can stay in the file's freed
//! pages. So an erasure — which always writes a tombstone for each of the
//! person's keys — marks the store, and the next [`LocalStore::flush`]
//! rewrites the file: every live item is copied into a fresh file that
//! replaces the old one, and nothing the erasure removed stays readable in
//! the file's bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use tailor_core::Timestamp;
use tailor_core::ports::{Clock, Expiring, Item, Precondition, Store, StoreError, Table};

use tailor_runtime::WallClock;
use tailor_runtime::cost::billing::CloudUnits;

type Def = TableDefinition<'static, &'static str, &'static [u8]>;

const fn def(table: Table) -> Def {
    TableDefinition::new(table.as_str())
}

/// Why the local store could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("local store: {0}")]
pub struct LocalStoreError(String);

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode(version: u64, expires_at: Timestamp, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + value.len());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&expires_at.as_millis().to_le_bytes());
    out.extend_from_slice(value);
    out
}

fn decode(bytes: &[u8]) -> Result<Item, StoreError> {
    let (Some(v), Some(e)) = (bytes.get(..8), bytes.get(8..16)) else {
        return Err(StoreError::Corrupt("item header truncated".into()));
    };
    let mut version = [0; 8];
    version.copy_from_slice(v);
    let mut expires = [0; 8];
    expires.copy_from_slice(e);
    Ok(Item {
        value: bytes[16..].to_vec(),
        version: u64::from_le_bytes(version),
        expires_at: Timestamp::from_millis(i64::from_le_bytes(expires)),
    })
}

/// The local platform's state.
pub struct LocalStore {
    db: RwLock<Database>,
    /// The file, for a store kept in one.
    path: Option<PathBuf>,
    /// Whether an erasure (a tombstone written) has happened since the file
    /// was last rewritten.
    erased: AtomicBool,
    clock: Box<dyn Clock>,
    /// What the calls would bill on each cloud, when asked to count it.
    cloud_units: Option<Counted>,
}

/// The units counted: in all, taken by each invocation's report, and by
/// table, kept until asked for ([`LocalStore::take_billed_by_table`]).
struct Counted {
    all: CloudUnits,
    by_table: BTreeMap<Table, CloudUnits>,
}

impl Counted {
    fn new() -> Self {
        Self {
            all: CloudUnits::default(),
            by_table: Table::ALL
                .into_iter()
                .map(|t| (t, CloudUnits::default()))
                .collect(),
        }
    }

    /// The tallies a call on `table` counts in: the whole and the table's.
    fn of(&self, table: Table) -> impl Iterator<Item = &CloudUnits> {
        std::iter::once(&self.all).chain(self.by_table.get(&table))
    }
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore").finish_non_exhaustive()
    }
}

impl LocalStore {
    /// Opens (or creates) a store file; expiry follows the wall clock.
    ///
    /// # Errors
    /// [`LocalStoreError`] when the file cannot be opened or created.
    pub fn open(path: &Path) -> Result<Self, LocalStoreError> {
        let db = Database::create(path)
            .map_err(|e| LocalStoreError(format!("{}: {e}", path.display())))?;
        let mut store = Self::init(db, Box::new(WallClock))?;
        store.path = Some(path.to_owned());
        Ok(store)
    }

    /// A store in memory, for tests and benchmarks.
    ///
    /// # Errors
    /// [`LocalStoreError`] if the tables cannot be created.
    pub fn in_memory() -> Result<Self, LocalStoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| LocalStoreError(e.to_string()))?;
        Self::init(db, Box::new(WallClock))
    }

    /// Uses `clock` to decide what has expired.
    #[must_use]
    pub fn with_clock(mut self, clock: Box<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Counts, for every call through the [`Store`] port, the units each
    /// cloud's store would bill for it (DynamoDB's request units,
    /// Firestore's document operations), reported by
    /// [`Store::take_billed`]: what a run would cost on each cloud.
    #[must_use]
    pub fn counting_cloud_units(mut self) -> Self {
        self.cloud_units = Some(Counted::new());
        self
    }

    /// The units counted per table since the last call (or since counting
    /// began), for a store [`counting_cloud_units`](Self::counting_cloud_units);
    /// tables with none left out. Apart from the invocations' reports,
    /// which [`Store::take_billed`] resets: where a run's units go, never
    /// priced.
    #[must_use]
    pub fn take_billed_by_table(&self) -> Vec<(Table, Vec<(&'static str, u64)>)> {
        self.cloud_units.as_ref().map_or_else(Vec::new, |c| {
            c.by_table
                .iter()
                .map(|(table, units)| (*table, units.take()))
                .filter(|(_, units)| !units.is_empty())
                .collect()
        })
    }

    fn init(db: Database, clock: Box<dyn Clock>) -> Result<Self, LocalStoreError> {
        let txn = db
            .begin_write()
            .map_err(|e| LocalStoreError(e.to_string()))?;
        for table in Table::ALL {
            txn.open_table(def(table))
                .map_err(|e| LocalStoreError(e.to_string()))?;
        }
        txn.commit().map_err(|e| LocalStoreError(e.to_string()))?;
        Ok(Self {
            db: RwLock::new(db),
            path: None,
            erased: AtomicBool::new(false),
            clock,
            cloud_units: None,
        })
    }

    fn db(&self) -> Result<RwLockReadGuard<'_, Database>, StoreError> {
        self.db
            .read()
            .map_err(|_| StoreError::Unavailable("local store lock poisoned".into()))
    }

    /// Makes every write so far durable; after an erasure, also rewrites
    /// the file so that no freed page keeps what it removed.
    ///
    /// # Errors
    /// The commit or the rewrite fails.
    pub fn flush(&self) -> Result<(), StoreError> {
        {
            let db = self.db()?;
            let mut txn = db.begin_write().map_err(err)?;
            txn.set_durability(Durability::Immediate).map_err(err)?;
            txn.commit().map_err(err)?;
        }
        if self.erased.swap(false, Ordering::AcqRel)
            && let Err(e) = self.rewrite()
        {
            self.erased.store(true, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }

    /// Copies every live item into a fresh file beside the store's and
    /// puts it in the old one's place; a store in memory has no file to
    /// rewrite.
    fn rewrite(&self) -> Result<(), StoreError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let now = self.clock.now();
        let mut db = self
            .db
            .write()
            .map_err(|_| StoreError::Unavailable("local store lock poisoned".into()))?;
        let fresh_path = path.with_extension("rewrite");
        let _ = std::fs::remove_file(&fresh_path);
        {
            let fresh = Database::create(&fresh_path).map_err(err)?;
            let from = db.begin_read().map_err(err)?;
            let mut to = fresh.begin_write().map_err(err)?;
            to.set_durability(Durability::Immediate).map_err(err)?;
            for table in Table::ALL {
                let source = from.open_table(def(table)).map_err(err)?;
                let mut target = to.open_table(def(table)).map_err(err)?;
                for entry in source.iter().map_err(err)? {
                    let (k, v) = entry.map_err(err)?;
                    if decode(v.value()).is_ok_and(|item| item.expires_at > now) {
                        target.insert(k.value(), v.value()).map_err(err)?;
                    }
                }
            }
            to.commit().map_err(err)?;
        }
        std::fs::rename(&fresh_path, path).map_err(err)?;
        let reopened = Database::create(path).map_err(err)?;
        // The old file's handle closes here; its bytes are gone with it.
        *db = reopened;
        Ok(())
    }

    /// Every live item of `table`, in key order.
    ///
    /// # Errors
    /// The read fails or an item is corrupt.
    pub fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, StoreError> {
        let now = self.clock.now();
        let db = self.db()?;
        let txn = db.begin_read().map_err(err)?;
        let t = txn.open_table(def(table)).map_err(err)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(err)? {
            let (k, v) = entry.map_err(err)?;
            let item = decode(v.value())?;
            if item.expires_at > now {
                out.push((k.value().to_owned(), item));
            }
        }
        Ok(out)
    }

    /// The live item at `key`, read at once (the [`Store`] port's `get`
    /// without a future).
    ///
    /// # Errors
    /// The read fails or the item is corrupt.
    pub fn lookup(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        Ok(self.read(table, &[key])?.pop().flatten())
    }

    /// Removes every expired item; returns how many.
    ///
    /// # Errors
    /// The write fails.
    pub fn sweep(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let db = self.db()?;
        let txn = db.begin_write().map_err(err)?;
        let mut removed = 0;
        for table in Table::ALL {
            let mut t = txn.open_table(def(table)).map_err(err)?;
            t.retain(|_, v| {
                let live = decode(v).is_ok_and(|item| item.expires_at > now);
                removed += u64::from(!live);
                live
            })
            .map_err(err)?;
        }
        txn.commit().map_err(err)?;
        Ok(removed)
    }

    fn read(&self, table: Table, keys: &[&str]) -> Result<Vec<Option<Item>>, StoreError> {
        Ok(self.live(self.read_stored(table, keys)?))
    }

    /// `items` with the expired ones read as absent.
    fn live(&self, items: Vec<Option<Item>>) -> Vec<Option<Item>> {
        let now = self.clock.now();
        items
            .into_iter()
            .map(|item| item.filter(|i| i.expires_at > now))
            .collect()
    }

    /// The items stored at `keys`, expired or not.
    fn read_stored(&self, table: Table, keys: &[&str]) -> Result<Vec<Option<Item>>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read().map_err(err)?;
        let t = txn.open_table(def(table)).map_err(err)?;
        keys.iter()
            .map(|k| match t.get(*k).map_err(err)? {
                Some(v) => decode(v.value()).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    /// A read through the port: counted as the clouds bill it (a cloud
    /// store returns an expired item and bills its size), strongly
    /// consistent or not, then only the live items. This store always
    /// reads its own writes.
    fn read_counted(
        &self,
        table: Table,
        keys: &[&str],
        consistent: bool,
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let stored = self.read_stored(table, keys)?;
        if let Some(counted) = &self.cloud_units {
            for units in counted.of(table) {
                let found = keys
                    .iter()
                    .zip(&stored)
                    .map(|(k, item)| (*k, item.as_ref().map(|i| i.value.len())));
                if consistent {
                    units.read(found);
                } else {
                    units.read_eventual(found);
                }
            }
        }
        Ok(self.live(stored))
    }
}

impl Expiring for LocalStore {
    fn expiring_by(self, clock: std::sync::Arc<dyn Clock>) -> Self {
        self.with_clock(Box::new(clock))
    }
}

impl Store for LocalStore {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        Ok(self.read_counted(table, &[key], true)?.pop().flatten())
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.read_counted(table, &keys, true)
    }

    async fn get_many_eventual(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.read_counted(table, &keys, false)
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        if table == Table::Tombstones {
            // Only an erasure writes a tombstone.
            self.erased.store(true, Ordering::Release);
        }
        let now = self.clock.now();
        let db = self.db()?;
        let mut txn = db.begin_write().map_err(err)?;
        txn.set_durability(Durability::None).map_err(err)?;
        let version = {
            let mut t = txn.open_table(def(table)).map_err(err)?;
            let current = match t.get(key).map_err(err)? {
                Some(v) => decode(v.value())?,
                None => Item {
                    value: Vec::new(),
                    version: 0,
                    expires_at: Timestamp::from_millis(i64::MIN),
                },
            };
            let live = current.expires_at > now;
            if let Some(counted) = &self.cloud_units {
                for units in counted.of(table) {
                    // A cloud store bills a write it refuses too.
                    units.write(key, value.len());
                    if precondition == Precondition::Absent && current.version > 0 {
                        units.absent_found(!live);
                    }
                }
            }
            let ok = match precondition {
                Precondition::None => true,
                Precondition::Absent => !live,
                Precondition::Version(v) => live && current.version == v,
            };
            if !ok {
                return Err(StoreError::Conflict { table });
            }
            let version = if live { current.version + 1 } else { 1 };
            t.insert(key, encode(version, expires_at, &value).as_slice())
                .map_err(err)?;
            version
        };
        txn.commit().map_err(err)?;
        Ok(version)
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        if let Some(counted) = &self.cloud_units {
            counted.of(table).for_each(CloudUnits::delete);
        }
        let db = self.db()?;
        let mut txn = db.begin_write().map_err(err)?;
        txn.set_durability(Durability::None).map_err(err)?;
        {
            let mut t = txn.open_table(def(table)).map_err(err)?;
            t.remove(key).map_err(err)?;
        }
        txn.commit().map_err(err)
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        self.cloud_units
            .as_ref()
            .map_or_else(Vec::new, |c| c.all.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        // The store's futures never pend; poll once with a no-op waker.
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("local store future pended"),
        }
    }

    const FAR: Timestamp = Timestamp::from_millis(i64::MAX);

    /// Two requests' tallies over one store, their calls interleaved:
    /// each counts its own calls only, and together they bill what the
    /// store counts for all of them. By hand: a 900-byte value under a
    /// 7-byte key is one DynamoDB write unit (997 bytes with the layout's
    /// attribute names and numbers) and one Firestore write; reading it
    /// back is one read unit; a missing item one read unit; a delete one
    /// write unit.
    #[test]
    fn tallies_count_each_requests_calls_as_the_store_counts_them() {
        use tailor_core::ports::Meter;
        use tailor_runtime::cost::Platform;
        use tailor_runtime::tally::tally;

        let store = LocalStore::in_memory().unwrap().counting_cloud_units();
        let gcp = tally(&store, Some(Platform::Gcp));
        let aws = tally(&store, Some(Platform::Aws));
        let unpriced = tally(&store, None);
        let keys = ["profile".to_owned(), "nobody".to_owned()];
        block(gcp.put(
            Table::Features,
            "profile",
            vec![1; 900],
            FAR,
            Precondition::None,
        ))
        .unwrap();
        block(aws.get(Table::Features, "profile")).unwrap();
        block(gcp.get_many(Table::Features, &keys)).unwrap();
        block(aws.delete(Table::Features, "other")).unwrap();
        block(unpriced.get(Table::Features, "nobody")).unwrap();

        let sorted = |mut meter: Meter| {
            meter.billed.sort_unstable();
            meter
        };
        assert_eq!(
            sorted(gcp.take()),
            Meter {
                reads: 2,
                writes: 1,
                write_bytes: 900,
                billed: vec![
                    ("firestore_document_reads", 2),
                    ("firestore_document_writes", 1),
                ],
            }
        );
        assert_eq!(
            sorted(aws.take()),
            Meter {
                reads: 1,
                writes: 1,
                write_bytes: 0,
                billed: vec![("dynamodb_read_units", 1), ("dynamodb_write_units", 1)],
            }
        );
        assert_eq!(
            unpriced.take(),
            Meter {
                reads: 1,
                ..Meter::default()
            }
        );
        assert_eq!(gcp.take(), Meter::default(), "taking resets");

        // The store's own count of the same calls, as each cloud bills them.
        let mut all = store.take_billed();
        all.sort_unstable();
        assert_eq!(
            all,
            vec![
                ("dynamodb_read_units", 4),
                ("dynamodb_write_units", 2),
                ("firestore_document_deletes", 1),
                ("firestore_document_reads", 4),
                ("firestore_document_writes", 1),
            ]
        );
    }

    /// The same units, by table, kept across the invocations' reports.
    /// By hand: a 1,500-byte value under a 7-byte key (1,597 bytes with the
    /// layout's attribute names and numbers) is two DynamoDB write units; a
    /// strongly consistent read of it one read unit; an
    /// eventually consistent read of it and of a missing key one call of
    /// two units, billed half; a delete one write unit.
    #[test]
    fn units_are_counted_by_table_until_taken() {
        let store = LocalStore::in_memory().unwrap().counting_cloud_units();
        let keys = ["profile".to_owned(), "nobody".to_owned()];
        block(store.put(
            Table::Features,
            "profile",
            vec![1; 1_500],
            FAR,
            Precondition::None,
        ))
        .unwrap();
        block(store.get(Table::Features, "profile")).unwrap();
        assert_eq!(
            store.take_billed(),
            vec![
                ("dynamodb_read_units", 1),
                ("dynamodb_write_units", 2),
                ("firestore_document_reads", 1),
                ("firestore_document_writes", 1),
            ],
            "an invocation's report takes the whole"
        );
        block(store.get_many_eventual(Table::Features, &keys)).unwrap();
        block(store.delete(Table::Dedup, "event")).unwrap();

        assert_eq!(
            store.take_billed_by_table(),
            vec![
                (
                    Table::Dedup,
                    vec![
                        ("dynamodb_write_units", 1),
                        ("firestore_document_deletes", 1)
                    ]
                ),
                (
                    Table::Features,
                    vec![
                        ("dynamodb_read_units", 2),
                        ("dynamodb_write_units", 2),
                        ("firestore_document_reads", 3),
                        ("firestore_document_writes", 1),
                    ]
                ),
            ]
        );
        assert!(store.take_billed_by_table().is_empty(), "taking resets");
        assert_eq!(
            store.take_billed(),
            vec![
                ("dynamodb_read_units", 1),
                ("dynamodb_write_units", 1),
                ("firestore_document_reads", 2),
                ("firestore_document_deletes", 1),
            ],
            "apart from the whole"
        );
    }

    #[test]
    fn versioned_writes_reject_stale_versions() {
        let s = LocalStore::in_memory().unwrap();
        let v1 = block(s.put(
            Table::Features,
            "p",
            b"a".to_vec(),
            FAR,
            Precondition::Absent,
        ))
        .unwrap();
        assert_eq!(v1, 1);
        assert!(matches!(
            block(s.put(
                Table::Features,
                "p",
                b"b".to_vec(),
                FAR,
                Precondition::Absent
            )),
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(
            block(s.put(
                Table::Features,
                "p",
                b"b".to_vec(),
                FAR,
                Precondition::Version(1)
            ))
            .unwrap(),
            2
        );
        assert!(
            block(s.put(
                Table::Features,
                "p",
                b"c".to_vec(),
                FAR,
                Precondition::Version(1)
            ))
            .is_err()
        );
        assert_eq!(
            block(s.get(Table::Features, "p")).unwrap().unwrap().value,
            b"b"
        );
    }

    #[test]
    fn expired_items_are_invisible_and_swept() {
        let s = LocalStore::in_memory().unwrap();
        let past = Timestamp::from_millis(1);
        block(s.put(Table::Dedup, "old", b"x".to_vec(), past, Precondition::None)).unwrap();
        assert!(block(s.get(Table::Dedup, "old")).unwrap().is_none());
        // An expired item does not block a put-if-absent.
        block(s.put(
            Table::Dedup,
            "old",
            b"y".to_vec(),
            FAR,
            Precondition::Absent,
        ))
        .unwrap();
        block(s.put(
            Table::Dedup,
            "gone",
            b"z".to_vec(),
            past,
            Precondition::None,
        ))
        .unwrap();
        assert_eq!(s.sweep().unwrap(), 1);
    }

    #[test]
    fn data_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let s = LocalStore::open(&path).unwrap();
            block(s.put(
                Table::Identity,
                "user:u1",
                b"{}".to_vec(),
                FAR,
                Precondition::None,
            ))
            .unwrap();
            s.flush().unwrap();
        }
        let s = LocalStore::open(&path).unwrap();
        assert!(block(s.get(Table::Identity, "user:u1")).unwrap().is_some());
    }
}
