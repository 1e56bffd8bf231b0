//! The slow lane's batch run, the same on every platform: given the
//! offline log's events (a platform reads them from wherever it keeps the
//! log: a file, an S3 bucket, and holds each as the little the replays
//! read of it, [`Admissible`]), each profile's long-horizon features and
//! batch scores as of one moment, kept beside the online features.
//!
//! The log is replayed once against where its keys stand now
//! ([`Tables::settled`](tailor_core::tables::Tables::settled)), with the
//! code the online path uses ([`features::backfill_and_histories`]: the
//! features the batch scores are computed from, and the long horizon): erased keys and what a revocation took away are left out, and
//! a lane written while its person is being erased is deleted again
//! ([`Tables::keep_slow_lane`](tailor_core::tables::Tables::keep_slow_lane)).

use tailor_core::Timestamp;
use tailor_core::features::{self, Admissible};
use tailor_core::ports::{Meter, Publisher, Store, StoreError, Timer};
use tailor_core::report::InvocationReport;

use crate::Functions;

/// The name a run's report and cost record carry.
pub const NAME: &str = "slow_lane";

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

impl SlowRun {
    /// The run's invocation report, for its cost record: the log's
    /// `events` in, the lanes kept, and `meter`, what the store did.
    #[must_use]
    pub fn report(&self, events: usize, meter: Meter) -> InvocationReport {
        let mut report = InvocationReport::new(NAME);
        report.records_in = events as u64;
        report.accepted = self.kept as u64;
        report.meter(meter);
        report
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SlowRunError {
    /// The process does not run score, whose catalog and model the batch
    /// scores need.
    #[error("the slow lane's batch scores need a process that runs score")]
    NoScore,
    /// The store failed; lanes not yet written are written by the next run.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<S: Store, P: Publisher, T: Timer> Functions<S, P, T> {
    /// Computes every profile of `log` its slow lane as of `at` and keeps it.
    ///
    /// # Errors
    /// [`SlowRunError`].
    pub async fn run_slow_lane(
        &self,
        log: &[Admissible],
        at: Timestamp,
    ) -> Result<SlowRun, SlowRunError> {
        let score = self.score().ok_or(SlowRunError::NoScore)?;
        let keys: Vec<String> = log.iter().map(|e| e.key.clone()).collect();
        let settled = score.tables.settled(&keys).await?;
        let policy = self.policy();
        let profile_of = |k: &str| settled.profile_of(k);
        let (online, histories) =
            features::backfill_and_histories(log, profile_of, &settled.ledgers, policy);
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
}
