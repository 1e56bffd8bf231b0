//! What a function receives and returns per invocation, independent of transport.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::disposition::Disposition;
use crate::report::InvocationReport;

/// One record as a transport delivered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The transport's id for it (Kinesis sequence number, Pub/Sub message id,
    /// line number): what a retry report names.
    pub id: String,
    /// The payload.
    pub bytes: Vec<u8>,
    /// When the platform received it.
    pub received_at: Timestamp,
    /// The partition it came from, on transports that number records in
    /// order within a partition (a Kinesis shard): `id` is then its
    /// position there, and a record at or before a position already
    /// applied is a redelivery. `None` on transports that redeliver only
    /// what was not acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Whether its producer may change consent (grant, revoke, erase): an
    /// HTTP caller whose key holds `consent:write`, or a stream whose
    /// producers are trusted with it by configuration. Ingest dead-letters
    /// a consent change from anyone else (`consent_not_permitted`),
    /// whatever route carried it. Only ingest reads it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_change_consent: bool,
}

/// Every record's disposition, in input order, and the invocation's report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// `(record id, disposition)` for every input record.
    pub dispositions: Vec<(String, Disposition)>,
    /// What the invocation did and used.
    pub report: InvocationReport,
}

impl BatchOutcome {
    /// Ids of the records the transport must deliver again.
    #[must_use]
    pub fn retries(&self) -> Vec<&str> {
        self.dispositions
            .iter()
            .filter(|(_, d)| !d.acknowledges())
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

/// One invocation in progress: every record's disposition and the report.
///
/// Functions open one per batch, record each record's disposition exactly
/// once, and finish it with the store's meter.
#[derive(Debug)]
pub struct Invocation {
    started: std::time::Instant,
    outcome: BatchOutcome,
}

impl Invocation {
    /// Starts an invocation of `function` over `records`.
    #[must_use]
    pub fn begin(function: &str, records: &[Record]) -> Self {
        let mut report = InvocationReport::new(function);
        report.records_in = records.len() as u64;
        report.bytes_in = records.iter().map(|r| r.bytes.len() as u64).sum();
        Self {
            started: std::time::Instant::now(),
            outcome: BatchOutcome {
                dispositions: Vec::with_capacity(records.len()),
                report,
            },
        }
    }

    /// The report, for counts beyond dispositions.
    pub const fn report(&mut self) -> &mut InvocationReport {
        &mut self.outcome.report
    }

    /// Records the disposition of `record`.
    pub fn record(&mut self, record: &Record, disposition: Disposition) {
        self.outcome.report.count(disposition);
        self.outcome
            .dispositions
            .push((record.id.clone(), disposition));
    }

    /// Ends the invocation with what the store was used for.
    #[must_use]
    pub fn finish(mut self, meter: crate::ports::Meter) -> BatchOutcome {
        let report = &mut self.outcome.report;
        report.meter(meter);
        report.wall_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.outcome
    }
}
