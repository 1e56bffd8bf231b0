//! The consent function: record each consent change in the ledger and
//! propagate it.
//!
//! - **grant**: recorded; nothing else changes (the events' own claims say
//!   what may be collected from then on).
//! - **revoke** of personalization: recorded; every feature input of the
//!   profile at or before the revocation is deleted and the profile's
//!   features are recomputed (or deleted when nothing is left). Later events
//!   only feed features again when their own consent grants it.
//! - **erase**: every feature input and the features of the profile are
//!   deleted, its identity nodes unlinked and deleted, its ledger replaced by
//!   an erasure tombstone per key (kept for the tombstone retention so late
//!   events about the person stay out).
//!
//! Each propagation writes a [`Completion`] record to the audit log, keyed
//! by the change's event id, as proof that it was carried out.

use std::collections::BTreeMap;

use tailor_core::batch::{BatchOutcome, Invocation, Record};
use tailor_core::consent::{Completion, Ledger, Tombstone};
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::event::{ConsentAction, Purpose};
use tailor_core::identity::{AuditKind, AuditRecord, UserNode, anon_key, user_key};
use tailor_core::message::Enriched;
use tailor_core::policy::Policy;
use tailor_core::ports::{Metered, Precondition, Store, StoreError, Table};
use tailor_core::state::{self, Loaded};
use tracing::{info, warn};

/// The function's name in reports, dead letters and logs.
pub const NAME: &str = "consent";

/// Everything the function needs, created once per process.
#[derive(Debug)]
pub struct Consent<'a, S> {
    /// The policy bundle.
    pub policy: &'a Policy,
    /// State.
    pub store: &'a Metered<S>,
}

impl<S: Store> Consent<'_, S> {
    /// Processes one batch of enriched consent changes.
    pub async fn handle(&self, records: &[Record]) -> BatchOutcome {
        let mut invocation = Invocation::begin(NAME, records);
        for record in records {
            let parsed = serde_json::from_slice::<Enriched>(&record.bytes)
                .map_err(|e| e.to_string())
                .and_then(|e| {
                    if e.ledger_entry().is_some() {
                        Ok(e)
                    } else {
                        Err("not a consent change".to_owned())
                    }
                });
            let disposition = match parsed {
                Err(detail) => {
                    let reason = DeadLetterReason::BadMessage;
                    state::set_aside(self.store, self.policy, NAME, reason, detail, record).await
                }
                Ok(enriched) => match self.apply(&enriched).await {
                    Ok(Some(_)) => Disposition::ACCEPTED,
                    Ok(None) => Disposition::DUPLICATE,
                    Err(e) => {
                        warn!(step = NAME, error = %e, "consent propagation failed");
                        e.disposition()
                    }
                },
            };
            invocation.record(record, disposition);
        }
        invocation.finish(self.store.take())
    }

    /// Records and propagates one consent change. Returns the completion
    /// record, or `None` when the change had been completed before.
    ///
    /// # Errors
    /// The store's error.
    pub async fn apply(&self, enriched: &Enriched) -> Result<Option<Completion>, StoreError> {
        let Some(entry) = enriched.ledger_entry() else {
            return Ok(None);
        };
        let completion_key = format!("consent/{}", entry.event_id);
        if self
            .store
            .get(Table::Audit, &completion_key)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let at = entry.at;
        let mut steps = BTreeMap::new();
        let (profile_id, members) = state::resolve(self.store, &enriched.key).await?;

        if entry.action == ConsentAction::Erase {
            self.erase(&profile_id, &members, at, &mut steps).await?;
            // The request names the person's keys. One that enrich had not
            // linked to the profile yet (its link arrives later) is erased
            // too, with whatever profile it has, so the order the events
            // arrive in does not decide what is kept.
            let subject = &enriched.ingested.event.subject;
            let named = [
                subject.anonymous_id.as_deref().map(anon_key),
                subject.user_id.as_deref().map(user_key),
            ];
            for key in named.into_iter().flatten() {
                if !members.contains(&key) {
                    let (other, other_members) = state::resolve(self.store, &key).await?;
                    let mut keys = other_members;
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                    self.erase(&other, &keys, at, &mut steps).await?;
                }
            }
        } else {
            let mut ledger: Loaded<Ledger> =
                state::load(self.store, Table::Consent, &enriched.key).await?;
            if ledger.value.record(entry.clone()) {
                // The ledger lives as long as its newest entry needs, so a
                // late, older change never shortens the proof of a newer one.
                let newest = ledger
                    .value
                    .entries
                    .keys()
                    .next_back()
                    .map_or(at, |(t, _)| *t);
                state::save(
                    self.store,
                    self.policy,
                    Table::Consent,
                    &enriched.key,
                    &ledger.value,
                    newest,
                    ledger.precondition(),
                )
                .await?;
            }
            steps.insert("ledger_recorded".to_owned(), 1);
            if entry.action == ConsentAction::Revoke
                && entry.purposes.contains(&Purpose::Personalization)
            {
                let before = self.count_inputs(&members).await?;
                let features =
                    state::recompute_profile(self.store, self.policy, &profile_id, &members)
                        .await?;
                let after = self.count_inputs(&members).await?;
                steps.insert(
                    "feature_inputs_deleted".to_owned(),
                    before.saturating_sub(after),
                );
                steps.insert("features_deleted".to_owned(), u64::from(features.is_none()));
                // Decisions are not cached yet; when they are, they are invalidated here.
            }
        }

        let completion = Completion {
            event_id: entry.event_id.clone(),
            profile_id: profile_id.clone(),
            action: entry.action,
            purposes: entry.purposes.clone(),
            steps: steps.clone(),
            at,
        };
        let audit = AuditRecord {
            kind: AuditKind::ConsentPropagated,
            profile_id: profile_id.clone(),
            key: enriched.key.clone(),
            evidence_event_id: entry.event_id.clone(),
            at,
            policies: Vec::new(),
            details: steps
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        };
        state::append(
            self.store,
            self.policy,
            Table::Audit,
            &audit.storage_key(),
            &audit,
            at,
        )
        .await?;
        state::append(
            self.store,
            self.policy,
            Table::Audit,
            &completion_key,
            &completion,
            at,
        )
        .await?;
        info!(step = NAME, profile = %profile_id, action = ?entry.action, "consent change propagated");
        Ok(Some(completion))
    }

    async fn count_inputs(&self, members: &[String]) -> Result<u64, StoreError> {
        let inputs: Vec<Loaded<tailor_core::features::KeyInputs>> =
            state::load_many(self.store, Table::FeatureInputs, members).await?;
        Ok(inputs
            .iter()
            .map(|i| i.value.events.len() as u64 + u64::from(i.value.subscription.is_some()))
            .sum())
    }

    async fn erase(
        &self,
        profile_id: &str,
        members: &[String],
        at: tailor_core::Timestamp,
        steps: &mut BTreeMap<String, u64>,
    ) -> Result<(), StoreError> {
        let before = self.count_inputs(members).await?;
        // Tombstones first: from here on, anything about the person from
        // before the erasure is kept out, whatever else fails.
        for key in members {
            let tombstone: Loaded<Option<Tombstone>> =
                state::load(self.store, Table::Tombstones, key).await?;
            let erased_at = tombstone.value.map_or(at, |t| t.erased_at.max(at));
            state::save(
                self.store,
                self.policy,
                Table::Tombstones,
                key,
                &Some(Tombstone { erased_at }),
                erased_at,
                Precondition::None,
            )
            .await?;
        }
        // The tombstones act as an erasure in the ledger: recomputing purges
        // every input up to the erasure (and keeps any from after it).
        state::recompute_profile(self.store, self.policy, profile_id, members).await?;
        let inputs = before.saturating_sub(self.count_inputs(members).await?);
        // The user's node goes last (members list it first), so a retry after
        // a failure part-way still finds every key through it.
        for key in members.iter().rev() {
            self.store.delete(Table::Consent, key).await?;
            if let Some(user) = key.strip_prefix("user:") {
                let node: Loaded<UserNode> =
                    state::load(self.store, Table::Identity, &user_key(user)).await?;
                if let Some((_, _, account)) = &node.value.account {
                    let acct_key = tailor_core::identity::account_key(account);
                    let mut acct: Loaded<tailor_core::identity::AccountNode> =
                        state::load(self.store, Table::Identity, &acct_key).await?;
                    if acct.value.users.remove(user) {
                        state::save(
                            self.store,
                            self.policy,
                            Table::Identity,
                            &acct_key,
                            &acct.value,
                            at,
                            acct.precondition(),
                        )
                        .await?;
                    }
                }
            }
            self.store.delete(Table::Identity, key).await?;
        }
        // Added up: one request may erase more than one profile.
        *steps
            .entry("feature_inputs_deleted".to_owned())
            .or_default() += inputs;
        *steps
            .entry("identity_keys_unlinked".to_owned())
            .or_default() += members.len() as u64;
        *steps.entry("tombstones_written".to_owned()).or_default() += members.len() as u64;
        Ok(())
    }
}
