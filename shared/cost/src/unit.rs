//! The measures usage is counted in, and the size of each of the book's
//! units in them.
//!
//! Usage is counted in small whole base units (megabyte-milliseconds,
//! bytes, requests) so that summing it is exact; a book unit is a whole
//! number of them (a GB-second is 1,024 × 1,000 MB-ms, since Lambda counts
//! a GB as 1,024 MB). The one division happens when a line is priced.

use serde::{Deserialize, Serialize};

use crate::CostError;

/// What a usage quantity counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Whole things: requests, request units, documents, payload units.
    Count,
    /// Memory in MB (or MiB) times billed milliseconds.
    MemoryMs,
    /// Thousandths of a vCPU times billed milliseconds.
    MilliVcpuMs,
    /// Bytes.
    Bytes,
    /// Milliseconds of something that runs by the hour (a stream, a shard).
    Ms,
    /// Thousandths of a vCPU times milliseconds, shared out of a node.
    NodeShare,
    /// Bytes stored times hours.
    ByteHours,
}

/// Hours in a billing month, as AWS and Google Cloud price storage and
/// hourly resources by the month.
pub const HOURS_PER_MONTH: u128 = 730;

const GIB: u128 = 1 << 30;

/// A book unit: what it measures and how many base units it holds.
///
/// # Errors
/// A unit the cost model does not measure.
pub fn of(unit: &str) -> Result<(Measure, u128), CostError> {
    Ok(match unit {
        "request" | "read request unit" | "write request unit" | "PUT payload unit"
        | "document read" | "document write" | "document delete" => (Measure::Count, 1),
        // 1 GB = 1,024 MB (Lambda's memory sizes); GiB likewise.
        "GB-second" | "GiB-second" => (Measure::MemoryMs, 1_024 * 1_000),
        "vCPU-second" => (Measure::MilliVcpuMs, 1_000 * 1_000),
        // Data volumes are binary: 1 GB = 2³⁰ bytes, 1 TiB = 2⁴⁰ bytes.
        "GB" | "GiB" => (Measure::Bytes, GIB),
        "TiB" | "TB" => (Measure::Bytes, GIB << 10),
        "stream-hour" | "shard-hour" => (Measure::Ms, 3_600_000),
        // A node-hour of a node with `vcpus` vCPUs: scaled by the caller.
        "node-hour" => (Measure::NodeShare, 1_000 * 3_600_000),
        "GB-month" | "GiB-month" => (Measure::ByteHours, GIB * HOURS_PER_MONTH),
        other => return Err(CostError::UnknownUnit(other.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_whole_numbers_of_their_base() {
        assert_eq!(
            of("GB-second").expect("unit"),
            (Measure::MemoryMs, 1_024_000)
        );
        assert_eq!(of("TiB").expect("unit").1, 1_099_511_627_776);
        assert!(matches!(of("furlong"), Err(CostError::UnknownUnit(u)) if u == "furlong"));
    }
}
