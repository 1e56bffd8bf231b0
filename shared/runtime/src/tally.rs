//! One request's store calls, counted apart from the other requests the
//! process serves at the same time.
//!
//! A process's store is metered as a whole ([`Metered`]), which is each
//! invocation's count where a process serves one request at a time (a
//! Lambda, a Spin instance). A Cloud Run instance serves many at once, so
//! there a decision's report would carry its neighbours' calls. A
//! [`Tally`] sits between one request's work and the process's store: it
//! passes every call on and counts it as [`Metered`] does, and as the
//! cloud bills it ([`Billed`]), by the per-call formulas the cloud adapters
//! and the local count share ([`CloudUnits`]).
//!
//! The formulas see what the call returned, so an expired item a cloud
//! store still holds (DynamoDB deletes expired items within days, and
//! bills a read of one by its size) counts as a missing one; everything
//! else is counted as its adapter counts it.

use tailor_core::Timestamp;
use tailor_core::ports::{Item, Metered, Precondition, Store, StoreError, Table};
use tailor_cost::billing::CloudUnits;
use tailor_cost::rules::{Platform, platform_of};

/// One request's calls to `S`, counted: [`Metered::take`] gives its counts
/// and the units of its platform's bill.
pub type Tally<'a, S> = Metered<Billed<'a, S>>;

/// Counts one request's calls to `store`, with the units of `billed_as`'s
/// bill (none where the platform does not bill store calls, or is not
/// priced).
pub fn tally<S>(store: &S, billed_as: Option<Platform>) -> Tally<'_, S> {
    Metered::new(Billed {
        store,
        billed_as,
        units: CloudUnits::default(),
    })
}

/// Calls to `S` passed on, each counted as its platform bills it.
#[derive(Debug)]
pub struct Billed<'a, S> {
    store: &'a S,
    billed_as: Option<Platform>,
    units: CloudUnits,
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

impl<S: Store> Store for Billed<'_, S> {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
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
        let items = self.store.get_many(table, keys).await?;
        self.units.read(found(keys, &items));
        Ok(items)
    }

    async fn get_many_eventual(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
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
        self.units.write(key, value.len());
        self.store
            .put(table, key, value, expires_at, precondition)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        self.units.delete();
        self.store.delete(table, key).await
    }

    /// This request's units of its platform's bill, resetting them.
    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        let units = self.units.take();
        match self.billed_as {
            Some(platform) => units
                .into_iter()
                .filter(|(unit, _)| platform_of(unit) == Some(platform))
                .collect(),
            None => Vec::new(),
        }
    }
}
