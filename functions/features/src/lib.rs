//! The features function: fold each enriched event into its key's inputs
//! and recompute the profile's online features.
//!
//! Before anything is written the consent gate runs: the event's own claim
//! must grant personalization and the profile's ledger must hold no
//! revocation or erasure at or after the event. A blocked event is accepted
//! (it was processed: policy said no) and writes nothing.
//!
//! Inputs are saved with version preconditions and the features recomputed
//! from them, so a replay changes nothing and a lost race is retried.

use tailor_core::batch::{BatchOutcome, Invocation, Record};
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::features::{self, KeyInputs, Summary};
use tailor_core::message::Enriched;
use tailor_core::policy::{Policy, PolicyDecision};
use tailor_core::ports::{Metered, Store, StoreError, Table};
use tailor_core::report::InvocationReport;
use tailor_core::state::{self, Loaded};
use tracing::{debug, warn};

/// The function's name in reports, dead letters and logs.
pub const NAME: &str = "features";
/// How many times a record is applied again after losing a write race.
pub const ATTEMPTS: usize = 3;

/// Everything the function needs, created once per process.
#[derive(Debug)]
pub struct Features<'a, S> {
    /// The policy bundle.
    pub policy: &'a Policy,
    /// State.
    pub store: &'a Metered<S>,
}

/// What applying one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Its summary joined the key's inputs and the profile was recomputed.
    Updated,
    /// It had been applied before; nothing changed.
    Unchanged,
    /// Policy did not allow features from it; nothing was written.
    Blocked(PolicyDecision),
    /// Its type does not feed features.
    Ignored,
}

impl<S: Store> Features<'_, S> {
    /// Processes one batch of enriched events.
    pub async fn handle(&self, records: &[Record]) -> BatchOutcome {
        let mut invocation = Invocation::begin(NAME, records);
        for record in records {
            let disposition = match serde_json::from_slice::<Enriched>(&record.bytes) {
                Err(e) => {
                    let reason = DeadLetterReason::BadMessage;
                    state::set_aside(self.store, self.policy, NAME, reason, e.to_string(), record)
                        .await
                }
                Ok(enriched) => {
                    self.apply_with_retries(&enriched, invocation.report())
                        .await
                }
            };
            invocation.record(record, disposition);
        }
        invocation.finish(self.store.take())
    }

    async fn apply_with_retries(
        &self,
        enriched: &Enriched,
        report: &mut InvocationReport,
    ) -> Disposition {
        for _ in 0..ATTEMPTS {
            match self.apply(enriched).await {
                Ok(Applied::Unchanged) => return Disposition::DUPLICATE,
                Ok(Applied::Blocked(decision)) => {
                    report.count_block(&decision);
                    return Disposition::ACCEPTED;
                }
                Ok(_) => return Disposition::ACCEPTED,
                Err(StoreError::Conflict { .. }) => {
                    debug!(step = NAME, "inputs write raced; applying again");
                }
                Err(e) => {
                    warn!(step = NAME, error = %e, "features update failed");
                    return e.disposition();
                }
            }
        }
        Disposition::Retry
    }

    /// Applies one enriched event.
    ///
    /// # Errors
    /// The store's error; [`StoreError::Conflict`] when a concurrent writer won.
    pub async fn apply(&self, enriched: &Enriched) -> Result<Applied, StoreError> {
        for (profile, members) in &enriched.changed_profiles {
            state::recompute_profile(self.store, self.policy, profile, members).await?;
        }
        let Some(summary) = Summary::of(&enriched.ingested) else {
            return Ok(Applied::Ignored);
        };
        let (profile_id, members) = state::resolve(self.store, &enriched.key).await?;
        let ledger = state::ledger_of(self.store, &members).await?;
        let gate = features::gate(&enriched.ingested, &ledger, self.policy);
        if !gate.allowed {
            debug!(step = NAME, profile = %profile_id, policies = ?gate.policies, "features blocked by policy");
            return Ok(Applied::Blocked(gate));
        }
        let mut inputs: Loaded<KeyInputs> =
            state::load(self.store, Table::FeatureInputs, &enriched.key).await?;
        if !inputs.value.apply(summary) {
            // Already applied; recompute anyway, in case the invocation that
            // applied it failed before its recompute.
            state::recompute_profile(self.store, self.policy, &profile_id, &members).await?;
            return Ok(Applied::Unchanged);
        }
        let anchor = inputs
            .value
            .newest()
            .unwrap_or(enriched.ingested.occurred_at);
        state::save(
            self.store,
            self.policy,
            Table::FeatureInputs,
            &enriched.key,
            &inputs.value,
            anchor,
            inputs.precondition(),
        )
        .await?;
        state::recompute_profile(self.store, self.policy, &profile_id, &members).await?;
        Ok(Applied::Updated)
    }
}
