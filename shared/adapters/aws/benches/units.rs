//! DynamoDB units per event: a generated stream through ingest, enrich,
//! features and consent on the AWS adapter against moto (the real
//! DynamoDB and Kinesis wire protocol), summed from the invocation
//! reports, and the size of every item left in each table.
//!
//! `cargo bench -p tailor-aws --bench units -- PROFILES DAYS BATCH`
//! (defaults 200 30 500). BATCH is the records per ingest invocation; each
//! inner stage then takes what its stream holds, as a Kinesis event source
//! with that batch size would. Units are DynamoDB's: a write unit per 1 KB
//! written, a strongly consistent read unit per 4 KB read, as the adapter
//! counts them per call. Results go in `docs/benchmarks.md`.

#[path = "../tests/support/mod.rs"]
mod support;

use tailor_aws::dynamo::{READ_UNITS, WRITE_UNITS};

fn main() {
    let (profiles, days, batch) = tailor_tests::cloud::units_args();
    let lines = tailor_tests::generated(profiles, days, 7);
    let mut p = support::pipeline::aws("units");
    println!("{profiles} people × {days} days, against moto:");
    tailor_tests::cloud::print_units(&mut p, &lines, batch, &[READ_UNITS, WRITE_UNITS]);
}
