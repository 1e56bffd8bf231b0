//! `tailor backfill`: the fast lane recomputed from the offline log and
//! compared with the online state ([`tailor_local::offline::backfill`]),
//! or the slow lane computed from it and kept for decisions
//! ([`tailor_local::offline::slow`]).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use tailor_core::Timestamp;
use tailor_core::ports::Clock;
use tailor_local::offline::{backfill, slow};
use tailor_runtime::{ClockMode, WallClock};

/// Which lane a backfill computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lane {
    /// Recompute the online features and compare them with the state;
    /// exit 1 when any profile differs.
    Fast,
    /// Compute every profile's long-horizon features and batch scores and
    /// keep them beside the online features (run it on a schedule).
    Slow,
}

/// `tailor backfill`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    files: super::LogAndState,
    /// The lane to compute.
    #[arg(long, value_enum, default_value = "fast")]
    lane: Lane,
    /// The moment the slow lane is computed as of (RFC 3339; default now).
    #[arg(long)]
    at: Option<String>,
    /// The engine the slow lane's batch scores run on.
    #[arg(long, value_enum, default_value = "auto")]
    engine: super::decide::EngineArg,
}

/// Runs the backfill of the chosen lane.
///
/// # Errors
/// The log or the state cannot be read, `--at` is not a time, or (slow
/// lane) a lane cannot be written.
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match args.lane {
        Lane::Fast => fast(&args.files),
        Lane::Slow => {
            let at = match &args.at {
                Some(t) => Timestamp::parse(t).with_context(|| format!("--at {t}"))?,
                None => WallClock.now(),
            };
            let platform = super::open_existing(&args.files.state, args.engine)?;
            let done = slow::run(&args.files.log, &platform, at).await?;
            platform.flush()?;
            writeln!(
                std::io::stdout().lock(),
                "backfill --lane slow: {} profiles, {} lanes kept with {} batch scores, {} left out (erased) as of {at}",
                done.profiles,
                done.kept,
                done.batch_scores,
                done.erased
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Compares; exits 1 when any profile differs.
fn fast(files: &super::LogAndState) -> anyhow::Result<ExitCode> {
    let platform = super::open_for_reading(&files.state, ClockMode::Arrival)?;
    let offline = backfill::backfill(
        &files.log,
        platform.store(),
        platform.policy(),
        platform.functions().tokens(),
    )?;
    let online = backfill::online(platform.store())?;
    let differing: Vec<&String> = online
        .keys()
        .chain(offline.keys())
        .filter(|k| online.get(*k) != offline.get(*k))
        .collect();
    writeln!(
        std::io::stdout().lock(),
        "backfill: {} profiles offline, {} online, {} differ",
        offline.len(),
        online.len(),
        differing.len()
    )?;
    Ok(if differing.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
