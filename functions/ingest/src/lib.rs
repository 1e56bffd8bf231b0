//! The ingest function: decode, validate, normalize, minimize, gate on
//! consent, de-duplicate, tag lateness and route each record of a batch.
//!
//! [`handle`] is the whole function as a plain async fn over the core's
//! ports; each platform's entry point only adapts its transport to
//! [`Record`]s and the returned dispositions back to its own terms.
//!
//! De-duplication costs one batched read and one put-if-absent per new event.
//! The event is published before its ledger entry is written: a crash in
//! between redelivers it, and downstream steps are idempotent per event id,
//! so nothing is lost and nothing is applied twice.

use std::collections::BTreeSet;

use tailor_core::batch::{BatchOutcome, Invocation, Record};
use tailor_core::disposition::Disposition;
use tailor_core::ingest::{IngestError, Ingested, Ingestor, dedup_key};
use tailor_core::policy::Policy;
use tailor_core::ports::{Metered, Precondition, Publisher, Store, StoreError, Table, Topic};
use tailor_core::report::InvocationReport;
use tailor_core::state;
use tracing::{debug, warn};

/// The function's name in reports, dead letters and logs.
pub const NAME: &str = "ingest";

/// Everything the function needs, created once per process.
#[derive(Debug)]
pub struct Ingest<'a, S, P> {
    /// The configured ingest step.
    pub ingestor: &'a Ingestor<'a>,
    /// The policy bundle (for retention).
    pub policy: &'a Policy,
    /// State.
    pub store: &'a Metered<S>,
    /// The stream to enrich.
    pub publisher: &'a P,
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
    pub async fn handle(&self, records: &[Record]) -> BatchOutcome {
        let mut invocation = Invocation::begin(NAME, records);
        let prepared: Vec<Result<Ingested, IngestError>> = records
            .iter()
            .map(|r| self.ingestor.prepare(&r.bytes, r.received_at))
            .collect();
        let keys: Vec<String> = prepared
            .iter()
            .flatten()
            .map(|i| dedup_key(&i.event))
            .collect();
        let seen = match self.store.get_many(Table::Dedup, &keys).await {
            Ok(items) => items.into_iter().map(|i| i.is_some()).collect::<Vec<_>>(),
            Err(e) => {
                warn!(step = NAME, error = %e, "dedup ledger unavailable; valid records will be retried");
                Vec::new()
            }
        };
        let ledger_ok = seen.len() == keys.len();

        let mut in_batch = BTreeSet::new();
        let mut seen_iter = seen.into_iter();
        for (record, prepared) in records.iter().zip(prepared) {
            let disposition = match prepared {
                Err(error) => {
                    if let IngestError::ConsentDenied { decision, .. }
                    | IngestError::NoDestination { decision, .. } = &error
                    {
                        invocation.report().count_block(decision);
                    }
                    self.reject(record, &error).await
                }
                Ok(ingested) => {
                    let already = seen_iter.next().unwrap_or(false);
                    if !ledger_ok {
                        Disposition::Retry
                    } else if already || !in_batch.insert(dedup_key(&ingested.event)) {
                        debug!(step = NAME, "duplicate delivery acknowledged");
                        Disposition::DUPLICATE
                    } else {
                        self.accept(&ingested, invocation.report()).await
                    }
                }
            };
            invocation.record(record, disposition);
        }
        invocation.finish(self.store.take())
    }

    async fn accept(&self, ingested: &Ingested, report: &mut InvocationReport) -> Disposition {
        let payload = match serde_json::to_vec(ingested) {
            Ok(p) => p,
            Err(_) => return Disposition::Retry,
        };
        let bytes = payload.len() as u64;
        if let Err(e) = self
            .publisher
            .publish(Topic::Ingested, &partition_key(ingested), payload)
            .await
        {
            warn!(step = NAME, error = %e, "publish failed; record will be retried");
            return Disposition::Retry;
        }
        report.records_out += 1;
        report.bytes_out += bytes;
        let key = dedup_key(&ingested.event);
        let written = state::save(
            self.store,
            self.policy,
            Table::Dedup,
            &key,
            &ingested.received_at,
            ingested.received_at,
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
        match state::dead_letter(
            self.store,
            self.policy,
            NAME,
            reason,
            error.to_string(),
            payload,
            record.received_at,
        )
        .await
        {
            Ok(()) => error.disposition(),
            Err(e) => e.disposition(),
        }
    }
}
