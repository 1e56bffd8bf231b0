//! The slow lane's batch run on the local platform: for every profile in
//! the offline log, its long-horizon features and per-placement batch
//! scores as of one moment, kept beside the online features
//! ([`tailor_core::ports::Table::SlowLane`]) for decisions to read.
//!
//! The run replays the log against the final identity and consent state,
//! with the code the online path uses ([`tailor_core::features::backfill`]
//! for the online features it scores from, [`tailor_core::features::histories`]
//! for the long horizon): erased keys and what a revocation took away are
//! left out, and a lane written while its person is being erased is
//! deleted again ([`tailor_core::tables::Tables::keep_slow_lane`]).

use std::path::Path;

use anyhow::Context;
use tailor_core::Timestamp;
use tailor_core::features;

use tailor_core::ports::{Publisher, Store, Timer};
use tailor_runtime::Functions;

use super::backfill::{FinalState, read_log};
use crate::{LocalPlatform, LocalStore};

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlowRun {
    /// Profiles with a history in the log.
    pub profiles: usize,
    /// Lanes kept.
    pub kept: usize,
    /// Batch scores among them.
    pub batch_scores: usize,
    /// Lanes deleted again because their person was erased meanwhile.
    pub erased: usize,
}

/// Computes every profile's slow lane from `log` as of `at` and keeps it
/// in `platform`'s store.
///
/// # Errors
/// The log or the store cannot be read, a lane cannot be written, or the
/// platform was opened without score (whose catalog and model the batch
/// scores need).
pub async fn run(log: &Path, platform: &LocalPlatform, at: Timestamp) -> anyhow::Result<SlowRun> {
    run_over(log, platform.store(), platform.functions(), at).await
}

/// [`run`] for functions over any store whose state `state` holds (the
/// same store, seen directly, for the final identity and consent state).
///
/// # Errors
/// As [`run`].
pub async fn run_over<S: Store, P: Publisher, T: Timer>(
    log: &Path,
    state: &LocalStore,
    functions: &Functions<S, P, T>,
    at: Timestamp,
) -> anyhow::Result<SlowRun> {
    let events = read_log(log)?;
    let state = FinalState::read(state, functions.tokens())?;
    let policy = functions.policy();
    let profile_of = |k: &str| state.profile_of(k);
    let online = features::backfill(&events, profile_of, &state.ledgers, policy);
    let histories = features::histories(&events, profile_of, &state.ledgers, policy);
    let score = functions
        .score()
        .context("the slow lane's batch scores need a platform that runs score")?;
    let mut run = SlowRun::default();
    for (profile, history) in &histories {
        run.profiles += 1;
        let now = online.get(profile).map(|s| s.evaluate(at));
        let lane = tailor_core::score::slow_lane(
            profile,
            history,
            now.as_ref(),
            at,
            score.catalog,
            score.memo,
            score.model,
        );
        if score.tables.keep_slow_lane(&lane, history.keys()).await? {
            run.kept += 1;
            run.batch_scores += lane.batch.len();
        } else {
            run.erased += 1;
        }
    }
    Ok(run)
}
