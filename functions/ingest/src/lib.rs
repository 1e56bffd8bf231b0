//! The ingest function: decode, validate, normalize, minimize, gate on
//! consent, de-duplicate, tag lateness and route each record of a batch.
//!
//! [`handle`] is the whole function as a plain async fn over the core's
//! ports; each platform's entry point only adapts its transport to
//! [`Record`]s and the returned dispositions back to its own terms.
//!
//! De-duplication costs one batched, eventually consistent read and one
//! put-if-absent per new event.
//! New events are published in one batch call, and each event's ledger
//! entry is written only after its message is out: a crash in between
//! redelivers it, and downstream steps are idempotent per event id, so
//! nothing is lost and nothing is applied twice.

use std::collections::BTreeMap;

use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Invocation, Record};
use tailor_core::dead_letter;
use tailor_core::disposition::Disposition;
use tailor_core::ingest::{IngestError, Ingested, Ingestor, LedgerMark, content_digest, dedup_key};
use tailor_core::ports::{
    Message, Metered, Precondition, Publisher, Store, StoreError, Table, Topic,
};
use tailor_core::tables::Tables;
use tracing::{debug, warn};

/// The function's name in reports, dead letters and logs.
pub const NAME: &str = "ingest";

/// Everything the function needs, created once per process.
#[derive(Debug)]
pub struct Ingest<'a, S, P> {
    /// The configured ingest step.
    pub ingestor: &'a Ingestor<'a>,
    /// The tables, with the policy (for retention) and the tokenization key.
    pub tables: Tables<'a, Metered<S>>,
    /// The stream to enrich.
    pub publisher: &'a P,
    /// When the invocation runs, by the clock the store expires items by.
    /// A ledger entry is kept its retention from then (or from the event's
    /// receipt, if later): a replay receives each record at its own old
    /// time, and an entry anchored there could expire as it is written.
    pub now: Timestamp,
}

/// The partition key for an event: its user id, else its anonymous id, so
/// one person's events stay in order where the platform orders by key.
fn partition_key(ingested: &Ingested) -> String {
    let s = &ingested.event.subject;
    s.user_id
        .clone()
        .or_else(|| s.anonymous_id.clone())
        .unwrap_or_default()
}

impl<S: Store, P: Publisher> Ingest<'_, S, P> {
    /// Processes one batch; every record gets exactly one disposition.
    ///
    /// New events are published together, in input order, and each one's
    /// ledger entry is written only once its message is out: a record whose
    /// message failed is retried, the rest are not held back by it.
    pub async fn handle(&self, records: &[Record]) -> BatchOutcome {
        let mut invocation = Invocation::begin(NAME, records);
        let prepared: Vec<Result<(Ingested, String, String), IngestError>> = records
            .iter()
            .map(|r| {
                self.ingestor.prepare_record(r).map(|i| {
                    let key = dedup_key(&i.event);
                    let digest = content_digest(&i.event);
                    (i, key, digest)
                })
            })
            .collect();
        let keys: Vec<String> = prepared
            .iter()
            .flatten()
            .map(|(_, key, _)| key.clone())
            .collect();
        // Per key: absent, or the mark of the event already accepted under it.
        // An eventually consistent read: a mark written moments ago may be
        // missed, and then the event is published again, but the
        // put-if-absent after publishing refuses its ledger entry, so the
        // record is acknowledged as a repeat, and the message downstream is
        // one more delivery of an event id the later steps apply once, as
        // when two deliveries race. A new event is never taken for a repeat:
        // a mark can only be read once written.
        let seen = match self
            .tables
            .store()
            .get_many_eventual(Table::Dedup, &keys)
            .await
        {
            Ok(items) => items
                .into_iter()
                .map(|i| i.map(|i| LedgerMark::read(&i.value).and_then(|m| m.digest)))
                .collect::<Vec<_>>(),
            Err(e) => {
                warn!(step = NAME, error = %e, "dedup ledger unavailable; valid records will be retried");
                Vec::new()
            }
        };
        let ledger_ok = seen.len() == keys.len();

        let mut dispositions: Vec<Option<Disposition>> = vec![None; records.len()];
        let mut new = Vec::new();
        let mut messages = Vec::new();
        let mut in_batch: BTreeMap<String, String> = BTreeMap::new();
        let mut seen_iter = seen.into_iter();
        for (i, (record, prepared)) in records.iter().zip(prepared).enumerate() {
            let prepared = prepared.and_then(|(ingested, key, digest)| {
                let before = seen_iter.next().flatten();
                let earlier = in_batch.get(&key).map(|d| Some(d.clone()));
                match before.or(earlier) {
                    // A mark without a digest predates digests: a repeat.
                    Some(Some(d)) if d != digest => Err(IngestError::EventIdReused {
                        event_id: ingested.event.event_id.clone(),
                    }),
                    Some(_) => Ok((ingested, key, digest, true)),
                    None => Ok((ingested, key, digest, false)),
                }
            });
            match prepared {
                Err(error) => {
                    if let IngestError::ConsentDenied { decision, .. }
                    | IngestError::NoDestination { decision, .. } = &error
                    {
                        invocation.report().count_block(decision);
                    }
                    dispositions[i] = Some(self.reject(record, &error).await);
                }
                Ok((ingested, key, digest, already)) => {
                    if !ledger_ok {
                        dispositions[i] = Some(Disposition::Retry);
                    } else if already {
                        debug!(step = NAME, "duplicate delivery acknowledged");
                        dispositions[i] = Some(Disposition::DUPLICATE);
                    } else if let Ok(payload) = serde_json::to_vec(&ingested) {
                        in_batch.insert(key.clone(), digest.clone());
                        messages.push(Message {
                            key: partition_key(&ingested),
                            payload,
                        });
                        new.push((i, ingested, key, digest));
                    } else {
                        dispositions[i] = Some(Disposition::Retry);
                    }
                }
            }
        }

        let sizes: Vec<u64> = messages.iter().map(|m| m.payload.len() as u64).collect();
        let published = self.publisher.publish_all(Topic::Ingested, messages).await;
        for (((i, ingested, key, digest), result), bytes) in
            new.into_iter().zip(published).zip(sizes)
        {
            dispositions[i] = Some(match result {
                Ok(()) => {
                    let report = invocation.report();
                    report.records_out += 1;
                    report.bytes_out += bytes;
                    self.remember(&ingested, &key, digest).await
                }
                Err(e) => {
                    warn!(step = NAME, error = %e, "publish failed; record will be retried");
                    Disposition::Retry
                }
            });
        }
        for (record, disposition) in records.iter().zip(dispositions) {
            // Every record was given one above; a gap would be a bug, and retrying is safe.
            invocation.record(record, disposition.unwrap_or(Disposition::Retry));
        }
        invocation.finish(self.tables.store().take())
    }

    /// Writes the ledger entry of an event whose message is out.
    async fn remember(&self, ingested: &Ingested, key: &str, digest: String) -> Disposition {
        let mark = LedgerMark {
            received_at: ingested.received_at,
            digest: Some(digest),
        };
        let written = self
            .tables
            .save(
                Table::Dedup,
                key,
                &mark,
                ingested.received_at.max(self.now),
                Precondition::Absent,
            )
            .await;
        match written {
            Ok(_) => Disposition::ACCEPTED,
            // Another delivery of the same event won the race; it is applied once downstream.
            Err(StoreError::Conflict { .. }) => Disposition::DUPLICATE,
            Err(e) => e.disposition(),
        }
    }

    /// Removes the ledger entries of records this function accepted, so
    /// that a resend of each is processed again rather than acknowledged
    /// as a repeat: for a caller that was told a later step did not
    /// finish. An entry left by another event under the same id is kept.
    /// Safe because every later step is idempotent per event id.
    ///
    /// # Errors
    /// The store's error; the entries not yet removed stay.
    pub async fn forget(&self, records: &[Record]) -> Result<(), StoreError> {
        for record in records {
            let Ok(ingested) = self.ingestor.prepare(&record.bytes, record.received_at) else {
                continue;
            };
            let key = dedup_key(&ingested.event);
            let Some(item) = self.tables.store().get(Table::Dedup, &key).await? else {
                continue;
            };
            let digest = LedgerMark::read(&item.value).and_then(|m| m.digest);
            if digest.is_none_or(|d| d == content_digest(&ingested.event)) {
                self.tables.store().delete(Table::Dedup, &key).await?;
            }
        }
        Ok(())
    }

    async fn reject(&self, record: &Record, error: &IngestError) -> Disposition {
        // A consent denial keeps the minimized event, not what the person refused
        // to share; so does a record for a region with no approved destination.
        let minimized;
        let payload: &[u8] = match error {
            IngestError::ConsentDenied {
                minimized: event, ..
            }
            | IngestError::NoDestination {
                minimized: event, ..
            } => {
                minimized = serde_json::to_vec(event).unwrap_or_default();
                &minimized
            }
            _ => &record.bytes,
        };
        let reason = error.reason();
        debug!(step = NAME, reason = %reason, "record dead-lettered");
        let detail = error.to_string();
        // Residency first: a record whose region this deployment does not
        // hold (another's, unknown, misspelled) keeps nothing here but its
        // length and digest, whatever else is wrong with it.
        let held = !matches!(error, IngestError::OutOfRegion { .. })
            && self.ingestor.holds_region_of(&record.bytes);
        let letter = if !held {
            // The digest is of the record as it came, so a producer's copy
            // can be matched to it.
            dead_letter::DeadLetter::withheld(
                NAME,
                reason,
                &detail,
                &record.bytes,
                record.received_at,
            )
        } else {
            dead_letter::DeadLetter::new(NAME, reason, &detail, payload, record.received_at)
        };
        match self.tables.keep_dead_letter(letter, payload).await {
            Ok(reason) => Disposition::DeadLettered { reason },
            Err(e) => e.disposition(),
        }
    }
}
