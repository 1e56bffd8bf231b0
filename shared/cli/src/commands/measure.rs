//! The measured run `tailor sweep` and `tailor estimate` model from: a
//! stream (generated, or a file) through the local platform, then timed
//! decisions over its people, then one run of the slow lane over the
//! stream's offline log, with the store and queue counting what each call
//! would bill on each cloud.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use tailor_core::ports::{Clock, Table};
use tailor_core::report::InvocationReport;
use tailor_cost::billing::dynamodb;
use tailor_cost::estimate::{FunctionRun, Measured};
use tailor_cost::rules::{Measured as Timed, platform_of};
use tailor_cost::{Arch, CostRecord, Platform, PriceBook, Sizing};
use tailor_local::LocalPlatform;
use tailor_runtime::cost::Format;
use tailor_runtime::{ClockMode, WallClock};

use super::decide::EngineArg;
use super::generate::GenArgs;
use super::run::{ReceivedAt, run_lines};

/// What to measure.
#[derive(clap::Args, Debug)]
pub struct Measure {
    /// JSON Lines events; without it a stream is generated (see the gen options).
    file: Option<PathBuf>,
    #[command(flatten)]
    stream: GenArgs,
    /// Where the measured run keeps its state (a redb file); replaced.
    #[arg(long, default_value = ".tailor/measure.redb")]
    state: PathBuf,
    /// Records per invocation in the measured run.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Decisions made (and timed) after the stream, over its people.
    #[arg(long, default_value_t = 200)]
    decisions: usize,
}

/// What the run measured.
#[derive(Debug, Serialize)]
pub struct Run {
    /// Where the stream came from.
    pub source: String,
    /// Records in the stream.
    pub records: usize,
    /// Per function: records, bytes, time and the units each cloud would
    /// bill (score's records are its decisions).
    pub measured: Measured,
    /// Invocations per function (one per decision for score).
    pub invocations: BTreeMap<String, u64>,
    /// The process's CPU time over the run, in microseconds, where the
    /// system says (Linux).
    pub process_cpu_us: Option<u64>,
}

impl Run {
    /// The functions' measured time, summed, in microseconds.
    #[must_use]
    pub fn functions_us(&self) -> u64 {
        self.measured.functions.iter().map(|f| f.wall_us).sum()
    }
}

/// Runs the stream and the decisions.
///
/// # Errors
/// The stream cannot be read, or the platform fails.
pub async fn run(args: &Measure) -> anyhow::Result<Run> {
    let dir = super::state_dir(&args.state);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if args.state.exists() {
        std::fs::remove_file(&args.state)
            .with_context(|| format!("removing {}", args.state.display()))?;
    }
    let (source, bytes) = args.stream.read_or_generate(args.file.as_deref())?;
    let lines = super::validate::records(Path::new("stream.jsonl"), &bytes);
    let records = lines.len();
    let settings = super::settings(
        tailor_local::key::token_key(&dir)?,
        ClockMode::Arrival,
        EngineArg::Auto,
    )?;
    let platform =
        LocalPlatform::open_counting_cloud_units(Some(&args.state), &settings, &super::ALL)?;

    // The offline log the slow lane's run reads, beside the state.
    let log = args.state.with_extension("enriched.jsonl");
    platform
        .archive_enriched(&log, true)
        .with_context(|| format!("creating {}", log.display()))?;

    let cpu_before = process_cpu_us();
    let report = run_lines(
        &platform,
        lines,
        args.batch,
        ReceivedAt::Sent,
        WallClock.now(),
    )
    .await?;
    let mut score = timed_decisions(&platform, args.decisions).await?;
    let book = PriceBook::default_book()?;
    let slow_lane = timed_slow_lane(&platform, &log, &book).await?;
    let process_cpu_us = cpu_before
        .zip(process_cpu_us())
        .map(|(before, after)| after.saturating_sub(before));

    if let Some(score) = &mut score {
        score.log_bytes = log_bytes(&one_decision(score), &book)?;
    }
    let mut functions = Vec::new();
    for r in report.functions.values() {
        let invocations = report.invocations.get(&r.function).copied().unwrap_or(1);
        functions.push(FunctionRun {
            function: r.function.clone(),
            records_in: r.records_in,
            bytes_in: r.bytes_in,
            wall_us: r.wall_us,
            billed: r.billed.clone(),
            log_bytes: log_bytes(&average(r, invocations), &book)?,
        });
    }
    let mut invocations = report.invocations.clone();
    if let Some(score) = score {
        invocations.insert(score.function.clone(), score.records_in);
        functions.push(score);
    }
    invocations.insert(slow_lane.function.clone(), 1);
    functions.push(slow_lane);
    Ok(Run {
        source,
        records,
        measured: Measured {
            events: report.function("ingest").accepted,
            functions,
            people: platform.store().scan(Table::Features)?.len() as u64,
            stored_bytes: stored_bytes(&platform)?,
        },
        invocations,
        process_cpu_us,
    })
}

/// Makes up to `n` decisions over the stream's people, alternating two
/// placements: their count, time and the units they billed.
async fn timed_decisions(
    platform: &LocalPlatform,
    n: usize,
) -> anyhow::Result<Option<FunctionRun>> {
    let (users, now) = super::run::people(platform, usize::MAX)?;
    if users.is_empty() || n == 0 {
        return Ok(None);
    }
    // What the stream left uncounted is not the decisions'.
    let _ = platform.functions().store().take();
    let mut run = FunctionRun {
        function: "score".to_owned(),
        ..FunctionRun::default()
    };
    for i in 0..n {
        let (placement, purpose) = if i % 2 == 0 {
            ("offer", tailor_core::event::Purpose::Marketing)
        } else {
            ("onboarding", tailor_core::event::Purpose::Personalization)
        };
        let request = super::run::sample_request(&users[i % users.len()], placement, purpose);
        let started = Instant::now();
        let (_, logged) = platform.decide(&request, now).await?;
        logged?;
        run.wall_us += u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        run.records_in += 1;
    }
    for (unit, n) in platform.functions().store().take().billed {
        *run.billed.entry(unit.to_owned()).or_default() += n;
    }
    Ok(Some(run))
}

/// One run of the slow lane over the stream's offline log `log`, as of
/// the stream's end: the events it read, their bytes, its time, the units
/// it billed and what its one invocation logs.
async fn timed_slow_lane(
    platform: &LocalPlatform,
    log: &Path,
    book: &PriceBook,
) -> anyhow::Result<FunctionRun> {
    platform.flush()?;
    let functions = platform.functions();
    let at = functions.clock().now();
    // What the decisions left uncounted is not the run's.
    let _ = functions.store().take();
    let bytes = std::fs::metadata(log)
        .with_context(|| format!("reading {}", log.display()))?
        .len();
    let started = Instant::now();
    let events = tailor_local::offline::backfill::read_admissible(log)?;
    let run = functions.run_slow_lane(&events, at).await?;
    let mut report = run.report(events.len(), functions.store().take());
    report.wall_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    report.bytes_in = bytes;
    Ok(FunctionRun {
        function: report.function.clone(),
        records_in: report.records_in,
        bytes_in: report.bytes_in,
        wall_us: report.wall_us,
        billed: report.billed.clone(),
        log_bytes: log_bytes(&report, book)?,
    })
}

/// A request id as long as Lambda's (a UUID), for sizing log lines.
const REQUEST_ID: &str = "8f5bd4c2-52d1-4c64-9d55-6fd4b1b0b8e7";

/// One of the `n` invocations whose counts `report` sums.
fn average(report: &InvocationReport, n: u64) -> InvocationReport {
    let n = n.max(1);
    let each = |x: u64| x.div_ceil(n);
    InvocationReport {
        function: report.function.clone(),
        records_in: each(report.records_in),
        bytes_in: each(report.bytes_in),
        accepted: each(report.accepted),
        duplicates: each(report.duplicates),
        dead_lettered: report
            .dead_lettered
            .iter()
            .map(|(k, v)| (*k, each(*v)))
            .collect(),
        retried: each(report.retried),
        policy_blocks: report
            .policy_blocks
            .iter()
            .map(|(k, v)| (k.clone(), each(*v)))
            .collect(),
        past_horizon: each(report.past_horizon),
        records_out: each(report.records_out),
        bytes_out: each(report.bytes_out),
        store_reads: each(report.store_reads),
        store_writes: each(report.store_writes),
        store_write_bytes: each(report.store_write_bytes),
        billed: report
            .billed
            .iter()
            .map(|(k, v)| (k.clone(), each(*v)))
            .collect(),
        wall_us: each(report.wall_us),
        decision_id: report.decision_id.clone(),
    }
}

/// One of the timed decisions, as its request's report says it: one
/// record, its share of the units, naming its decision.
fn one_decision(decisions: &FunctionRun) -> InvocationReport {
    let mut report = InvocationReport::new(&decisions.function);
    report.records_in = decisions.records_in;
    report.wall_us = decisions.wall_us;
    report.billed = decisions.billed.clone();
    let mut one = average(&report, decisions.records_in);
    one.decision_id = Some(format!("dec_{:024x}", u128::MAX >> 32));
    one
}

/// Bytes an invocation like `one` logs on each cloud whose logs are
/// billed: its report line (JSON, as the collector writes it) and its cost
/// record (the platform's form: an Embedded Metric Format line on AWS, a
/// structured entry on Google Cloud), with its own platform's units and
/// priced at 512 MB in that platform's region of `book` (the record lists
/// its priced lines).
fn log_bytes(one: &InvocationReport, book: &PriceBook) -> anyhow::Result<BTreeMap<Platform, u64>> {
    let mut bytes = BTreeMap::new();
    for (platform, region, format) in [
        (Platform::Aws, "aws/us-east-1", Format::Emf),
        (Platform::Gcp, "gcp/us-central1", Format::CloudLogging),
    ] {
        let mut one = one.clone();
        one.billed
            .retain(|unit, _| platform_of(unit) == Some(platform));
        let report = tailor_runtime::logs::collected(|| {
            tailor_runtime::report::emit(&one, REQUEST_ID);
        });
        let sizing = Sizing {
            platform,
            region: region.to_owned(),
            memory_mb: 512,
            arch: Arch::default(),
            milli_vcpu: 1_000,
        };
        let timed = Timed {
            duration_us: one.wall_us,
            ..Timed::default()
        };
        let record = CostRecord::measure(&sizing, &one, &timed)?.priced_or_noted(book);
        // The line as the platform prints it, and its newline.
        let cost = tailor_runtime::cost::line(format, &record, None, REQUEST_ID, 1_764_806_400_000)
            .len()
            + 1;
        bytes.insert(platform, u64::try_from(report.len() + cost)?);
    }
    Ok(bytes)
}

/// The bytes the platform's state holds, every table, as DynamoDB sizes
/// its items.
fn stored_bytes(platform: &LocalPlatform) -> anyhow::Result<u64> {
    let mut bytes = 0;
    for table in Table::ALL {
        for (key, item) in platform.store().scan(table)? {
            bytes += dynamodb::item_size(key.len(), item.value.len()) as u64;
        }
    }
    Ok(bytes)
}

/// The process's user and system CPU time, from `/proc/self/stat`, in
/// microseconds (Linux counts it in ticks of 1/100 s).
fn process_cpu_us() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000)
}
