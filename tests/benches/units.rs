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

/// Set in a child this bench starts to measure what reading the log
/// takes: `admissible:PATH`, `run:PATH` or `whole:PATH`.
const HOLD: &str = "TAILOR_UNITS_HOLD";

fn main() {
    if let Ok(what) = std::env::var(HOLD) {
        hold(&what);
        return;
    }
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
    println!("Per accepted event, by table:\n");
    tailor_tests::cloud::print_units_by_table(
        local.report.function("ingest").accepted,
        &local.pipeline.store().take_billed_by_table(),
        &[
            dynamodb::READ_UNITS,
            dynamodb::WRITE_UNITS,
            firestore::READS,
            firestore::WRITES,
            firestore::DELETES,
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
    held_in_memory(&log, events);
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

/// What the log takes in memory while a run replays it: the resident set
/// a fresh process grows by reading it as the run holds it
/// ([`tailor_core::features::Admissible`]), and by reading it as whole
/// events. Resident growth, so within a page and the allocator's own
/// slack of the heap's.
fn held_in_memory(log: &std::path::Path, events: usize) {
    let file = std::fs::metadata(log).unwrap().len();
    let grown = |form: &str| -> u64 {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(HOLD, format!("{form}:{}", log.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let per = |bytes: u64| bytes / events.max(1) as u64;
    println!(
        "log held in memory: {events} events, {} bytes a line in the file; as the run holds them {} bytes an event, with their histories {} bytes an event; as whole events {} bytes an event",
        per(file),
        per(grown("admissible")),
        per(grown("run")),
        per(grown("whole")),
    );
}

/// In the child: reads the log in one form and prints how much the
/// resident set grew while holding it.
fn hold(what: &str) {
    let (form, path) = what.split_once(':').unwrap();
    let path = std::path::Path::new(path);
    let before = resident_bytes();
    let (admissible, whole) = if form == "admissible" {
        let held = tailor_local::offline::backfill::read_admissible(path).unwrap();
        (held, Vec::new())
    } else if form == "run" {
        // The log as the run holds it, and the histories it folds from it
        // (every key its own profile, every event admitted by consent as
        // claimed): what a run holds at its largest.
        let held = tailor_local::offline::backfill::read_admissible(path).unwrap();
        let policy = tailor_core::policy::Policy::shipped().unwrap();
        let histories = tailor_core::features::histories(
            &held,
            |k| Some(k.to_owned()),
            &std::collections::BTreeMap::new(),
            &policy,
        );
        let after = resident_bytes();
        assert!(!histories.is_empty());
        println!("{}", after.saturating_sub(before));
        return;
    } else {
        let held = tailor_local::offline::backfill::read_log(path).unwrap();
        (Vec::new(), held)
    };
    let after = resident_bytes();
    assert!(admissible.len() + whole.len() > 0);
    println!("{}", after.saturating_sub(before));
    drop((admissible, whole));
}

/// The process's resident set, from `/proc/self/status` (Linux).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1_024
}
