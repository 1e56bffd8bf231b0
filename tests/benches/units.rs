//! Store and stream units per event on the local platform, counted call by
//! call as each cloud bills them (the formulas the AWS and Google Cloud
//! adapters count with; their units benches and pipeline tests check that
//! the two counts agree), for streams too large to send through moto or
//! the emulators in a session.
//!
//! `cargo bench -p tailor-tests --bench units -- PROFILES DAYS BATCH`
//! (defaults 200 30 500). BATCH is the records per ingest invocation; each
//! inner stage then takes what its stream holds. Then the slow lane's
//! batch run over the same stream's offline log, as of its end: the units
//! of one run, per profile. Results go in `docs/benchmarks.md`.

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
    slow_lane(&lines, batch);
}

/// The slow lane's batch run over the stream's offline log, as of the
/// platform's present (the stream's end): what one run reads and writes.
fn slow_lane(lines: &[Vec<u8>], batch: usize) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("enriched.jsonl");
    let mut p = tailor_tests::spawn_counting_cloud_units_of(&tailor_runtime::Function::ALL);
    p.pipeline.archive_enriched(&log, true).unwrap();
    p.send_batches(lines, batch);
    p.pipeline.flush().unwrap();
    let functions = p.pipeline.functions();
    let now = tailor_core::ports::Clock::now(functions.clock());
    drop(functions.store().take());
    let started = std::time::Instant::now();
    let events = tailor_local::offline::backfill::read_log(&log)
        .unwrap()
        .len();
    let run = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(tailor_local::offline::slow::run(&log, &p.pipeline, now))
        .unwrap();
    let elapsed = started.elapsed();
    let report = run.report(events, functions.store().take());
    let profiles = run.profiles.max(1) as f64;
    println!(
        "slow lane, one run as of {now}: {events} logged events, {} profiles, {} lanes kept, {} batch scores, {:.1} s",
        run.profiles,
        run.kept,
        run.batch_scores,
        elapsed.as_secs_f64()
    );
    println!("| units | one run | per profile |\n| --- | --- | --- |");
    for unit in [
        dynamodb::READ_UNITS,
        dynamodb::WRITE_UNITS,
        firestore::READS,
        firestore::WRITES,
        firestore::DELETES,
    ] {
        let n = report.billed(unit);
        println!("| {unit} | {n} | {:.2} |", n as f64 / profiles);
    }
    let sizes: Vec<usize> = p
        .table(tailor_core::ports::Table::SlowLane)
        .iter()
        .map(|(_, v)| serde_json::to_vec(v).unwrap().len())
        .collect();
    println!(
        "slow_lane items: {}, max {} bytes, mean {} bytes",
        sizes.len(),
        sizes.iter().max().unwrap_or(&0),
        sizes.iter().sum::<usize>() / sizes.len().max(1)
    );
}
