//! Each platform's billing rules: from what one invocation measured to the
//! quantities it is billed for, by price item.
//!
//! | platform | compute | rounding | per request | store | stream |
//! | --- | --- | --- | --- | --- | --- |
//! | AWS Lambda | memory × billed duration, by architecture; the init phase of a cold start billed at the same rate | up to the next 1 ms | one request | DynamoDB read and write request units | Kinesis on-demand: each record up to the next 1 KB in, bytes read out |
//! | Cloud Run (request-based) | vCPU × billed time, memory × billed time | up to the next 100 ms | one request | Firestore document reads, writes, deletes | Pub/Sub: each publish request, and each push delivery, at least 1,000 bytes |
//! | Spin on SpinKube | a share of a node: the invocation's vCPU time over the node's vCPUs | none | none | SQLite on the node (in its share) | chained in-process (none) |
//!
//! A billed unit a store or publisher reports must map to a price item
//! here ([`billed_item`]); an unknown one is an error, never a zero.

use serde::{Deserialize, Serialize};
use tailor_core::report::InvocationReport;

use crate::CostError;
use crate::billing::{dynamodb, firestore, kinesis, pubsub};
use crate::price::Usage;

/// Where a function runs, as the bill sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// AWS Lambda, Kinesis and DynamoDB.
    Aws,
    /// Google Cloud Run, Pub/Sub and Firestore.
    Gcp,
    /// Fermyon Spin on SpinKube.
    Spin,
}

impl Platform {
    /// The platform's name, as records and reports spell it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Spin => "spin",
        }
    }

    /// The platform's name in the book's region keys.
    #[must_use]
    pub const fn book_name(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Spin => "spinkube",
        }
    }
}

/// A Lambda function's instruction set, which sets its duration price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// x86-64.
    X86_64,
    /// Graviton (arm64).
    #[default]
    Arm64,
}

impl Arch {
    /// The duration item's suffix.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

/// How a function is sized and where it runs: what its bill depends on
/// besides what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizing {
    /// The platform.
    pub platform: Platform,
    /// The book's region key (`aws/us-east-1`).
    pub region: String,
    /// Memory, in MB (Lambda) or MiB (Cloud Run).
    pub memory_mb: u32,
    /// Lambda's architecture.
    #[serde(default)]
    pub arch: Arch,
    /// vCPUs in thousandths (Cloud Run: 1000 is one vCPU).
    #[serde(default = "one_vcpu")]
    pub milli_vcpu: u32,
}

const fn one_vcpu() -> u32 {
    1_000
}

/// What one invocation measured besides its report (whose `bytes_in`
/// are the bytes it read from the platform's stream: Kinesis records,
/// Pub/Sub deliveries; none for an HTTP request).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    /// The handler's duration, in microseconds.
    pub duration_us: u64,
    /// The init phase's duration, on the invocation that started an
    /// instance (a cold start), in microseconds.
    pub init_us: Option<u64>,
}

/// `us` microseconds billed in whole steps of `step_ms`, at least one step.
#[must_use]
pub const fn billed_ms(us: u64, step_ms: u64) -> u64 {
    let step_us = step_ms * 1_000;
    let steps = us.div_ceil(step_us);
    (if steps == 0 { 1 } else { steps }) * step_ms
}

/// Lambda bills duration up to the next millisecond.
pub const LAMBDA_STEP_MS: u64 = 1;
/// Cloud Run's request-based billing rounds up to the next 100 ms.
pub const CLOUD_RUN_STEP_MS: u64 = 100;

/// The price item and base quantity per unit of a billed unit a store or a
/// publisher reports; `None` for a unit billed within something else (a
/// SQLite statement on a SpinKube node).
///
/// # Errors
/// `UnknownBilledUnit` for a unit no rule names.
pub fn billed_item(unit: &str) -> Result<Option<(&'static str, u128)>, CostError> {
    Ok(Some(match unit {
        dynamodb::READ_UNITS => ("dynamodb.on_demand.read_units", 1),
        dynamodb::WRITE_UNITS => ("dynamodb.on_demand.write_units", 1),
        firestore::READS => ("firestore.reads", 1),
        firestore::WRITES => ("firestore.writes", 1),
        firestore::DELETES => ("firestore.deletes", 1),
        kinesis::INGEST_BYTES => ("kinesis.on_demand.ingest", 1),
        pubsub::PUBLISH_BYTES => ("pubsub.throughput", 1),
        "sqlite_reads" | "sqlite_writes" => return Ok(None),
        other => return Err(CostError::UnknownBilledUnit(other.to_owned())),
    }))
}

/// The platform whose bill a billed unit belongs to.
#[must_use]
pub fn platform_of(unit: &str) -> Option<Platform> {
    match unit {
        dynamodb::READ_UNITS | dynamodb::WRITE_UNITS | kinesis::INGEST_BYTES => Some(Platform::Aws),
        firestore::READS | firestore::WRITES | firestore::DELETES | pubsub::PUBLISH_BYTES => {
            Some(Platform::Gcp)
        }
        _ => None,
    }
}

/// What one invocation is billed for, by price item.
///
/// # Errors
/// A billed unit no rule names.
pub fn usage(
    sizing: &Sizing,
    report: &InvocationReport,
    measured: &Measured,
) -> Result<Usage, CostError> {
    let mut usage = Usage::default();
    let memory = u128::from(sizing.memory_mb);
    match sizing.platform {
        Platform::Aws => {
            let item = format!("lambda.duration.{}", sizing.arch.name());
            let mut ms = billed_ms(measured.duration_us, LAMBDA_STEP_MS);
            if let Some(init) = measured.init_us {
                ms += billed_ms(init, LAMBDA_STEP_MS);
            }
            usage.add("lambda.requests", 1);
            usage.add(&item, memory * u128::from(ms));
            usage.add("kinesis.on_demand.retrieval", u128::from(report.bytes_in));
        }
        Platform::Gcp => {
            let ms = u128::from(billed_ms(measured.duration_us, CLOUD_RUN_STEP_MS));
            usage.add("cloud_run.requests", 1);
            usage.add(
                "cloud_run.request.vcpu_seconds",
                u128::from(sizing.milli_vcpu) * ms,
            );
            usage.add("cloud_run.request.gib_seconds", memory * ms);
            if report.bytes_in > 0 {
                // A push delivery of the record.
                usage.add(
                    "pubsub.throughput",
                    u128::from(pubsub::billable_bytes(report.bytes_in)),
                );
            }
        }
        Platform::Spin => {
            // One wasm instance runs on one vCPU while it runs.
            usage.add(
                "node.hours",
                1_000 * u128::from(measured.duration_us.div_ceil(1_000)),
            );
        }
    }
    for (unit, n) in &report.billed {
        if let Some((item, per_unit)) = billed_item(unit)? {
            usage.add(item, per_unit * u128::from(*n));
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_the_platforms_step() {
        assert_eq!(billed_ms(0, LAMBDA_STEP_MS), 1);
        assert_eq!(billed_ms(1_001, LAMBDA_STEP_MS), 2);
        assert_eq!(billed_ms(100_000, CLOUD_RUN_STEP_MS), 100);
        assert_eq!(billed_ms(100_001, CLOUD_RUN_STEP_MS), 200);
    }

    #[test]
    fn record_sizes_round_as_the_streams_bill_them() {
        assert_eq!(kinesis::ingest_bytes(1), 1_024);
        assert_eq!(kinesis::ingest_bytes(1_025), 2_048);
        assert_eq!(pubsub::billable_bytes(10), 1_000);
        assert_eq!(pubsub::billable_bytes(1_001), 1_001);
    }

    #[test]
    fn an_unknown_billed_unit_is_refused() {
        let mut report = InvocationReport::new("enrich");
        report.billed.insert("mystery_units".into(), 3);
        let sizing = Sizing {
            platform: Platform::Aws,
            region: "aws/us-east-1".into(),
            memory_mb: 128,
            arch: Arch::Arm64,
            milli_vcpu: 1_000,
        };
        assert!(matches!(
            usage(&sizing, &report, &Measured::default()),
            Err(CostError::UnknownBilledUnit(u)) if u == "mystery_units"
        ));
    }
}
