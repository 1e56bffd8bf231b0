//! A read-through cache of a store for one invocation.
//!
//! A function that reads the same items for many records of a batch (enrich
//! reads each person's identity nodes and tombstones once per event) reads
//! them through a [`Cached`] store: the first read of an item goes to the
//! store, and later ones, for the rest of the invocation, are answered from
//! memory. It is made per invocation and dropped with it, so it never serves
//! an item across invocations.
//!
//! Writes go to the store and keep the cache exact: a successful write
//! caches what was written with its new version, a delete caches the
//! absence, and a write that fails (a lost race above all) forgets the item,
//! so the retry reads what the other writer left. An item another process
//! changes during the invocation is seen as it was when first read, as it
//! would be by a read at that moment; every write is conditional on the
//! version read, so acting on it can never overwrite the other change.
//! What decides whether to write at all is not guarded that way: a caller
//! that loses a race forgets such reads ([`Cached::forget_table`]) before
//! it tries again, so the retry sees what the winner may have changed.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::Timestamp;
use crate::ports::{Item, Precondition, Store, StoreError, Table};

/// A store whose reads are remembered for the life of the value.
#[derive(Debug)]
pub struct Cached<'a, S> {
    inner: &'a S,
    items: Mutex<HashMap<(Table, String), Option<Item>>>,
}

impl<'a, S: Store> Cached<'a, S> {
    /// An empty cache over `inner`.
    pub fn new(inner: &'a S) -> Self {
        Self {
            inner,
            items: Mutex::new(HashMap::new()),
        }
    }

    /// Reads `keys` of `table` in one call, so that later reads of them
    /// are answered from memory. Keys already cached are not read again.
    ///
    /// # Errors
    /// The store's error; nothing is cached then.
    pub async fn warm(&self, table: Table, keys: &[String]) -> Result<(), StoreError> {
        self.get_many(table, keys).await.map(drop)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Table, String), Option<Item>>> {
        // The map is only ever left consistent: a panic elsewhere cannot poison its meaning.
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached(&self, table: Table, key: &str) -> Option<Option<Item>> {
        self.lock().get(&(table, key.to_owned())).cloned()
    }

    fn remember(&self, table: Table, key: &str, item: Option<Item>) {
        self.lock().insert((table, key.to_owned()), item);
    }

    fn forget(&self, table: Table, key: &str) {
        self.lock().remove(&(table, key.to_owned()));
    }

    /// Forgets every item of `table`, so the next read of each goes to the
    /// store again.
    pub fn forget_table(&self, table: Table) {
        self.lock().retain(|(t, _), _| *t != table);
    }

    /// How many items are held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: Store> Store for Cached<'_, S> {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        if let Some(item) = self.cached(table, key) {
            return Ok(item);
        }
        let item = self.inner.get(table, key).await?;
        self.remember(table, key, item.clone());
        Ok(item)
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let mut missing: Vec<String> = keys
            .iter()
            .filter(|k| self.cached(table, k).is_none())
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            let items = self.inner.get_many(table, &missing).await?;
            for (key, item) in missing.iter().zip(items) {
                self.remember(table, key, item);
            }
        }
        let items = self.lock();
        Ok(keys
            .iter()
            .map(|k| items.get(&(table, k.clone())).cloned().flatten())
            .collect())
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        let written = self
            .inner
            .put(table, key, value.clone(), expires_at, precondition)
            .await;
        match &written {
            Ok(version) => self.remember(
                table,
                key,
                Some(Item {
                    value,
                    version: *version,
                    expires_at,
                }),
            ),
            Err(_) => self.forget(table, key),
        }
        written
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        let deleted = self.inner.delete(table, key).await;
        match &deleted {
            Ok(()) => self.remember(table, key, None),
            Err(_) => self.forget(table, key),
        }
        deleted
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        self.inner.take_billed()
    }
}
