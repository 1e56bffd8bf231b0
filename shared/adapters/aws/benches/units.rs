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

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    reason = "a bench binary: fails loudly, and prints ratios"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use tailor_aws::dynamo::{READ_UNITS, WRITE_UNITS};
use tailor_core::ports::Table;
use tailor_runtime::report::RunReport;

fn arg(n: usize, default: u32) -> u32 {
    std::env::args()
        .filter(|a| !a.starts_with("--"))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let (profiles, days, batch) = (arg(1, 200), arg(2, 30), arg(3, 500));
    let lines = tailor_tests::generated(profiles, days, 7);
    let mut p = support::pipeline::aws("units");
    let mut report = RunReport::default();
    let started = std::time::Instant::now();
    for chunk in lines.chunks(batch as usize) {
        let records = p.records(chunk);
        p.runtime.block_on(p.functions.chain(&records, &mut report));
    }
    let ingest = report.function("ingest");
    let events = ingest.accepted.max(1);
    println!(
        "{profiles} people × {days} days: {} records, {} accepted events, batch {batch}, {:.0} s against moto\n",
        lines.len(),
        ingest.accepted,
        started.elapsed().as_secs_f64()
    );
    println!(
        "| function | reads | writes | read units | write units | read units / event | write units / event |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let (mut ru, mut wu) = (0, 0);
    for (name, r) in &report.functions {
        let (reads, writes) = (r.billed(READ_UNITS), r.billed(WRITE_UNITS));
        ru += reads;
        wu += writes;
        println!(
            "| {name} | {} | {} | {reads} | {writes} | {:.2} | {:.2} |",
            r.store_reads,
            r.store_writes,
            reads as f64 / events as f64,
            writes as f64 / events as f64
        );
    }
    println!(
        "| **all** | | | {ru} | {wu} | **{:.2}** | **{:.2}** |\n",
        ru as f64 / events as f64,
        wu as f64 / events as f64
    );
    println!("| table | items | max bytes | p99 bytes | mean bytes |");
    println!("| --- | --- | --- | --- | --- |");
    for table in Table::ALL {
        let mut sizes: Vec<usize> = p
            .table(table)
            .iter()
            .map(|(_, v)| serde_json::to_vec(v).unwrap().len())
            .collect();
        if sizes.is_empty() {
            continue;
        }
        sizes.sort_unstable();
        let p99 = sizes[(sizes.len() * 99).div_ceil(100) - 1];
        let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
        println!(
            "| {} | {} | {} | {p99} | {mean:.0} |",
            table.as_str(),
            sizes.len(),
            sizes.last().unwrap()
        );
    }
}
