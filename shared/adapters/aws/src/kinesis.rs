//! The core's [`Publisher`] on Kinesis Data Streams.
//!
//! Messages go out with `PutRecords` (up to 500 records and 5 MiB per
//! call), partition key = the message key (the profile or person), so one
//! profile's messages land on one shard. `PutRecords` can fail for some
//! entries and not others: only those are sent again, with backoff, and
//! what still fails after the last round is reported per message, so the
//! caller retries exactly those records. Retried entries may land after
//! later ones; the steps downstream give the same state in any order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use tailor_core::ports::{Message, PublishError, Publisher, Topic, publish_one};
use tailor_runtime::cost::billing;

use crate::deadline::Deadline;

/// Records per `PutRecords` call (Kinesis's limit).
const MAX_RECORDS: usize = 500;
/// Bytes per `PutRecords` call (Kinesis's limit: data and keys).
const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Kinesis's limit on a partition key, in Unicode characters.
const MAX_KEY_CHARS: usize = 256;

/// Kinesis streams behind the core's publisher port.
#[derive(Debug)]
pub struct KinesisPublisher {
    client: Client,
    streams: BTreeMap<Topic, String>,
    deadline: Arc<Deadline>,
    rounds: u32,
    /// Data-In since the last report, as on-demand bills it.
    ingest_bytes: AtomicU64,
}

/// A partition key Kinesis accepts: non-empty, at most 256 characters
/// (longer keys are cut, which keeps them deterministic).
fn partition_key(key: &str) -> String {
    if key.is_empty() {
        return "-".to_owned();
    }
    key.chars().take(MAX_KEY_CHARS).collect()
}

impl KinesisPublisher {
    /// A publisher sending each topic to its stream (by name), trying each
    /// entry up to `rounds` times.
    #[must_use]
    pub fn new(
        client: Client,
        streams: BTreeMap<Topic, String>,
        deadline: Arc<Deadline>,
        rounds: u32,
    ) -> Self {
        Self {
            client,
            streams,
            deadline,
            rounds: rounds.max(1),
            ingest_bytes: AtomicU64::new(0),
        }
    }

    /// Sends `entries` (indices into the caller's messages), returning each
    /// one's result.
    async fn put_chunk(
        &self,
        stream: &str,
        entries: Vec<(usize, PutRecordsRequestEntry)>,
        results: &mut [Option<Result<(), PublishError>>],
    ) {
        let mut pending = entries;
        let mut last_error: BTreeMap<usize, String> = BTreeMap::new();
        for round in 0..self.rounds {
            if pending.is_empty() {
                return;
            }
            if round > 0 {
                let backoff = Duration::from_millis(50 << round.min(5));
                if self
                    .deadline
                    .run(tokio::time::sleep(backoff))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            let request = self
                .client
                .put_records()
                .stream_name(stream)
                .set_records(Some(pending.iter().map(|(_, e)| e.clone()).collect()));
            let out = match self.deadline.run(request.send()).await {
                Err(spent) => {
                    for (i, _) in &pending {
                        last_error.insert(*i, spent.to_string());
                    }
                    break;
                }
                Ok(Err(e)) => {
                    let detail = aws_sdk_kinesis::error::DisplayErrorContext(&e).to_string();
                    for (i, _) in &pending {
                        last_error.insert(*i, detail.clone());
                    }
                    continue;
                }
                Ok(Ok(out)) => out,
            };
            let mut failed = Vec::new();
            for ((i, entry), result) in pending.into_iter().zip(out.records()) {
                match result.error_code() {
                    None => {
                        // What on-demand Data-In bills: the record up to
                        // the next KiB.
                        let size =
                            entry.data().as_ref().len() + entry.partition_key().map_or(0, str::len);
                        self.ingest_bytes.fetch_add(
                            billing::kinesis::ingest_bytes(u64::try_from(size).unwrap_or(u64::MAX)),
                            Ordering::Relaxed,
                        );
                        results[i] = Some(Ok(()));
                    }
                    Some(code) => {
                        last_error.insert(
                            i,
                            format!("{code}: {}", result.error_message().unwrap_or("")),
                        );
                        failed.push((i, entry));
                    }
                }
            }
            pending = failed;
        }
        for (i, _) in pending {
            let why = last_error.remove(&i).unwrap_or_else(|| "not sent".into());
            results[i] = Some(Err(PublishError(format!("{stream}: {why}"))));
        }
    }
}

impl Publisher for KinesisPublisher {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        publish_one(self, topic, key, payload).await
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        match self.ingest_bytes.swap(0, Ordering::Relaxed) {
            0 => Vec::new(),
            n => vec![(billing::kinesis::INGEST_BYTES, n)],
        }
    }

    async fn publish_all(
        &self,
        topic: Topic,
        messages: Vec<Message>,
    ) -> Vec<Result<(), PublishError>> {
        let Some(stream) = self.streams.get(&topic) else {
            let missing = PublishError(format!("no stream configured for {topic:?}"));
            return messages.iter().map(|_| Err(missing.clone())).collect();
        };
        let mut results: Vec<Option<Result<(), PublishError>>> = vec![None; messages.len()];
        let mut chunk = Vec::new();
        let mut bytes = 0;
        for (i, m) in messages.into_iter().enumerate() {
            let key = partition_key(&m.key);
            let size = key.len() + m.payload.len();
            if !chunk.is_empty() && (chunk.len() == MAX_RECORDS || bytes + size > MAX_BYTES) {
                self.put_chunk(stream, std::mem::take(&mut chunk), &mut results)
                    .await;
                bytes = 0;
            }
            let entry = PutRecordsRequestEntry::builder()
                .partition_key(key)
                .data(Blob::new(m.payload))
                .build();
            match entry {
                Ok(entry) => {
                    bytes += size;
                    chunk.push((i, entry));
                }
                Err(e) => results[i] = Some(Err(PublishError(e.to_string()))),
            }
        }
        if !chunk.is_empty() {
            self.put_chunk(stream, chunk, &mut results).await;
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(PublishError("not sent".into()))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys_are_never_empty_or_too_long() {
        assert_eq!(partition_key(""), "-");
        assert_eq!(partition_key("p-1"), "p-1");
        let long = "é".repeat(300);
        assert_eq!(partition_key(&long).chars().count(), 256);
        assert_eq!(partition_key(&long), partition_key(&long));
    }
}
