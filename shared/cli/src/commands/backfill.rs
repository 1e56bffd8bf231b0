//! `tailor backfill`: recompute features from the offline log and compare
//! them with the online state ([`tailor_local::offline::backfill`]).

use std::io::Write;
use std::process::ExitCode;

use tailor_local::offline::backfill;
use tailor_runtime::ClockMode;

/// `tailor backfill`'s arguments.
pub type Args = super::LogAndState;

/// Compares; exits 1 when any profile differs.
///
/// # Errors
/// The log or the state cannot be read.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let platform = super::open_for_reading(&args.state, ClockMode::Arrival)?;
    let offline = backfill::backfill(
        &args.log,
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
