//! The contract, by hand: the functions, streams and tables the module
//! must declare, and the access each function is granted.

use std::collections::BTreeSet;

pub(crate) const FUNCTIONS: [&str; 5] = ["ingest", "enrich", "features", "consent", "score"];

pub(crate) const STREAMS: [&str; 4] = ["events", "ingested", "enriched", "consent-changes"];

pub(crate) const TABLES: [&str; 12] = [
    "dedup",
    "identity",
    "feature-inputs",
    "features",
    "slow-lane",
    "consent",
    "audit",
    "dead-letters",
    "tombstones",
    "erasure-index",
    "decisions",
    "subjects",
];

pub(crate) const KINESIS_READ: [&str; 5] = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
];
pub(crate) const KINESIS_WRITE: [&str; 2] = ["kinesis:PutRecord", "kinesis:PutRecords"];
const DYNAMODB_READ: [&str; 3] = [
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
];
const DYNAMODB_WRITE: [&str; 4] = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
];
pub(crate) const LOGS_WRITE: [&str; 2] = ["logs:CreateLogStream", "logs:PutLogEvents"];
pub(crate) const KMS_USE: [&str; 2] = ["kms:Decrypt", "kms:GenerateDataKey"];
pub(crate) const XRAY_UPLOAD: [&str; 2] = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Read,
    Write,
    ReadWrite,
}
use Mode::{Read, ReadWrite, Write};

pub(crate) struct Access {
    pub(crate) function: &'static str,
    /// The stream whose records invoke the function.
    pub(crate) trigger: Option<&'static str>,
    /// Streams the function puts records on.
    pub(crate) writes: &'static [&'static str],
    pub(crate) tables: &'static [(&'static str, Mode)],
}

pub(crate) const CONTRACT: [Access; 5] = [
    Access {
        function: "ingest",
        trigger: Some("events"),
        writes: &["ingested"],
        tables: &[
            ("dedup", ReadWrite),
            // A dead letter is sealed for its person unless they were erased.
            ("tombstones", Read),
            ("erasure-index", Read),
            ("dead-letters", Write),
            ("subjects", ReadWrite),
        ],
    },
    Access {
        function: "enrich",
        trigger: Some("ingested"),
        writes: &["enriched", "consent-changes"],
        tables: &[
            ("identity", ReadWrite),
            ("audit", Write),
            ("tombstones", Read),
            ("erasure-index", Read),
            ("consent", Read),
            ("dead-letters", Write),
            ("subjects", ReadWrite),
        ],
    },
    Access {
        function: "features",
        trigger: Some("enriched"),
        writes: &[],
        tables: &[
            ("feature-inputs", ReadWrite),
            ("features", ReadWrite),
            ("identity", Read),
            ("consent", Read),
            ("tombstones", Read),
            ("erasure-index", Read),
            ("dead-letters", Write),
            ("subjects", ReadWrite),
        ],
    },
    Access {
        function: "consent",
        trigger: Some("consent-changes"),
        writes: &[],
        tables: &[
            ("consent", ReadWrite),
            ("audit", Write),
            ("feature-inputs", ReadWrite),
            ("features", ReadWrite),
            ("slow-lane", ReadWrite),
            ("identity", ReadWrite),
            ("tombstones", ReadWrite),
            ("erasure-index", ReadWrite),
            ("dead-letters", Write),
            ("subjects", ReadWrite),
        ],
    },
    Access {
        function: "score",
        trigger: None,
        writes: &[],
        tables: &[
            ("identity", Read),
            ("features", Read),
            ("slow-lane", Read),
            ("consent", Read),
            ("tombstones", Read),
            ("erasure-index", Read),
            ("decisions", ReadWrite),
            ("subjects", ReadWrite),
        ],
    },
];

/// The slow lane's scheduled job (`slow_lane.tf`): deployed beside the
/// functions, invoked by its schedule, and reading the offline log in S3
/// besides these tables.
pub(crate) const SLOW_LANE: &str = "slow-lane";

pub(crate) const SLOW_LANE_TABLES: [(&str, Mode); 5] = [
    ("identity", Read),
    ("tombstones", Read),
    ("erasure-index", Read),
    ("consent", Read),
    ("slow-lane", ReadWrite),
];

pub(crate) fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

pub(crate) fn table_actions(mode: Mode) -> BTreeSet<String> {
    match mode {
        Read => set(&DYNAMODB_READ),
        Write => set(&DYNAMODB_WRITE),
        ReadWrite => set(&DYNAMODB_READ)
            .union(&set(&DYNAMODB_WRITE))
            .cloned()
            .collect(),
    }
}
