//! The core's [`Store`] on DynamoDB: one table per [`Table`], named
//! `<prefix>-<table>`.
//!
//! Item layout: `pk` (S, the key), `value` (B), `version` (N), `ttl` (N,
//! epoch seconds: DynamoDB's TTL deletes the item some time after) and
//! `expires_ms` (N, the exact expiry). TTL deletion is lazy, so reads and
//! preconditions treat an item past `expires_ms` as absent, exactly as the
//! local store does.
//!
//! Writes are one `UpdateItem` each, with the precondition as a condition
//! expression (`Absent`: no live item; `Version(v)`: the live item is at
//! `v`), and the version incremented in the same call. Reads are strongly
//! consistent, so a function reads its own writes; `get_many` is
//! `BatchGetItem` in chunks of 100, with unprocessed keys retried, and
//! `get_many_eventual` the same read eventually consistent (billed at half).
//!
//! Capacity units are counted from item sizes as DynamoDB bills on-demand
//! tables: a strongly consistent read is one unit per 4 KB (at least one,
//! also for a missing item), an eventually consistent one half that (per
//! call, rounded up), a write one unit per 1 KB (at least one).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use tailor_core::Timestamp;
use tailor_core::ports::{
    Clock, Expiring, Item, Precondition, Store, StoreError, Table, distinct_chunks, in_order,
};
use tailor_runtime::cost::billing::BATCH_GET;
use tailor_runtime::cost::billing::dynamodb::{item_size, read_units, write_units};

use crate::config::table_name;
use crate::deadline::Deadline;

const PK: &str = "pk";
const VALUE: &str = "value";
const VERSION: &str = "version";
const TTL: &str = "ttl";
const EXPIRES: &str = "expires_ms";

/// Rounds of retrying unprocessed keys before the read counts as unavailable.
const UNPROCESSED_ROUNDS: u32 = 5;

/// Read and write capacity units consumed, counted from item sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capacity {
    /// Read capacity units (a strongly consistent read's; an eventually
    /// consistent one's at half).
    pub read_units: u64,
    /// Write capacity units.
    pub write_units: u64,
}

/// DynamoDB behind the core's store port.
pub struct DynamoStore {
    client: Client,
    prefix: String,
    deadline: Arc<Deadline>,
    clock: Arc<dyn Clock>,
    read_units: AtomicU64,
    write_units: AtomicU64,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable<E, R>(table: Table, e: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    // An item over DynamoDB's size limit fails the same way every time.
    if let Some(s) = e.as_service_error()
        && s.code() == Some("ValidationException")
        && s.message().is_some_and(|m| m.contains("size has exceeded"))
    {
        return StoreError::TooLarge { table, bytes: 0 };
    }
    let detail = e.as_service_error().map_or_else(
        || aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        |s| {
            format!(
                "{}: {}",
                s.code().unwrap_or("error"),
                s.message().unwrap_or("")
            )
        },
    );
    StoreError::Unavailable(format!("{}: {detail}", table.as_str()))
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("item without a numeric {name}")))
}

fn decode(item: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let value = item
        .get(VALUE)
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| StoreError::Corrupt("item without a binary value".into()))?
        .as_ref()
        .to_vec();
    let version = u64::try_from(number(item, VERSION)?)
        .map_err(|_| StoreError::Corrupt("negative version".into()))?;
    Ok(Item {
        value,
        version,
        expires_at: Timestamp::from_millis(number(item, EXPIRES)?),
    })
}

fn key_of(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), AttributeValue::S(key.to_owned()))])
}

impl DynamoStore {
    /// A store over the tables named `<prefix>-<table>`.
    #[must_use]
    pub fn new(client: Client, prefix: impl Into<String>, deadline: Arc<Deadline>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            deadline,
            clock: Arc::new(tailor_runtime::WallClock),
            read_units: AtomicU64::new(0),
            write_units: AtomicU64::new(0),
        }
    }

    /// Expires items by `clock` instead of the wall clock (replays of
    /// historical streams, tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The name of `table`.
    #[must_use]
    pub fn table_name(&self, table: Table) -> String {
        table_name(&self.prefix, table)
    }

    /// The capacity consumed so far, resetting the counts.
    pub fn take_capacity(&self) -> Capacity {
        Capacity {
            read_units: self.read_units.swap(0, Ordering::Relaxed),
            write_units: self.write_units.swap(0, Ordering::Relaxed),
        }
    }

    fn live(&self, item: Item) -> Option<Item> {
        (item.expires_at > self.clock.now()).then_some(item)
    }

    /// Every live item of `table` (a scan: for tests and audits, not for
    /// the functions' paths).
    ///
    /// # Errors
    /// The table cannot be read or holds an unreadable item.
    pub async fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(self.table_name(table))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable(table, &e))?;
            for item in page.items() {
                let key = item
                    .get(PK)
                    .and_then(|k| k.as_s().ok())
                    .ok_or_else(|| StoreError::Corrupt("item without a key".into()))?
                    .clone();
                if let Some(live) = self.live(decode(item)?) {
                    out.push((key, live));
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The items at `keys` (distinct, at most [`BATCH_GET`]), read
    /// strongly consistently or not, and the read units the call is billed:
    /// one per 4 KB of each item found and one per key missing, half that
    /// (rounded up) for an eventually consistent read.
    async fn batch_get(
        &self,
        table: Table,
        keys: &[&str],
        consistent: bool,
    ) -> Result<(HashMap<String, Item>, u64), StoreError> {
        let name = self.table_name(table);
        let mut found = HashMap::new();
        // One unit per key asked for; larger items add theirs as they arrive.
        let mut units = keys.len() as u64;
        let mut pending: Vec<HashMap<String, AttributeValue>> =
            keys.iter().map(|k| key_of(k)).collect();
        let mut round = 0;
        while !pending.is_empty() {
            if round > 0 {
                if round > UNPROCESSED_ROUNDS {
                    return Err(StoreError::Unavailable(format!(
                        "{}: keys still unprocessed after {UNPROCESSED_ROUNDS} retries",
                        table.as_str()
                    )));
                }
                let backoff = Duration::from_millis(25 << round.min(6));
                self.deadline.run(tokio::time::sleep(backoff)).await?;
            }
            round += 1;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(consistent)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let out = self
                .deadline
                .run(
                    self.client
                        .batch_get_item()
                        .request_items(&name, request)
                        .send(),
                )
                .await?
                .map_err(|e| unavailable(table, &e))?;
            for item in out
                .responses()
                .and_then(|r| r.get(&name))
                .into_iter()
                .flatten()
            {
                let key = item
                    .get(PK)
                    .and_then(|k| k.as_s().ok())
                    .ok_or_else(|| StoreError::Corrupt("item without a key".into()))?;
                let decoded = decode(item)?;
                units += read_units(item_size(key.len(), decoded.value.len())) - 1;
                found.insert(key.clone(), decoded);
            }
            if let Some(rest) = out.unprocessed_keys().and_then(|u| u.get(&name)) {
                pending = rest.keys().to_vec();
            }
        }
        Ok((found, if consistent { units } else { units.div_ceil(2) }))
    }

    /// `get_many`, strongly consistent or not.
    async fn read_many(
        &self,
        table: Table,
        keys: &[String],
        consistent: bool,
    ) -> Result<Vec<Option<Item>>, StoreError> {
        // BatchGetItem refuses repeated keys: each is asked for once.
        let mut found = HashMap::new();
        for chunk in distinct_chunks(keys, BATCH_GET) {
            let (items, units) = self.batch_get(table, &chunk, consistent).await?;
            self.read_units.fetch_add(units, Ordering::Relaxed);
            found.extend(items);
        }
        Ok(in_order(keys, &found, |i| self.live(i)))
    }
}

impl Expiring for DynamoStore {
    fn expiring_by(self, clock: Arc<dyn Clock>) -> Self {
        self.with_clock(clock)
    }
}

impl Store for DynamoStore {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .deadline
            .run(
                self.client
                    .get_item()
                    .table_name(self.table_name(table))
                    .set_key(Some(key_of(key)))
                    .consistent_read(true)
                    .send(),
            )
            .await?
            .map_err(|e| unavailable(table, &e))?;
        let Some(item) = out.item() else {
            self.read_units.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        };
        let item = decode(item)?;
        self.read_units.fetch_add(
            read_units(item_size(key.len(), item.value.len())),
            Ordering::Relaxed,
        );
        Ok(self.live(item))
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        self.read_many(table, keys, true).await
    }

    /// An eventually consistent `BatchGetItem`, billed at half.
    async fn get_many_eventual(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        self.read_many(table, keys, false).await
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        let size = item_size(key.len(), value.len());
        let now = self.clock.now().as_millis();
        let ttl = expires_at.as_millis().div_euclid(1000) + 1;
        let mut update = self
            .client
            .update_item()
            .table_name(self.table_name(table))
            .set_key(Some(key_of(key)))
            .update_expression(
                "SET #value = :value, #ttl = :ttl, #expires = :expires, \
                 #version = if_not_exists(#version, :zero) + :one",
            )
            .expression_attribute_names("#value", VALUE)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#expires", EXPIRES)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":value", AttributeValue::B(Blob::new(value)))
            .expression_attribute_values(":ttl", AttributeValue::N(ttl.to_string()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(expires_at.as_millis().to_string()),
            )
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::UpdatedNew);
        update = match precondition {
            Precondition::None => update,
            Precondition::Absent => update
                .condition_expression("attribute_not_exists(#pk) OR #expires <= :now")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":now", AttributeValue::N(now.to_string())),
            Precondition::Version(v) => update
                .condition_expression("#version = :expected AND #expires > :now")
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string()))
                .expression_attribute_values(":now", AttributeValue::N(now.to_string())),
        };
        self.write_units
            .fetch_add(write_units(size), Ordering::Relaxed);
        let out = match self.deadline.run(update.send()).await? {
            Ok(out) => out,
            Err(e) => {
                if e.as_service_error()
                    .is_some_and(aws_sdk_dynamodb::operation::update_item::UpdateItemError::is_conditional_check_failed_exception)
                {
                    return Err(StoreError::Conflict { table });
                }
                return Err(unavailable(table, &e));
            }
        };
        let version = out
            .attributes()
            .map(|a| number(a, VERSION))
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt("write returned no version".into()))?;
        u64::try_from(version).map_err(|_| StoreError::Corrupt("negative version".into()))
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        self.write_units.fetch_add(1, Ordering::Relaxed);
        self.deadline
            .run(
                self.client
                    .delete_item()
                    .table_name(self.table_name(table))
                    .set_key(Some(key_of(key)))
                    .send(),
            )
            .await?
            .map_err(|e| unavailable(table, &e))?;
        Ok(())
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        let used = self.take_capacity();
        [
            (READ_UNITS, used.read_units),
            (WRITE_UNITS, used.write_units),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

pub use tailor_runtime::cost::billing::dynamodb::{READ_UNITS, WRITE_UNITS};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_sized_by_the_layout_this_store_writes() {
        // The unit formula counts these attribute names: they must be the
        // ones written.
        assert_eq!(
            tailor_runtime::cost::billing::dynamodb::ATTRIBUTES,
            [PK, VALUE, VERSION, TTL, EXPIRES]
        );
        assert_eq!(
            item_size(3, 100),
            PK.len() + VALUE.len() + VERSION.len() + TTL.len() + EXPIRES.len() + 3 * 21 + 103
        );
        assert_eq!(read_units(item_size(0, 4_096)), 2);
    }
}
