//! `tailor export-training`: labelled feature rows (CSV) for a first model
//! ([`tailor_local::offline::export::training_rows`]).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use tailor_core::Timestamp;
use tailor_core::token::TokenKey;
use tailor_local::LocalPlatform;
use tailor_local::offline::{backfill, export};
use tailor_runtime::{ClockMode, clock::replay_time};

use super::decide::EngineArg;
use super::generate::GenArgs;
use super::run::{ReceivedAt, run_lines};

/// `tailor export-training`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// JSON Lines events; without it a stream is generated.
    file: Option<PathBuf>,
    #[command(flatten)]
    stream: GenArgs,
    /// Days before the end of the stream the features are taken at.
    #[arg(long, default_value_t = 7)]
    cutoff_days: u32,
    /// Output CSV file.
    #[arg(long, short)]
    out: PathBuf,
}

/// Runs the stream on a scratch platform and writes the rows.
///
/// # Errors
/// The stream cannot be read or run, or the file cannot be written.
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let options = args.stream.options()?;
    let (_, bytes) = args.stream.read_or_generate(args.file.as_deref())?;
    let lines = super::validate::records(Path::new("stream.jsonl"), &bytes);
    let end = lines
        .iter()
        .filter_map(|(_, b)| replay_time(b))
        .max()
        .unwrap_or(options.end);
    let dir = std::env::temp_dir().join(format!("tailor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let log = dir.join("enriched.jsonl");
    let settings = super::settings(
        TokenKey::new(vec![7u8; 32])?,
        ClockMode::Arrival,
        EngineArg::Tract,
    )?;
    let platform = LocalPlatform::open(None, &settings, &tailor_runtime::Function::STREAM)?;
    platform.archive_enriched(&log, true)?;
    run_lines(&platform, lines, 100, ReceivedAt::Sent, end).await?;
    let events = backfill::read_log(&log)?;
    let state = backfill::FinalState::read(platform.store(), platform.functions().tokens())?;
    let cutoff = end.add_millis(-i64::from(args.cutoff_days) * Timestamp::DAY);
    let rows = export::training_rows(
        &events,
        &state,
        platform.policy(),
        cutoff,
        i64::from(args.cutoff_days) * Timestamp::DAY,
    );
    let mut w = BufWriter::new(
        std::fs::File::create(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?,
    );
    export::write_csv(&rows, &mut w)?;
    w.flush()?;
    std::fs::remove_dir_all(&dir).ok();
    let positives = rows.iter().filter(|r| r.label).count();
    eprintln!(
        "exported {} rows ({positives} converted) as of {cutoff}",
        rows.len()
    );
    Ok(ExitCode::SUCCESS)
}
