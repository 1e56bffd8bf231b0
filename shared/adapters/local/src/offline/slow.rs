//! The slow lane's batch run on the local platform: the offline log read
//! from its file, then the runtime's run
//! ([`Functions::run_slow_lane`](tailor_runtime::Functions::run_slow_lane)).

use std::path::Path;

use tailor_core::Timestamp;
use tailor_core::ports::{Publisher, Store, Timer};
use tailor_runtime::Functions;
use tailor_runtime::slow_lane::SlowRun;

use super::backfill::read_admissible;
use crate::LocalPlatform;

/// Computes every profile's slow lane from `log` as of `at` and keeps it
/// in `platform`'s store.
///
/// # Errors
/// The log cannot be read, the store fails, or the platform was opened
/// without score (whose catalog and model the batch scores need).
pub async fn run(log: &Path, platform: &LocalPlatform, at: Timestamp) -> anyhow::Result<SlowRun> {
    run_over(log, platform.functions(), at).await
}

/// [`run`] for functions over any store.
///
/// # Errors
/// As [`run`].
pub async fn run_over<S: Store, P: Publisher, T: Timer>(
    log: &Path,
    functions: &Functions<S, P, T>,
    at: Timestamp,
) -> anyhow::Result<SlowRun> {
    let events = read_admissible(log)?;
    Ok(functions.run_slow_lane(&events, at).await?)
}
