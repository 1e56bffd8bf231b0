//! `tailor run`: the whole local pipeline over an event file (or a freshly
//! generated stream), with a readable summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tailor_core::Timestamp;
use tailor_core::batch::Record;
use tailor_core::ports::{Clock, Table};
use tailor_local::LocalPlatform;
use tailor_runtime::{ClockMode, Replay, RunReport, WallClock};

use super::decide::EngineArg;
use super::generate::GenArgs;

/// When each record counts as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReceivedAt {
    /// At its own `sent_at` (or `occurred_at`): a deterministic replay.
    Sent,
    /// Now, by the wall clock.
    Now,
}

/// `tailor run`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// JSON Lines events; without it a stream is generated (see the gen options).
    file: Option<PathBuf>,
    #[command(flatten)]
    stream: GenArgs,
    /// Where state is kept (a redb file); replaced unless --resume.
    #[arg(long, default_value = ".tailor/state.redb")]
    state: PathBuf,
    /// Keep existing state instead of starting fresh.
    #[arg(long)]
    resume: bool,
    /// Records per invocation.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// When records count as received: at their sent_at (replay) or now.
    #[arg(long, value_enum, default_value = "sent")]
    received_at: ReceivedAt,
    /// Print the run report as JSON instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Runs the pipeline and prints the summary (and a few decisions) or the report.
///
/// # Errors
/// The stream cannot be read, or the platform fails.
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let dir = super::state_dir(&args.state);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if !args.resume && args.state.exists() {
        std::fs::remove_file(&args.state)
            .with_context(|| format!("removing {}", args.state.display()))?;
    }
    let (source, bytes) = args.stream.read_or_generate(args.file.as_deref())?;
    let lines = super::validate::records(Path::new("stream.jsonl"), &bytes);
    let clock = match args.received_at {
        ReceivedAt::Sent => ClockMode::Arrival,
        ReceivedAt::Now => ClockMode::Wall,
    };
    let settings = super::settings(tailor_local::key::token_key(&dir)?, clock, EngineArg::Auto)?;
    // The summary ends with a few decisions; the JSON report has none.
    let functions: &[tailor_runtime::Function] = if args.json {
        &tailor_runtime::Function::STREAM
    } else {
        &super::ALL
    };
    let platform = LocalPlatform::open(Some(&args.state), &settings, functions)?;
    platform.archive_enriched(&dir.join("enriched.jsonl"), !args.resume)?;
    platform.track_exports(&dir.join(tailor_local::offline::purge::EXPORTS));
    let started = Instant::now();
    let report = run_lines(
        &platform,
        lines,
        args.batch,
        args.received_at,
        WallClock.now(),
    )
    .await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_summary(
            &mut out,
            &platform,
            &report,
            &source,
            started,
            Some(&args.state),
        )?;
        sample_decisions(&mut out, &platform, 3).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `lines` through the platform in batches, with a progress bar on a terminal.
///
/// # Errors
/// The platform cannot make a batch durable.
pub async fn run_lines(
    platform: &LocalPlatform,
    lines: Vec<(usize, Vec<u8>)>,
    batch: usize,
    mode: ReceivedAt,
    now: Timestamp,
) -> anyhow::Result<RunReport> {
    let bar = if std::io::stderr().is_terminal() && lines.len() > 1_000 {
        let bar = ProgressBar::new(lines.len() as u64);
        bar.set_style(ProgressStyle::with_template(
            "{spinner} {pos}/{len} records {wide_bar} {per_sec} eta {eta}",
        )?);
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut report = RunReport::default();
    let mut replay = Replay::new("line:");
    for chunk in lines.chunks(batch.max(1)) {
        let bytes: Vec<Vec<u8>> = chunk.iter().map(|(_, b)| b.clone()).collect();
        let mut records: Vec<Record> = match mode {
            ReceivedAt::Sent => replay.records(&bytes),
            ReceivedAt::Now => bytes
                .into_iter()
                .map(|bytes| Record {
                    partition: None,
                    id: String::new(),
                    bytes,
                    received_at: now,
                    may_change_consent: true,
                })
                .collect(),
        };
        for (record, (line, _)) in records.iter_mut().zip(chunk) {
            record.id = format!("line:{line}");
        }
        platform.process(&records, &mut report).await;
        // Each batch is durable before the next, as each invocation would be.
        platform.flush()?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(report)
}

/// Prints the summary of a run.
pub fn print_summary(
    out: &mut impl std::io::Write,
    platform: &LocalPlatform,
    report: &RunReport,
    source: &str,
    started: Instant,
    state: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let secs = started.elapsed().as_secs_f64();
    let ingest = report.function("ingest");
    writeln!(
        out,
        "tailor run: {} records from {source} in {secs:.1} s ({:.0} records/s)\n",
        ingest.records_in,
        ingest.records_in as f64 / secs.max(1e-9)
    )?;
    writeln!(
        out,
        "{:<9} {:>6} {:>8} {:>9} {:>6} {:>9} {:>6} {:>8} {:>8} {:>9}",
        "function",
        "calls",
        "in",
        "accepted",
        "dups",
        "dead-lett",
        "retry",
        "out",
        "reads",
        "writes"
    )?;
    for name in ["ingest", "enrich", "features", "consent"] {
        let r = report.function(name);
        writeln!(
            out,
            "{:<9} {:>6} {:>8} {:>9} {:>6} {:>9} {:>6} {:>8} {:>8} {:>9}",
            name,
            report.invocations.get(name).copied().unwrap_or(0),
            r.records_in,
            r.accepted,
            r.duplicates,
            r.dead_lettered_total(),
            r.retried,
            r.records_out,
            r.store_reads,
            r.store_writes
        )?;
    }
    let mut blocks = std::collections::BTreeMap::<String, u64>::new();
    for r in report.functions.values() {
        for (policy, n) in &r.policy_blocks {
            *blocks.entry(policy.clone()).or_default() += n;
        }
    }
    let blocks: Vec<String> = blocks.iter().map(|(p, n)| format!("{p} {n}")).collect();
    let reasons: Vec<String> = ingest
        .dead_lettered
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    writeln!(
        out,
        "\ndead letters by reason: {}",
        if reasons.is_empty() {
            "none".to_owned()
        } else {
            reasons.join(", ")
        }
    )?;
    writeln!(
        out,
        "policy blocks by deciding policy: {}",
        if blocks.is_empty() {
            "none".to_owned()
        } else {
            blocks.join(", ")
        }
    )?;
    let store = platform.store();
    let profiles = store.scan(Table::Features)?.len();
    let audits = store.scan(Table::Audit)?;
    let merges = audits
        .iter()
        .filter(|(_, i)| i.value.starts_with(b"{\"kind\":\"merge\""))
        .count();
    let completions = audits
        .iter()
        .filter(|(k, _)| k.starts_with("consent/"))
        .count();
    writeln!(
        out,
        "profiles with features: {profiles}   identity merges: {merges}   consent changes completed: {completions}"
    )?;
    if report.unresolved > 0 {
        writeln!(
            out,
            "records still failing after retries: {}",
            report.unresolved
        )?;
    }
    if let Some(path) = state {
        writeln!(
            out,
            "state: {}   (inspect with `tailor serve --state {}`)",
            path.display(),
            path.display()
        )?;
    }
    Ok(())
}

/// Decides every placement for a few profiles and prints the decisions with
/// their explanations.
///
/// # Errors
/// The store cannot be read or the output cannot be written.
pub async fn sample_decisions(
    out: &mut impl std::io::Write,
    platform: &LocalPlatform,
    profiles: usize,
) -> anyhow::Result<()> {
    let (users, now) = people(platform, profiles)?;
    if users.is_empty() {
        return Ok(());
    }
    let engine = platform.model().map_or_else(
        || "rules only".to_owned(),
        |m| {
            use tailor_core::score::Model;
            let info = m.info();
            format!("{} {} on {}", info.name, info.version, info.engine)
        },
    );
    writeln!(out, "\nsample decisions ({engine}):")?;
    for user in users {
        for (placement, purpose) in [
            ("onboarding", tailor_core::event::Purpose::Personalization),
            ("offer", tailor_core::event::Purpose::Marketing),
        ] {
            let request = sample_request(&user, placement, purpose);
            let (record, logged) = platform.decide(&request, now).await?;
            logged?;
            write!(
                out,
                "{user} {} {}",
                record.decision_id,
                super::decide::explain(&record)
            )?;
        }
    }
    Ok(())
}

/// Up to `n` people the platform holds inputs for, and the newest time
/// their features saw (what "now" is for a replayed stream).
///
/// # Errors
/// The store cannot be read.
pub fn people(platform: &LocalPlatform, n: usize) -> anyhow::Result<(Vec<String>, Timestamp)> {
    let users: Vec<String> = platform
        .store()
        .scan(Table::FeatureInputs)?
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("user:"))
        .take(n)
        .collect();
    let now = platform
        .store()
        .scan(Table::Features)?
        .iter()
        .filter_map(|(_, i)| {
            serde_json::from_slice::<tailor_core::features::ProfileState>(&i.value)
                .ok()
                .and_then(|f| f.newest())
        })
        .max()
        .unwrap_or(Timestamp::from_millis(0));
    Ok((users, now))
}

/// A decision request at `placement` for `purpose`, from an adult in the
/// EU who consented to every purpose.
#[must_use]
pub fn sample_request(
    profile: &str,
    placement: &str,
    purpose: tailor_core::event::Purpose,
) -> tailor_core::score::DecisionRequest {
    tailor_core::score::DecisionRequest {
        profile: profile.to_owned(),
        purpose,
        placement: placement.to_owned(),
        region: "eu".to_owned(),
        consent: tailor_core::event::Purpose::ALL.to_vec(),
        adult: true,
        context: std::collections::BTreeMap::new(),
    }
}
