//! The features function: fold each enriched event into its key's inputs
//! and recompute the profile's online features.
//!
//! Before anything is written the consent gate runs: the event's own claim
//! must grant personalization and the profile's ledger must hold no
//! revocation or erasure at or after the event. A blocked event is accepted
//! (it was processed: policy said no) and writes nothing.
//!
//! A key's inputs are bounded aggregates, not a set of events: their
//! buckets remember a bounded number of event-id digests, which is not
//! enough on its own. Nothing is applied twice because: ingest's ledger
//! lets each event through once, and the digests catch an event that
//! comes back after the ledger forgot it; on transports that
//! redeliver records already acknowledged (a Kinesis shard restarts from
//! the lowest failed sequence number), each record carries its partition
//! and position, and a key's inputs remember the last position applied
//! per partition, written in the same item as the aggregates; and within
//! an invocation the inputs write is the commit point: the profile's
//! state is written before it, so a failure anywhere leaves the inputs as
//! they were and the retry applies the events once. Within a batch,
//! writes are coalesced: one inputs write per key, one state write per
//! profile.

use std::collections::BTreeMap;

use tailor_core::batch::{BatchOutcome, Invocation, Record};
use tailor_core::disposition::Disposition;
use tailor_core::errors::FeaturesError;
use tailor_core::features::{self, KeyInputs, Summary};
use tailor_core::message::Enriched;
use tailor_core::plan::Loaded;
use tailor_core::policy::PolicyDecision;
use tailor_core::ports::{Metered, Store, StoreError, Table};
use tailor_core::report::InvocationReport;
use tailor_core::tables::Tables;
use tracing::{debug, warn};

/// The function's name in reports, dead letters and logs.
pub const NAME: &str = "features";
/// How many times a record is applied again after losing a write race.
pub const ATTEMPTS: usize = 3;

/// Everything the function needs, created once per process.
#[derive(Debug)]
pub struct Features<'a, S> {
    /// The tables, with the policy and the tokenization key.
    pub tables: Tables<'a, Metered<S>>,
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Applied {
    /// It was folded into the key's inputs.
    Updated,
    /// It had been applied before (its position was), or it lies at or
    /// before a purge; nothing changed.
    Unchanged,
    /// It lies behind every bucket its key keeps (more than 30 days behind
    /// the key's newest event): no online state changes; the offline log
    /// has it for the backfill.
    PastHorizon,
    /// Policy did not allow features from it; nothing was written.
    Blocked(PolicyDecision),
    /// Its type does not feed features.
    Ignored,
}

impl Applied {
    const fn disposition(&self) -> Disposition {
        match self {
            Self::Unchanged => Disposition::DUPLICATE,
            Self::Updated | Self::Blocked(_) | Self::Ignored | Self::PastHorizon => {
                Disposition::ACCEPTED
            }
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
                    if let Err(e) = self.tables.recompute_profile(profile, members).await {
                        warn!(step = NAME, error = %e, "recompute of a changed profile failed");
                        dispositions[*i] = Some(Err(e.into()));
                    }
                }
            }
        }

        // Then each profile's events: each key's inputs read once, the
        // events applied in memory, and the profile's state and the
        // changed inputs written once, the inputs last (the commit point).
        let mut profiles: BTreeMap<String, (Vec<String>, Vec<usize>)> = BTreeMap::new();
        for (g, group) in groups.iter().enumerate() {
            match self.tables.resolve(&group.key).await {
                Ok((profile, members)) => {
                    let entry = profiles.entry(profile).or_default();
                    entry.0 = members;
                    entry.1.push(g);
                }
                Err(e) => {
                    for (i, _) in &group.events {
                        dispositions[*i] = Some(Err(e.clone().into()));
                    }
                }
            }
        }
        for (profile, (members, group_ids)) in profiles {
            let mine: Vec<&Group> = group_ids.iter().map(|g| &groups[*g]).collect();
            let resolved = (profile, members);
            match self
                .apply_profile(&mine, resolved, records, invocation.report())
                .await
            {
                Ok(applied) => {
                    for (group, applied) in mine.iter().zip(applied) {
                        for ((i, _), applied) in group.events.iter().zip(applied) {
                            if dispositions[*i].is_none() {
                                dispositions[*i] = Some(Ok(applied.disposition()));
                            }
                        }
                    }
                }
                Err(e) => {
                    warn!(step = NAME, error = %e, "features update failed");
                    for group in &mine {
                        for (i, _) in &group.events {
                            dispositions[*i] = Some(Err(e.clone().into()));
                        }
                    }
                }
            }
        }

        for (record, outcome) in records.iter().zip(dispositions) {
            let disposition = match outcome {
                Some(Ok(d)) => d,
                Some(Err(e)) => self.tables.settle(NAME, record, &e).await,
                // Every record was given one above; a gap would be a bug, and retrying is safe.
                None => Disposition::Retry,
            };
            invocation.record(record, disposition);
        }
        invocation.finish(self.tables.store().take())
    }

    /// Applies one profile's groups of events and commits them, applying
    /// again from fresh reads when a write race is lost. Returns what each
    /// event did, group by group.
    async fn apply_profile(
        &self,
        groups: &[&Group],
        resolved: (String, Vec<String>),
        records: &[Record],
        report: &mut InvocationReport,
    ) -> Result<Vec<Vec<Applied>>, StoreError> {
        let mut attempt = 0;
        let mut resolved = Some(resolved);
        loop {
            attempt += 1;
            match self.try_profile(groups, resolved.take(), records).await {
                Err(StoreError::Conflict { .. }) if attempt < ATTEMPTS => {
                    debug!(step = NAME, "features write raced; applying again");
                }
                Ok(out) => {
                    for applied in out.iter().flatten() {
                        match applied {
                            Applied::Blocked(decision) => report.count_block(decision),
                            Applied::PastHorizon => report.past_horizon += 1,
                            _ => {}
                        }
                    }
                    return Ok(out);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt: `resolved` is the profile and its members as just
    /// read, or `None` to read them again (after a lost race).
    async fn try_profile(
        &self,
        groups: &[&Group],
        resolved: Option<(String, Vec<String>)>,
        records: &[Record],
    ) -> Result<Vec<Vec<Applied>>, StoreError> {
        let mut resolved = resolved;
        if resolved.is_none() {
            for group in groups {
                resolved = Some(self.tables.resolve(&group.key).await?);
            }
        }
        let Some((profile_id, members)) = resolved else {
            return Ok(Vec::new());
        };
        let ledger = self.tables.ledger_of(&members).await?;
        let keys: Vec<String> = groups.iter().map(|g| g.key.clone()).collect();
        let loaded: Vec<Loaded<KeyInputs>> =
            self.tables.load_many(Table::FeatureInputs, &keys).await?;
        let mut updated = BTreeMap::new();
        let mut all = Vec::with_capacity(groups.len());
        for (group, mut inputs) in groups.iter().zip(loaded) {
            let mut applied = Vec::with_capacity(group.events.len());
            let mut changed = false;
            for (i, enriched) in &group.events {
                let record = &records[*i];
                if let Some(partition) = &record.partition
                    && inputs.value.has_applied(partition, &record.id)
                {
                    applied.push(Applied::Unchanged);
                    continue;
                }
                let outcome = self.apply_one(&mut inputs.value, enriched, &ledger, &profile_id);
                if let Some(partition) = &record.partition {
                    inputs.value.note_applied(partition, &record.id);
                    changed = true;
                }
                changed |= outcome == Applied::Updated;
                applied.push(outcome);
            }
            if changed {
                updated.insert(group.key.clone(), inputs);
            }
            all.push(applied);
        }
        if !updated.is_empty() {
            self.tables
                .commit_profile(&profile_id, &members, &ledger, updated)
                .await?;
        }
        Ok(all)
    }

    /// Applies one event to a key's inputs in memory, if the consent gate
    /// allows it.
    fn apply_one(
        &self,
        inputs: &mut KeyInputs,
        enriched: &Enriched,
        ledger: &tailor_core::consent::Ledger,
        profile_id: &str,
    ) -> Applied {
        let Some(summary) = Summary::of(&enriched.ingested) else {
            return Applied::Ignored;
        };
        let gate = features::gate(&enriched.ingested, ledger, self.tables.policy());
        if !gate.allowed {
            debug!(step = NAME, profile = %profile_id, policies = ?gate.policies, "features blocked by policy");
            return Applied::Blocked(gate);
        }
        if inputs.past_horizon(summary.at) {
            return Applied::PastHorizon;
        }
        if inputs.apply(&summary) {
            Applied::Updated
        } else {
            Applied::Unchanged
        }
    }
}
