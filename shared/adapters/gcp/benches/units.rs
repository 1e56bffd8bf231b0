//! Firestore units per event: a generated stream through ingest, enrich,
//! features and consent on the GCP adapter against Google's emulators,
//! summed from the invocation reports, and the size of every document
//! left in each collection.
//!
//! `cargo bench -p tailor-gcp --bench units -- PROFILES DAYS BATCH`
//! (defaults 200 30 500). BATCH is the records per ingest invocation; each
//! inner stage then takes what its topic's tap holds. Units are
//! Firestore's: a document read per document asked for (found or not), a
//! write per document written, a delete per document deleted, as the
//! adapter counts them per call. Results go in `docs/benchmarks.md`,
//! beside DynamoDB's.

#[path = "../tests/support/mod.rs"]
mod support;

use tailor_gcp::firestore::{DELETES, READS, WRITES};

fn main() {
    let (profiles, days, batch) = tailor_tests::cloud::units_args();
    let lines = tailor_tests::generated(profiles, days, 7);
    let mut p = support::pipeline::gcp("units");
    println!("{profiles} people × {days} days, against the emulators:");
    tailor_tests::cloud::print_units(&mut p, &lines, batch, &[READS, WRITES, DELETES]);
}
