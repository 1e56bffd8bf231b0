//! One request's store calls, counted apart from the other requests the
//! process serves at the same time.
//!
//! A process's store is metered as a whole ([`Metered`]), which is each
//! invocation's count where a process serves one request at a time (a
//! Lambda, a Spin instance). A Cloud Run instance serves many at once, so
//! there a decision's report would carry its neighbours' calls. A
//! [`Tally`] sits between one request's work and the process's store: it
//! passes every call on and counts it as [`Metered`] does, and as the
//! clouds bill it, by the per-call formulas the cloud adapters and the
//! local count share ([`CloudUnits`]).
//!
//! The formulas see what the call returned, so an expired item a cloud
//! store still holds (DynamoDB deletes expired items within days, and
//! bills a read of one by its size) counts as a missing one; everything
//! else is counted as its adapter counts it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tailor_core::Timestamp;
use tailor_core::ports::{Item, Meter, Precondition, Store, StoreError, Table};
use tailor_cost::billing::CloudUnits;
use tailor_cost::rules::{Platform, platform_of};

/// One request's calls to `S`, counted.
#[derive(Debug)]
pub struct Tally<'a, S> {
    store: &'a S,
    billed_as: Option<Platform>,
    reads: AtomicU64,
    writes: AtomicU64,
    write_bytes: AtomicU64,
    units: CloudUnits,
}

impl<'a, S> Tally<'a, S> {
    /// Counts calls to `store`, with the units of `billed_as`'s bill (none
    /// where the platform does not bill store calls, or is not priced).
    pub fn new(store: &'a S, billed_as: Option<Platform>) -> Self {
        Self {
            store,
            billed_as,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            write_bytes: AtomicU64::new(0),
            units: CloudUnits::default(),
        }
    }

    /// The counts so far, and the units billed, resetting them.
    pub fn take(&self) -> Meter {
        Meter {
            reads: self.reads.swap(0, Relaxed),
            writes: self.writes.swap(0, Relaxed),
            write_bytes: self.write_bytes.swap(0, Relaxed),
            billed: self.billed(),
        }
    }

    /// This request's units of its platform's bill, resetting them.
    fn billed(&self) -> Vec<(&'static str, u64)> {
        let units = self.units.take();
        match self.billed_as {
            Some(platform) => units
                .into_iter()
                .filter(|(unit, _)| platform_of(unit) == Some(platform))
                .collect(),
            None => Vec::new(),
        }
    }

    fn count_write(&self, key: &str, value: &[u8]) {
        self.writes.fetch_add(1, Relaxed);
        self.write_bytes.fetch_add(value.len() as u64, Relaxed);
        self.units.write(key, value.len());
    }
}

/// Each key read with the size of what was found.
fn found<'k>(
    keys: &'k [String],
    items: &[Option<Item>],
) -> impl Iterator<Item = (&'k str, Option<usize>)> {
    keys.iter()
        .map(String::as_str)
        .zip(items.iter().map(|i| i.as_ref().map(|i| i.value.len())))
}

impl<S: Store> Store for Tally<'_, S> {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        self.reads.fetch_add(1, Relaxed);
        let item = self.store.get(table, key).await?;
        self.units
            .read([(key, item.as_ref().map(|i| i.value.len()))]);
        Ok(item)
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        self.reads.fetch_add(keys.len() as u64, Relaxed);
        let items = self.store.get_many(table, keys).await?;
        self.units.read(found(keys, &items));
        Ok(items)
    }

    async fn get_many_eventual(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        self.reads.fetch_add(keys.len() as u64, Relaxed);
        let items = self.store.get_many_eventual(table, keys).await?;
        self.units.read_eventual(found(keys, &items));
        Ok(items)
    }

    /// Counted before the call: a cloud store bills a write it refuses.
    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        StoreError::check_size(table, &value)?;
        self.count_write(key, &value);
        self.store
            .put(table, key, value, expires_at, precondition)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Relaxed);
        self.units.delete();
        self.store.delete(table, key).await
    }

    /// This request's units of its platform's bill.
    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        self.billed()
    }
}
