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
