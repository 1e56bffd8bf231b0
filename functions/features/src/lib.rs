//! The features function: fold each enriched event into its key's inputs
//! and recompute the profile's online features.
//!
//! Before anything is written the consent gate runs: the event's own claim
//! must grant personalization and the profile's ledger must hold no
//! revocation or erasure at or after the event. A blocked event is accepted
//! (it was processed: policy said no) and writes nothing.
//!
//! Inputs are saved with version preconditions and the features recomputed
//! from them, so a replay changes nothing and a lost race is retried. Within
//! a batch, writes are coalesced: one inputs write per key, one features
//! write per profile.

use std::collections::BTreeMap;

use tailor_core::batch::{BatchOutcome, Invocation, Record};
use tailor_core::dead_letter;
use tailor_core::disposition::Disposition;
use tailor_core::errors::FeaturesError;
use tailor_core::features::{self, KeyInputs, Summary};
use tailor_core::message::Enriched;
use tailor_core::policy::{Policy, PolicyDecision};
use tailor_core::ports::{Metered, Store, StoreError, Table};
use tailor_core::report::InvocationReport;
use tailor_core::state::{self, Loaded};
use tailor_core::token::TokenKey;
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
    /// The tokenization key: tombstones are kept under keyed tokens.
    pub tokens: &'a TokenKey,
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Applied {
    /// Its summary joined the key's inputs.
    Updated,
    /// It had been applied before; nothing changed.
    Unchanged,
    /// Policy did not allow features from it; nothing was written.
    Blocked(PolicyDecision),
    /// Its type does not feed features.
    Ignored,
}

impl Applied {
    const fn disposition(&self) -> Disposition {
        match self {
            Self::Unchanged => Disposition::DUPLICATE,
            Self::Updated | Self::Blocked(_) | Self::Ignored => Disposition::ACCEPTED,
        }
    }
}

/// A batch's events for one identity key, with their places in the batch.
struct Group {
    key: String,
    events: Vec<(usize, Enriched)>,
}

impl<S: Store> Features<'_, S> {
    /// Processes one batch of enriched events.
    ///
    /// Writes are coalesced: each key's inputs are read and written once for
    /// all of its events in the batch, and each profile is recomputed once,
    /// after all of its keys. Idempotency costs no write of its own: inputs
    /// are kept by event id, so an event applied before changes nothing.
    pub async fn handle(&self, records: &[Record]) -> BatchOutcome {
        let mut invocation = Invocation::begin(NAME, records);
        // Each record's outcome: a disposition, or the error it failed with.
        let mut dispositions: Vec<Option<Result<Disposition, FeaturesError>>> =
            vec![None; records.len()];
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of: BTreeMap<String, usize> = BTreeMap::new();
        for (i, record) in records.iter().enumerate() {
            match serde_json::from_slice::<Enriched>(&record.bytes) {
                Err(e) => dispositions[i] = Some(Err(FeaturesError::BadMessage(e.to_string()))),
                Ok(enriched) => match group_of.get(&enriched.key) {
                    Some(&g) => groups[g].events.push((i, enriched)),
                    None => {
                        group_of.insert(enriched.key.clone(), groups.len());
                        groups.push(Group {
                            key: enriched.key.clone(),
                            events: vec![(i, enriched)],
                        });
                    }
                },
            }
        }

        // Merges and unmerges first: the profiles whose membership an event
        // changed are recomputed with their members as enrich saw them.
        for group in &groups {
            for (i, enriched) in &group.events {
                for (profile, members) in &enriched.changed_profiles {
                    if let Err(e) = state::recompute_profile(
                        self.store,
                        self.policy,
                        self.tokens,
                        profile,
                        members,
                    )
                    .await
                    {
                        warn!(step = NAME, error = %e, "recompute of a changed profile failed");
                        dispositions[*i] = Some(Err(e.into()));
                    }
                }
            }
        }

        // Then each key's events, in one read and at most one write.
        // By profile: its members (as the last of its keys resolved them)
        // and the places of its events.
        let mut touched: BTreeMap<String, (Vec<String>, Vec<usize>)> = BTreeMap::new();
        for group in &groups {
            match self.apply_group(group, invocation.report()).await {
                Ok((profile, members, applied)) => {
                    let mut places = Vec::new();
                    for ((i, _), applied) in group.events.iter().zip(applied) {
                        if dispositions[*i].is_none() {
                            dispositions[*i] = Some(Ok(applied.disposition()));
                        }
                        places.push(*i);
                    }
                    let entry = touched.entry(profile).or_default();
                    entry.0 = members;
                    entry.1.extend(places);
                }
                Err(e) => {
                    warn!(step = NAME, error = %e, "features update failed");
                    for (i, _) in &group.events {
                        dispositions[*i] = Some(Err(e.clone().into()));
                    }
                }
            }
        }

        // Each profile once, from all of its inputs. An event whose inputs
        // were saved but whose profile was not recomputed is retried; the
        // retry finds it applied and recomputes.
        for (profile, (members, places)) in touched {
            if let Err(e) =
                state::recompute_profile(self.store, self.policy, self.tokens, &profile, &members)
                    .await
            {
                warn!(step = NAME, error = %e, "features recompute failed");
                for i in places {
                    dispositions[i] = Some(Err(e.clone().into()));
                }
            }
        }

        for (record, outcome) in records.iter().zip(dispositions) {
            let disposition = match outcome {
                Some(Ok(d)) => d,
                Some(Err(e)) => {
                    dead_letter::settle(self.store, self.policy, self.tokens, NAME, record, &e)
                        .await
                }
                // Every record was given one above; a gap would be a bug, and retrying is safe.
                None => Disposition::Retry,
            };
            invocation.record(record, disposition);
        }
        invocation.finish(self.store.take())
    }

    /// Applies a key's events to its inputs: one read, and one write if any
    /// changed, retried on a lost race. Returns the key's profile, its
    /// members, and what each event did.
    async fn apply_group(
        &self,
        group: &Group,
        report: &mut InvocationReport,
    ) -> Result<(String, Vec<String>, Vec<Applied>), StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_group(group).await {
                Err(StoreError::Conflict { .. }) if attempt < ATTEMPTS => {
                    debug!(step = NAME, "inputs write raced; applying again");
                }
                Ok(out) => {
                    for applied in &out.2 {
                        if let Applied::Blocked(decision) = applied {
                            report.count_block(decision);
                        }
                    }
                    return Ok(out);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_group(
        &self,
        group: &Group,
    ) -> Result<(String, Vec<String>, Vec<Applied>), StoreError> {
        let (profile_id, members) = state::resolve(self.store, &group.key).await?;
        let ledger = state::ledger_of(self.store, self.tokens, &members).await?;
        let mut inputs: Loaded<KeyInputs> =
            state::load(self.store, Table::FeatureInputs, &group.key).await?;
        let mut applied = Vec::with_capacity(group.events.len());
        let mut changed = false;
        let mut anchor = None;
        for (_, enriched) in &group.events {
            let Some(summary) = Summary::of(&enriched.ingested) else {
                applied.push(Applied::Ignored);
                continue;
            };
            let gate = features::gate(&enriched.ingested, &ledger, self.policy);
            if !gate.allowed {
                debug!(step = NAME, profile = %profile_id, policies = ?gate.policies, "features blocked by policy");
                applied.push(Applied::Blocked(gate));
                continue;
            }
            anchor = anchor.max(Some(enriched.ingested.occurred_at));
            if inputs.value.apply(summary) {
                changed = true;
                applied.push(Applied::Updated);
            } else {
                applied.push(Applied::Unchanged);
            }
        }
        // A change means a summary applied, so there is an anchor.
        if let (true, Some(anchor)) = (changed, inputs.value.newest().or(anchor)) {
            state::save(
                self.store,
                self.policy,
                Table::FeatureInputs,
                &group.key,
                &inputs.value,
                anchor,
                inputs.precondition(),
            )
            .await?;
        }
        Ok((profile_id, members, applied))
    }
}
