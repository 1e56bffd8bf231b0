//! How each cloud's store and stream count what they bill, per call: the
//! formulas the cloud adapters count with, and which the local platform
//! applies to its own calls to tell what a run would have billed on each
//! cloud ([`CloudUnits`]).
//!
//! | service | a read | a write | a delete |
//! | --- | --- | --- | --- |
//! | DynamoDB on-demand, strongly consistent reads | one read unit per 4 KB of the item, at least one (also for a missing item) | one write unit per 1 KB of the item written, at least one | one write unit |
//! | Firestore | one document read per document asked for | one document write | one document delete |
//!
//! A batch read counts each distinct key once, as the stores ask for each
//! once. Streams bill by bytes: Kinesis rounds each record up to the next
//! KiB ([`kinesis`]), Pub/Sub bills each publish at least 1,000 bytes
//! ([`pubsub`]). Which platform's bill a unit is on, and the price item it
//! is priced as, are the rules' ([`crate::rules`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Keys a batched read asks for in one call (DynamoDB's `BatchGetItem`
/// limit, and the stores' batch size).
pub const BATCH_GET: usize = 100;

/// DynamoDB's billing, for the item layout the DynamoDB store writes.
pub mod dynamodb {
    /// The report's name for read request units (strongly consistent, 4 KB each).
    pub const READ_UNITS: &str = "dynamodb_read_units";
    /// The report's name for write request units (1 KB each).
    pub const WRITE_UNITS: &str = "dynamodb_write_units";

    /// The attribute names of an item as the DynamoDB store lays it out:
    /// `pk` (the key), `value`, `version`, `ttl`, `expires_ms`.
    pub const ATTRIBUTES: [&str; 5] = ["pk", "value", "version", "ttl", "expires_ms"];

    /// The size DynamoDB counts a number at, at most.
    const NUMBER: usize = 21;

    /// An item's size as DynamoDB counts it: attribute names plus values,
    /// the three numbers (`version`, `ttl`, `expires_ms`) at their largest
    /// encoding.
    #[must_use]
    pub const fn item_size(key_len: usize, value_len: usize) -> usize {
        let mut names = 0;
        let mut i = 0;
        while i < ATTRIBUTES.len() {
            names += ATTRIBUTES[i].len();
            i += 1;
        }
        names + key_len + value_len + 3 * NUMBER
    }

    /// Read units for a strongly consistent read of an item of `size` bytes.
    #[must_use]
    pub const fn read_units(size: usize) -> u64 {
        let units = (size as u64).div_ceil(4_096);
        if units == 0 { 1 } else { units }
    }

    /// Write units for writing an item of `size` bytes.
    #[must_use]
    pub const fn write_units(size: usize) -> u64 {
        let units = (size as u64).div_ceil(1_024);
        if units == 0 { 1 } else { units }
    }
}

/// Firestore's billing.
pub mod firestore {
    /// The report's name for document reads.
    pub const READS: &str = "firestore_document_reads";
    /// The report's name for document writes.
    pub const WRITES: &str = "firestore_document_writes";
    /// The report's name for document deletes.
    pub const DELETES: &str = "firestore_document_deletes";
}

/// Kinesis on-demand's billing.
pub mod kinesis {
    /// The report's name for ingest bytes, each record rounded up
    /// ([`ingest_bytes`]).
    pub const INGEST_BYTES: &str = "kinesis_ingest_bytes";

    /// What a record put of `bytes` is billed as: up to the next kilobyte.
    #[must_use]
    pub const fn ingest_bytes(bytes: u64) -> u64 {
        bytes.div_ceil(1_024) * 1_024
    }
}

/// Amazon Data Firehose's billing, for the offline log it delivers.
pub mod firehose {
    /// What a record of `bytes` taken in is billed as: up to the next
    /// 5 KB (a 3 KB record bills 5 KB, a 12 KB one 15 KB), record by
    /// record, not call by call.
    #[must_use]
    pub const fn ingest_bytes(bytes: u64) -> u64 {
        bytes.div_ceil(5 * 1_024) * 5 * 1_024
    }
}

/// Pub/Sub's billing.
pub mod pubsub {
    /// The report's name for publish bytes, each request at least 1,000
    /// ([`billable_bytes`]).
    pub const PUBLISH_BYTES: &str = "pubsub_publish_bytes";

    /// What a publish request or a push delivery of `bytes` is billed as:
    /// at least 1,000 bytes.
    #[must_use]
    pub const fn billable_bytes(bytes: u64) -> u64 {
        if bytes < 1_000 { 1_000 } else { bytes }
    }
}

/// What a run's store and stream calls would have billed on each cloud,
/// counted as the cloud adapters count them.
#[derive(Debug, Default)]
pub struct CloudUnits {
    dynamodb_reads: AtomicU64,
    dynamodb_writes: AtomicU64,
    firestore_reads: AtomicU64,
    firestore_writes: AtomicU64,
    firestore_deletes: AtomicU64,
    kinesis_bytes: AtomicU64,
    pubsub_bytes: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The keys read, each once, in key order, with the size of each value found.
fn distinct<'a>(
    found: impl IntoIterator<Item = (&'a str, Option<usize>)>,
) -> Vec<(&'a str, Option<usize>)> {
    found
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect()
}

/// A strongly consistent DynamoDB read of `key`: by the item's size when
/// found, one unit when missing.
fn read_units_of(key: &str, value_len: Option<usize>) -> u64 {
    value_len.map_or(1, |len| {
        dynamodb::read_units(dynamodb::item_size(key.len(), len))
    })
}

impl CloudUnits {
    /// Reads of `key`s, each distinct key once, with the size of each value
    /// found (`None` for a missing one).
    pub fn read<'a>(&self, found: impl IntoIterator<Item = (&'a str, Option<usize>)>) {
        for (key, value_len) in distinct(found) {
            add(&self.dynamodb_reads, read_units_of(key, value_len));
            add(&self.firestore_reads, 1);
        }
    }

    /// The same reads made eventually consistent, as a batched read of
    /// [`BATCH_GET`] distinct keys a call (in key order): DynamoDB bills each
    /// call half its strongly consistent units, rounded up; Firestore the
    /// same document reads.
    pub fn read_eventual<'a>(&self, found: impl IntoIterator<Item = (&'a str, Option<usize>)>) {
        for call in distinct(found).chunks(BATCH_GET) {
            let units: u64 = call
                .iter()
                .map(|(key, value_len)| read_units_of(key, *value_len))
                .sum();
            add(&self.dynamodb_reads, units.div_ceil(2));
            add(&self.firestore_reads, call.len() as u64);
        }
    }

    /// A write of `value_len` bytes at `key`.
    pub fn write(&self, key: &str, value_len: usize) {
        add(
            &self.dynamodb_writes,
            dynamodb::write_units(dynamodb::item_size(key.len(), value_len)),
        );
        add(&self.firestore_writes, 1);
    }

    /// A delete.
    pub fn delete(&self) {
        add(&self.dynamodb_writes, 1);
        add(&self.firestore_deletes, 1);
    }

    /// A put-if-absent that found an item in the way: Firestore reads it,
    /// and writes again over it when it has expired (DynamoDB decides in
    /// the one conditional write).
    pub fn absent_found(&self, expired: bool) {
        add(&self.firestore_reads, 1);
        if expired {
            add(&self.firestore_writes, 1);
        }
    }

    /// A message of `payload_len` bytes under a key of `key_len` published
    /// for the next function, as its own record (Kinesis) or publish
    /// request (Pub/Sub).
    pub fn publish(&self, payload_len: usize, key_len: usize) {
        let bytes = (payload_len + key_len) as u64;
        add(&self.kinesis_bytes, kinesis::ingest_bytes(bytes));
        add(&self.pubsub_bytes, pubsub::billable_bytes(bytes));
    }

    /// The units counted since the last call, by the report's unit names,
    /// resetting them; units at zero are left out.
    pub fn take(&self) -> Vec<(&'static str, u64)> {
        [
            (dynamodb::READ_UNITS, &self.dynamodb_reads),
            (dynamodb::WRITE_UNITS, &self.dynamodb_writes),
            (firestore::READS, &self.firestore_reads),
            (firestore::WRITES, &self.firestore_writes),
            (firestore::DELETES, &self.firestore_deletes),
            (kinesis::INGEST_BYTES, &self.kinesis_bytes),
            (pubsub::PUBLISH_BYTES, &self.pubsub_bytes),
        ]
        .into_iter()
        .map(|(unit, counter)| (unit, counter.swap(0, Ordering::Relaxed)))
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_units_round_up_per_item() {
        assert_eq!(dynamodb::read_units(1), 1);
        assert_eq!(dynamodb::read_units(4_096), 1);
        assert_eq!(dynamodb::read_units(4_097), 2);
        assert_eq!(dynamodb::write_units(1_024), 1);
        assert_eq!(dynamodb::write_units(1_025), 2);
        assert_eq!(dynamodb::write_units(0), 1);
        // "pk" "value" "version" "ttl" "expires_ms": 27 bytes of names,
        // three numbers at 21.
        assert_eq!(dynamodb::item_size(0, 0), 27 + 63);
        assert_eq!(dynamodb::item_size(10, 1_000), 27 + 63 + 1_010);
    }

    #[test]
    fn firehose_bills_each_record_up_to_the_next_5_kb() {
        assert_eq!(firehose::ingest_bytes(1), 5_120);
        assert_eq!(firehose::ingest_bytes(3 * 1_024), 5_120);
        assert_eq!(firehose::ingest_bytes(5_120), 5_120);
        assert_eq!(firehose::ingest_bytes(12 * 1_024), 15_360);
    }

    #[test]
    fn each_cloud_counts_a_run_as_its_store_would() {
        let units = CloudUnits::default();
        // A missing key, a 5,000-byte item, and the same key again.
        units.read([("a", None), ("b", Some(5_000)), ("b", Some(5_000))]);
        units.write("c", 2_000);
        units.delete();
        units.absent_found(false);
        units.absent_found(true);
        units.publish(1_490, 10);
        units.publish(6, 4);
        let taken: std::collections::BTreeMap<_, _> = units.take().into_iter().collect();
        // 1 for the missing key; b is 5,000 + 1 + 90 = 5,091 bytes: 2 units.
        assert_eq!(taken[dynamodb::READ_UNITS], 3);
        // c is 2,091 bytes: 3 units; the delete 1.
        assert_eq!(taken[dynamodb::WRITE_UNITS], 4);
        // Two keys read, and two put-if-absent found an item.
        assert_eq!(taken[firestore::READS], 4);
        // One write, and one over an expired item.
        assert_eq!(taken[firestore::WRITES], 2);
        assert_eq!(taken[firestore::DELETES], 1);
        assert_eq!(taken[kinesis::INGEST_BYTES], 2_048 + 1_024);
        assert_eq!(taken[pubsub::PUBLISH_BYTES], 1_500 + 1_000);
        assert!(units.take().is_empty(), "taking resets");
    }

    #[test]
    fn an_eventually_consistent_read_bills_half_per_call_rounded_up() {
        let units = CloudUnits::default();
        // Strongly consistent: 1 + 2 + 1 = 4 units; eventually: 2.
        units.read_eventual([("a", None), ("b", Some(5_000)), ("c", Some(10))]);
        // 150 missing keys: two calls of 100 and 50 keys, 50 + 25 units.
        let keys: Vec<String> = (0..150).map(|i| format!("k{i:03}")).collect();
        units.read_eventual(keys.iter().map(|k| (k.as_str(), None)));
        let taken: std::collections::BTreeMap<_, _> = units.take().into_iter().collect();
        assert_eq!(taken[dynamodb::READ_UNITS], 2 + 75);
        assert_eq!(taken[firestore::READS], 3 + 150);
    }
}
