//! Store and stream units per event on the local platform, counted call by
//! call as each cloud bills them (the formulas the AWS and Google Cloud
//! adapters count with; their units benches and pipeline tests check that
//! the two counts agree), for streams too large to send through moto or
//! the emulators in a session.
//!
//! `cargo bench -p tailor-tests --bench units -- PROFILES DAYS BATCH`
//! (defaults 200 30 500). BATCH is the records per ingest invocation; each
//! inner stage then takes what its stream holds. Results go in
//! `docs/benchmarks.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use tailor_runtime::cost::billing::{dynamodb, firestore};
use tailor_runtime::cost::billing::{kinesis, pubsub};

fn main() {
    let (profiles, days, batch) = tailor_tests::cloud::units_args();
    let lines = tailor_tests::generated(profiles, days, 7);
    println!("{profiles} people × {days} days, counted on the local platform:");
    let started = std::time::Instant::now();
    let local = tailor_tests::cloud::local_count(&lines, batch);
    tailor_tests::cloud::print_report_units(
        lines.len(),
        &local.report,
        batch,
        started.elapsed(),
        &[
            dynamodb::READ_UNITS,
            dynamodb::WRITE_UNITS,
            firestore::READS,
            firestore::WRITES,
            firestore::DELETES,
            kinesis::INGEST_BYTES,
            pubsub::PUBLISH_BYTES,
        ],
    );
    tailor_tests::cloud::print_item_sizes(|table| local.table(table));
}
