//! `tailor outcomes`: decisions joined to the outcomes that came back for
//! them (see [`tailor_local::offline::outcomes`]), as a table.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tailor_core::event::OutcomeKind;
use tailor_local::offline::outcomes::{self, ActionStats};
use tailor_local::offline::{backfill, export};
use tailor_runtime::ClockMode;

/// `tailor outcomes`' arguments.
pub type Args = super::LogAndState;

/// `tailor export-decisions`' arguments.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    from: Args,
    /// Output CSV file.
    #[arg(long, short)]
    out: PathBuf,
}

/// Prints conversion by placement, action and segment.
///
/// # Errors
/// The log or the state cannot be read.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let platform = super::open_for_reading(&args.state, ClockMode::Wall)?;
    let decisions = outcomes::decisions(platform.store())?;
    let events = backfill::read_log(&args.log)?;
    print(
        &mut std::io::stdout().lock(),
        &outcomes::join(&decisions, &events),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the logged decisions as training rows.
///
/// # Errors
/// The log or the state cannot be read, or the file cannot be written.
pub fn export_decisions(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let platform = super::open_for_reading(&args.from.state, ClockMode::Wall)?;
    let decisions = outcomes::decisions(platform.store())?;
    let events = backfill::read_log(&args.from.log)?;
    let rows = export::decision_rows(&decisions, &events);
    let mut w = BufWriter::new(
        std::fs::File::create(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?,
    );
    export::write_decisions_csv(&rows, &mut w)?;
    w.flush()?;
    // Erasures processed from this state later reach this file too.
    tailor_local::offline::purge::record_export(&super::state_dir(&args.from.state), &args.out)
        .with_context(|| format!("recording the export {}", args.out.display()))?;
    let converted = rows
        .iter()
        .filter(|r| r.reported(OutcomeKind::Convert))
        .count();
    eprintln!(
        "exported {} of {} decisions ({converted} converted); the rest fell back before the model's inputs",
        rows.len(),
        decisions.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the joined table.
///
/// # Errors
/// Writing fails.
pub fn print(
    out: &mut impl Write,
    table: &BTreeMap<(String, String, String), ActionStats>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<11} {:<20} {:<18} {:>9} {:>7} {:>7} {:>9} {:>8}",
        "placement",
        "action",
        "segment",
        "decisions",
        "clicks",
        "convert",
        "dismissed",
        "conv.rate"
    )?;
    for ((placement, action, segment), s) in table {
        writeln!(
            out,
            "{placement:<11} {action:<20} {segment:<18} {:>9} {:>7} {:>7} {:>9} {:>7.1}%",
            s.decisions,
            s.clicks,
            s.conversions,
            s.dismissals,
            100.0 * s.conversion_rate()
        )?;
    }
    Ok(())
}
