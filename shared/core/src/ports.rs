//! The ports: what a function needs from its platform, kept small enough that
//! every platform can offer it.
//!
//! Core steps are pure. A function crate loads state through these traits,
//! runs the step, and applies the step's changes through them again. Each
//! platform implements them: the embedded local store, DynamoDB, Firestore,
//! Spin's SQLite.
//!
//! Bounds: futures are `Send` so handlers run on multi-threaded runtimes
//! (Lambda, Cloud Run); implementations are `Send + Sync` and shared by
//! reference. Generic parameters, not `dyn`, since a deployment picks its
//! platform at build time.
//!
//! Guarantees differ by platform, and the steps are written for the weakest:
//! every write is either put-if-absent with a deterministic key (so a replay
//! writes nothing new) or a whole-item replacement of a state that is a pure
//! function of a set of inputs (so a lost race is repaired by the next
//! update). Where a platform offers versioned writes ([`Precondition::Version`]),
//! the functions use them and retry on [`StoreError::Conflict`].

use std::future::Future;

use serde::Serialize;

use crate::Timestamp;

/// The tables Tailor keeps. Each has a retention in the policy bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Event ids already accepted (de-duplication ledger).
    Dedup,
    /// Identity graph nodes, one per key.
    Identity,
    /// Per-key feature inputs (event summaries).
    FeatureInputs,
    /// Materialized online features, one per profile.
    Features,
    /// The slow lane, one per profile: long-horizon features and batch
    /// scores, written by the scheduled batch run ([`crate::score::SlowLane`]).
    SlowLane,
    /// Consent ledger entries, one item per key.
    Consent,
    /// Append-only audit records (identity merges and unmerges, consent propagation).
    Audit,
    /// Records set aside with their reason.
    DeadLetters,
    /// Erasure tombstones, which keep late data about an erased person out.
    Tombstones,
    /// Which keys may have a tombstone, in sixteen bounded shards, so that
    /// tombstones that cannot exist are not read ([`crate::erasure_index`]).
    ErasureIndex,
    /// The decision log: every decision with its explanation.
    Decisions,
    /// Per-person keys that seal personal fields of decisions, audit
    /// records and dead letters; erasure deletes them ([`crate::subject`]).
    Subjects,
}

impl Table {
    /// Every table.
    pub const ALL: [Self; 12] = [
        Self::Dedup,
        Self::Identity,
        Self::FeatureInputs,
        Self::Features,
        Self::SlowLane,
        Self::Consent,
        Self::Audit,
        Self::DeadLetters,
        Self::Tombstones,
        Self::ErasureIndex,
        Self::Decisions,
        Self::Subjects,
    ];

    /// The table's name, also the name of its retention entry in policy.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dedup => "dedup",
            Self::Identity => "identity",
            Self::FeatureInputs => "feature_inputs",
            Self::Features => "features",
            Self::SlowLane => "slow_lane",
            Self::Consent => "consent",
            Self::Audit => "audit",
            Self::DeadLetters => "dead_letters",
            Self::Tombstones => "tombstones",
            Self::ErasureIndex => "erasure_index",
            Self::Decisions => "decisions",
            Self::Subjects => "subjects",
        }
    }

    /// The policy store whose retention applies.
    #[must_use]
    pub const fn retention_store(self) -> &'static str {
        match self {
            Self::FeatureInputs => "features",
            // Its shards outlive the tombstones they list by their own expiry.
            Self::ErasureIndex => "tombstones",
            other => other.as_str(),
        }
    }
}

/// A stored value with its version and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The value's bytes (JSON for every table Tailor defines).
    pub value: Vec<u8>,
    /// Incremented by every write; starts at 1.
    pub version: u64,
    /// When the item stops existing.
    pub expires_at: Timestamp,
}

/// A condition a write must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Write whatever is there.
    None,
    /// Write only if no (unexpired) item exists.
    Absent,
    /// Write only if the item is at this version.
    Version(u64),
}

impl Precondition {
    /// The precondition for writing back an item read at `version`
    /// (`None`: it did not exist).
    #[must_use]
    pub const fn expecting(version: Option<u64>) -> Self {
        match version {
            Some(v) => Self::Version(v),
            None => Self::Absent,
        }
    }
}

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A precondition did not hold.
    #[error("conditional write to {table:?} lost a race")]
    Conflict {
        /// The table.
        table: Table,
    },
    /// The store could not be reached or refused for now (throttled, down).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store returned something that is not a valid item.
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    /// The item is larger than any store takes ([`MAX_ITEM_BYTES`]); a
    /// retry would fail the same way.
    #[error("an item of {bytes} bytes for {table:?} is over the limit")]
    TooLarge {
        /// The table.
        table: Table,
        /// The item's size.
        bytes: usize,
    },
}

/// The largest item any store is given, in bytes: under DynamoDB's 400 KB
/// item limit (which counts attribute names and the key too), the
/// strictest of the platforms. Every item the functions write is bounded
/// far below it by construction; this is the backstop that turns a bug or
/// an unforeseen input into a dead letter instead of a retry forever.
pub const MAX_ITEM_BYTES: usize = 350 * 1024;

/// Key-value state with versioned, expiring items.
pub trait Store: Send + Sync {
    /// The item at `key`, if present and not expired.
    fn get(
        &self,
        table: Table,
        key: &str,
    ) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;

    /// The items at `keys`, in order.
    fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<Option<Item>>, StoreError>> + Send;

    /// The items at `keys`, in order, read without the promise of seeing
    /// writes of the last moments, where the store offers such a read at a
    /// lower price (DynamoDB bills an eventually consistent read at half a
    /// strongly consistent one). Only for a read whose answer a later
    /// conditional write checks again, so that a stale answer costs work
    /// but never correctness. Stores without such a read answer as
    /// [`Store::get_many`].
    fn get_many_eventual(
        &self,
        table: Table,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<Option<Item>>, StoreError>> + Send {
        self.get_many(table, keys)
    }

    /// Writes `value` at `key` if `precondition` holds; returns the new version.
    fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Removes the item at `key` (no error if absent).
    fn delete(
        &self,
        table: Table,
        key: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The units this store bills by, used since the last call, which
    /// resets them: `(unit, amount)` pairs such as DynamoDB's
    /// `dynamodb_read_units`, or Firestore's document reads. A store that
    /// does not bill per call has none (the default).
    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// Where a function sends its output for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Ingest's accepted events, for enrich.
    Ingested,
    /// Enriched behavioural events, for features.
    Enriched,
    /// Enriched consent changes, for consent.
    ConsentChanges,
}

/// Why publishing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publish failed: {0}")]
pub struct PublishError(pub String);

/// One message for [`Publisher::publish_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The ordering key.
    pub key: String,
    /// The payload.
    pub payload: Vec<u8>,
}

/// A stream or topic between functions. `key` orders messages (a profile's
/// messages stay in order where the platform supports ordering keys).
pub trait Publisher: Send + Sync {
    /// Publishes one message.
    fn publish(
        &self,
        topic: Topic,
        key: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;

    /// Publishes messages together, returning one result per message in
    /// order, so a caller acts on exactly the messages that failed. The
    /// default publishes one at a time; platforms with a batch call
    /// (Kinesis `PutRecords`) override it. Messages with the same key keep
    /// their order only when they all succeed; a caller retries a failed
    /// message's record, and steps are idempotent per event.
    fn publish_all(
        &self,
        topic: Topic,
        messages: Vec<Message>,
    ) -> impl Future<Output = Vec<Result<(), PublishError>>> + Send {
        async move {
            let mut results = Vec::with_capacity(messages.len());
            for m in messages {
                results.push(self.publish(topic, &m.key, m.payload).await);
            }
            results
        }
    }

    /// The units the platform's stream bills publishing by, since the last
    /// call, by unit name (such as `kinesis_ingest_bytes`, each record
    /// rounded as the stream bills it); none where publishing is not billed
    /// per message.
    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// Publishes one message through [`Publisher::publish_all`]: `publish`
/// for a publisher whose batch call is its only way out.
///
/// # Errors
/// The message was not published, or no result came back for it.
pub async fn publish_one<P: Publisher + ?Sized>(
    publisher: &P,
    topic: Topic,
    key: &str,
    payload: Vec<u8>,
) -> Result<(), PublishError> {
    let message = Message {
        key: key.to_owned(),
        payload,
    };
    publisher
        .publish_all(topic, vec![message])
        .await
        .pop()
        .unwrap_or_else(|| Err(PublishError("no result".into())))
}

/// The distinct keys of a batched read of `keys`, in chunks of at most
/// `per_call`: what a store whose batch call takes each key once asks for.
#[must_use]
pub fn distinct_chunks(keys: &[String], per_call: usize) -> Vec<Vec<&str>> {
    let mut distinct: Vec<&str> = keys.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
        .chunks(per_call.max(1))
        .map(<[&str]>::to_vec)
        .collect()
}

/// A batched read's answer for [`Store::get_many`]: `keys` in order,
/// repeats and gaps included, from the items `found` by key, each kept only
/// if `live` keeps it.
pub fn in_order(
    keys: &[String],
    found: &std::collections::HashMap<String, Item>,
    live: impl Fn(Item) -> Option<Item>,
) -> Vec<Option<Item>> {
    keys.iter()
        .map(|k| found.get(k).cloned().and_then(&live))
        .collect()
}

/// The time, from the platform.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// A store whose items expire by a clock it is given. The runtime gives
/// every store the functions' own clock when it builds them, so what a
/// replay writes expires by the replayed time, as the functions measure
/// it, and never by another clock.
pub trait Expiring: Store {
    /// This store, deciding what has expired by `clock`.
    #[must_use]
    fn expiring_by(self, clock: std::sync::Arc<dyn Clock>) -> Self;
}

/// Waiting, from the platform's async runtime. The core has no runtime of
/// its own, so a function that bounds a call's latency asks for one here.
pub trait Timer: Send + Sync {
    /// Completes once `duration` has passed.
    fn sleep(&self, duration: std::time::Duration) -> impl Future<Output = ()> + Send;
}

/// `work`'s output, or `None` if `deadline` completes first (`work` is then
/// dropped, which cancels it).
pub async fn within<T>(
    deadline: impl Future<Output = ()>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let mut work = std::pin::pin!(work);
    let mut deadline = std::pin::pin!(deadline);
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(out) = work.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(out));
        }
        deadline.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// A [`Store`] that counts what passes through it, for the invocation report.
#[derive(Debug, Default)]
pub struct Metered<S> {
    inner: S,
    reads: std::sync::atomic::AtomicU64,
    writes: std::sync::atomic::AtomicU64,
    write_bytes: std::sync::atomic::AtomicU64,
}

/// Counts taken from a [`Metered`] store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meter {
    /// Items read.
    pub reads: u64,
    /// Items written or deleted.
    pub writes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// The units the store bills by ([`Store::take_billed`]).
    pub billed: Vec<(&'static str, u64)>,
}

impl<S: Store> Metered<S> {
    /// The counts so far, and the units the store billed, resetting them.
    pub fn take(&self) -> Meter {
        use std::sync::atomic::Ordering::Relaxed;
        Meter {
            reads: self.reads.swap(0, Relaxed),
            writes: self.writes.swap(0, Relaxed),
            write_bytes: self.write_bytes.swap(0, Relaxed),
            billed: self.inner.take_billed(),
        }
    }
}

impl<S> Metered<S> {
    /// Wraps `inner`.
    pub const fn new(inner: S) -> Self {
        Self {
            inner,
            reads: std::sync::atomic::AtomicU64::new(0),
            writes: std::sync::atomic::AtomicU64::new(0),
            write_bytes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The wrapped store.
    pub const fn inner(&self) -> &S {
        &self.inner
    }

    fn count_reads(&self, items: usize) {
        self.reads
            .fetch_add(items as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

impl<S: Store> Store for Metered<S> {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        self.count_reads(1);
        self.inner.get(table, key).await
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        self.count_reads(keys.len());
        self.inner.get_many(table, keys).await
    }

    async fn get_many_eventual(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        self.count_reads(keys.len());
        self.inner.get_many_eventual(table, keys).await
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
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.write_bytes
            .fetch_add(value.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.inner
            .put(table, key, value, expires_at, precondition)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.delete(table, key).await
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        self.inner.take_billed()
    }
}

impl StoreError {
    /// `TooLarge` for a value over [`MAX_ITEM_BYTES`]: the check every
    /// store makes before a write reaches its database.
    ///
    /// # Errors
    /// `TooLarge` with the value's size.
    pub const fn check_size(table: Table, value: &[u8]) -> Result<(), Self> {
        if value.len() > MAX_ITEM_BYTES {
            return Err(Self::TooLarge {
                table,
                bytes: value.len(),
            });
        }
        Ok(())
    }

    /// What a record whose processing hit this error becomes: transient
    /// failures are retried; unreadable state is set aside for inspection.
    #[must_use]
    pub const fn disposition(&self) -> crate::disposition::Disposition {
        match self {
            Self::Conflict { .. } | Self::Unavailable(_) => crate::disposition::Disposition::Retry,
            Self::Corrupt(_) => crate::disposition::Disposition::DeadLettered {
                reason: crate::disposition::DeadLetterReason::CorruptState,
            },
            Self::TooLarge { .. } => crate::disposition::Disposition::DeadLettered {
                reason: crate::disposition::DeadLetterReason::ItemTooLarge,
            },
        }
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}
