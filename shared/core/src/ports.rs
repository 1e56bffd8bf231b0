//! The ports: what a function needs from its platform, kept small enough that
//! every platform can offer it.
//!
//! Core steps are pure. A function crate loads state through these traits,
//! runs the step, and applies the step's changes through them again. Each
//! platform implements them: the embedded local store, DynamoDB, Firestore,
//! Spin key-value.
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
    /// Consent ledger entries, one item per key.
    Consent,
    /// Append-only audit records (identity merges and unmerges, consent propagation).
    Audit,
    /// Records set aside with their reason.
    DeadLetters,
    /// Erasure tombstones, which keep late data about an erased person out.
    Tombstones,
}

impl Table {
    /// Every table.
    pub const ALL: [Self; 8] = [
        Self::Dedup,
        Self::Identity,
        Self::FeatureInputs,
        Self::Features,
        Self::Consent,
        Self::Audit,
        Self::DeadLetters,
        Self::Tombstones,
    ];

    /// The table's name, also the name of its retention entry in policy.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dedup => "dedup",
            Self::Identity => "identity",
            Self::FeatureInputs => "feature_inputs",
            Self::Features => "features",
            Self::Consent => "consent",
            Self::Audit => "audit",
            Self::DeadLetters => "dead_letters",
            Self::Tombstones => "tombstones",
        }
    }

    /// The policy store whose retention applies.
    #[must_use]
    pub const fn retention_store(self) -> &'static str {
        match self {
            Self::FeatureInputs => "features",
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
}

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
}

/// The time, from the platform.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}
