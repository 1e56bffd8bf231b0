//! The measured run `tailor sweep` and `tailor estimate` model from: a
//! stream (generated, or a file) through the local platform, then timed
//! decisions over its people, with the store and queue counting what each
//! call would bill on each cloud.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use tailor_core::ports::{Clock, Table};
use tailor_cost::billing::dynamodb;
use tailor_cost::estimate::{FunctionRun, Measured};
use tailor_local::LocalPlatform;
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

    let cpu_before = process_cpu_us();
    let report = run_lines(
        &platform,
        lines,
        args.batch,
        ReceivedAt::Sent,
        WallClock.now(),
    )
    .await?;
    let score = timed_decisions(&platform, args.decisions).await?;
    let process_cpu_us = cpu_before
        .zip(process_cpu_us())
        .map(|(before, after)| after.saturating_sub(before));

    let mut functions: Vec<FunctionRun> = report
        .functions
        .values()
        .map(|r| FunctionRun {
            function: r.function.clone(),
            records_in: r.records_in,
            bytes_in: r.bytes_in,
            wall_us: r.wall_us,
            billed: r.billed.clone(),
        })
        .collect();
    let mut invocations = report.invocations.clone();
    if let Some(score) = score {
        invocations.insert(score.function.clone(), score.records_in);
        functions.push(score);
    }
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
