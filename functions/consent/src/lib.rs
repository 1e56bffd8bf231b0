//! The consent function: record each consent change in the ledger and
//! propagate it.
//!
//! - **grant**: recorded; nothing else changes (the events' own claims say
//!   what may be collected from then on).
//! - **revoke** of personalization: recorded; every feature input of the
//!   profile at or before the revocation is deleted and the profile's
//!   features are recomputed (or deleted when nothing is left); its slow
//!   lanes are deleted (the next batch run computes them from what is
//!   left). Later events only feed features again when their own consent
//!   grants it.
//! - **erase**: every feature input, the features and the slow lanes of the
//!   profile are deleted, its identity nodes unlinked and deleted, its
//!   ledger replaced by an erasure tombstone per key (kept for the
//!   tombstone retention so late events about the person stay out).
//!
//! Each propagation writes a [`Completion`] record to the audit log, keyed
//! by the change's event id, as proof that it was carried out.

use std::collections::BTreeMap;

use tailor_core::batch::{BatchOutcome, Invocation, Record};
use tailor_core::consent::{Completion, Ledger, request_digest};
use tailor_core::disposition::Disposition;
use tailor_core::erasure;
use tailor_core::errors::ConsentError;
use tailor_core::event::{ConsentAction, Purpose};
use tailor_core::identity::{
    self, AccountNode, AnonNode, AuditKind, AuditRecord, UserNode, account_key, anon_key, user_key,
};
use tailor_core::message::Enriched;
use tailor_core::plan::Loaded;
use tailor_core::ports::{Metered, Store, StoreError, Table};
use tailor_core::tables::{self, Tables};
use tracing::{info, warn};

/// The function's name in reports, dead letters and logs.
pub const NAME: &str = "consent";

/// Everything the function needs, created once per process.
#[derive(Debug)]
pub struct Consent<'a, S> {
    /// The tables, with the policy and the tokenization key.
    pub tables: Tables<'a, Metered<S>>,
}

impl<S: Store> Consent<'_, S> {
    /// Processes one batch of enriched consent changes.
    pub async fn handle(&self, records: &[Record]) -> BatchOutcome {
        let mut invocation = Invocation::begin(NAME, records);
        for record in records {
            let done = match serde_json::from_slice::<Enriched>(&record.bytes) {
                Err(e) => Err(ConsentError::BadMessage(e.to_string())),
                Ok(e) if e.ledger_entry().is_none() => Err(ConsentError::NotAConsentChange),
                Ok(enriched) => self.apply(&enriched).await,
            };
            let disposition = match done {
                Ok(Some(_)) => Disposition::ACCEPTED,
                Ok(None) => Disposition::DUPLICATE,
                Err(e) => {
                    warn!(step = NAME, error = %e, "consent propagation failed");
                    self.tables.settle(NAME, record, &e).await
                }
            };
            invocation.record(record, disposition);
        }
        invocation.finish(self.tables.store().take())
    }

    /// Records and propagates one consent change. Returns the completion
    /// record, or `None` when the change had been completed before.
    ///
    /// # Errors
    /// The store's error.
    pub async fn apply(&self, enriched: &Enriched) -> Result<Option<Completion>, ConsentError> {
        let Some(entry) = enriched.ledger_entry() else {
            return Ok(None);
        };
        let completion_key = format!("consent/{}", entry.event_id);
        let request = request_digest(&enriched.ingested.event);
        let done: Loaded<Option<Completion>> =
            self.tables.load(Table::Audit, &completion_key).await?;
        if let Some(done) = done.value {
            // The same request again is a repeat; another request under the
            // same id is a conflict, never answered with this record.
            return if done.request.is_empty() || done.request == request {
                Ok(None)
            } else {
                Err(ConsentError::EventIdReused(entry.event_id))
            };
        }
        // An erasure is about the person, not a moment: it removes
        // everything held when it is processed, and its tombstones live
        // from then, however far back the request is dated. Grants and
        // revocations keep their own time (the consent rule orders by it).
        let at = if entry.action == ConsentAction::Erase {
            entry.at.max(enriched.ingested.received_at)
        } else {
            entry.at
        };
        let mut steps = BTreeMap::new();
        let (profile_id, members) = self.tables.resolve(&enriched.key).await?;
        // A grant or revocation from before an erasure of the person,
        // enriched before the erasure and handed here after it, is not
        // applied: it would start their ledger, and a subject key to seal
        // its audit record with, again. Its completion names no one.
        let erased = entry.action != ConsentAction::Erase
            && self
                .tables
                .erased_at(&members)
                .await?
                .is_some_and(|e| enriched.ingested.earliest() <= e);

        if erased {
            steps.insert("dropped_after_erasure".to_owned(), 1);
        } else if entry.action == ConsentAction::Erase {
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
            let requester = subject.user_id.as_deref().map(user_key);
            for key in named.into_iter().flatten() {
                if !members.contains(&key) {
                    let (other, other_members) = self.tables.resolve(&key).await?;
                    // A device another user owns is theirs: only the
                    // requester's claim on it goes (with the scrub above).
                    if other_members
                        .iter()
                        .any(|k| k.starts_with("user:") && Some(k) != requester.as_ref())
                    {
                        continue;
                    }
                    let mut keys = other_members;
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                    self.erase(&other, &keys, at, &mut steps).await?;
                }
            }
        } else {
            let mut ledger: Loaded<Ledger> =
                self.tables.load(Table::Consent, &enriched.key).await?;
            if ledger.value.record(entry.clone()) {
                // The ledger lives as long as its newest entry needs, so a
                // late, older change never shortens the proof of a newer one.
                let newest = ledger.value.newest().unwrap_or(at);
                self.tables
                    .save(
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
                let recompute = self.tables.recompute_profile(&profile_id, &members).await?;
                steps.insert("feature_inputs_deleted".to_owned(), recompute.purged);
                steps.insert(
                    "features_deleted".to_owned(),
                    u64::from(recompute.features.is_none()),
                );
                // The slow lane was computed from what is no longer
                // allowed; the next batch run computes it again from what is.
                let dropped = self.tables.drop_slow_lanes(&profile_id, &members).await?;
                steps.insert("slow_lanes_deleted".to_owned(), dropped);
                // Decisions are not cached yet; when they are, they are invalidated here.
            }
        }

        let completion = Completion {
            event_id: entry.event_id.clone(),
            profile_id: (entry.action != ConsentAction::Erase && !erased)
                .then(|| profile_id.clone()),
            action: entry.action,
            purposes: entry.purposes.clone(),
            steps: steps.clone(),
            request,
            at,
        };
        // An erasure's proof is its completion record alone: an audit
        // record sealed for the person would need a subject key for them
        // again, just after their keys were deleted.
        if entry.action != ConsentAction::Erase && !erased {
            self.audit(enriched, &entry, &steps, &profile_id, at)
                .await?;
        }
        self.tables
            .append(Table::Audit, &completion_key, &completion, at)
            .await?;
        info!(step = NAME, profile = %profile_id, action = ?entry.action, "consent change propagated");
        Ok(Some(completion))
    }

    /// Records in the audit log that a grant or revocation was propagated.
    async fn audit(
        &self,
        enriched: &Enriched,
        entry: &tailor_core::consent::LedgerEntry,
        steps: &BTreeMap<String, u64>,
        profile_id: &str,
        at: tailor_core::Timestamp,
    ) -> Result<(), StoreError> {
        let audit = AuditRecord {
            kind: AuditKind::ConsentPropagated,
            profile_id: profile_id.to_owned(),
            key: enriched.key.clone(),
            evidence_event_id: entry.event_id.clone(),
            at,
            policies: Vec::new(),
            details: steps
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        };
        self.tables.audit(&audit, at).await
    }

    /// Loads what is stored about a profile, plans its erasure and applies
    /// the plan; a plan that lost a write race is made again from fresh reads.
    async fn erase(
        &self,
        profile_id: &str,
        members: &[String],
        at: tailor_core::Timestamp,
        steps: &mut BTreeMap<String, u64>,
    ) -> Result<(), StoreError> {
        // The tombstones first, on their own; then the whole plan, from
        // reads made after them. A step that read before the tombstones
        // (enrich with a late event of the person's) and wrote a node
        // before these reads has it found and erased here; one that writes
        // after them writes after the tombstones, and enrich reads those
        // again whenever it creates a node, and takes its writes back.
        self.carry_out(profile_id, members, at, true).await?;
        let erasure = self.carry_out(profile_id, members, at, false).await?;
        // Every record sealed for the person (decisions, audit records,
        // dead letters) becomes unreadable with their subject keys: those
        // of the profile and of each key's own profile, whichever any of
        // them was kept under.
        let mut profiles: Vec<String> = std::iter::once(profile_id.to_owned())
            .chain(members.iter().filter_map(|k| identity::own_profile(k)))
            .collect();
        profiles.sort();
        profiles.dedup();
        let keys_deleted = self.tables.forget_subjects(&profiles, at).await?;
        *steps.entry("subject_keys_deleted".to_owned()).or_default() += keys_deleted;
        // Added up: one request may erase more than one profile.
        *steps
            .entry("feature_inputs_deleted".to_owned())
            .or_default() += erasure.inputs_deleted;
        *steps
            .entry("identity_keys_unlinked".to_owned())
            .or_default() += erasure.keys;
        *steps.entry("tombstones_written".to_owned()).or_default() += erasure.keys;
        *steps
            .entry("consent_completions_deleted".to_owned())
            .or_default() += erasure.completions_deleted;
        *steps
            .entry("other_identity_nodes_scrubbed".to_owned())
            .or_default() += erasure.nodes_scrubbed;
        *steps.entry("slow_lanes_deleted".to_owned()).or_default() += erasure.slow_lanes_deleted;
        Ok(())
    }

    /// Plans the erasure from fresh reads and makes its changes (only its
    /// marks, the index listings and tombstones, when `marks_only`),
    /// planning again after a lost write race.
    async fn carry_out(
        &self,
        profile_id: &str,
        members: &[String],
        at: tailor_core::Timestamp,
        marks_only: bool,
    ) -> Result<erasure::Erasure, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let stored = self.stored(profile_id, members, at).await?;
            let erasure = erasure::plan(profile_id, members, at, stored, self.tables.tokens())?;
            let changes = if marks_only {
                &erasure.changes[..erasure.marks]
            } else {
                &erasure.changes[..]
            };
            match self.tables.apply(changes).await {
                Ok(()) => return Ok(erasure),
                Err(StoreError::Conflict { .. }) if attempt < tables::ATTEMPTS => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Everything [`erasure::plan`] needs about a profile.
    async fn stored(
        &self,
        profile_id: &str,
        members: &[String],
        at: tailor_core::Timestamp,
    ) -> Result<erasure::Stored, StoreError> {
        let user = members.iter().find_map(|k| k.strip_prefix("user:"));
        let user_node: Option<Loaded<UserNode>> = match user {
            Some(user) => Some(self.tables.load(Table::Identity, &user_key(user)).await?),
            None => None,
        };
        let account = match (user, &user_node) {
            (Some(user), Some(node)) => match &node.value.account {
                Some((_, _, account)) => {
                    let acct: Loaded<AccountNode> = self
                        .tables
                        .load(Table::Identity, &account_key(account))
                        .await?;
                    Some((user.to_owned(), account.clone(), acct))
                }
                None => None,
            },
            _ => None,
        };
        // Keys outside the profile that name the user: claimed, or linked
        // by likelihood through the account.
        let mut outside: Vec<String> = user_node
            .iter()
            .flat_map(|n| n.value.claimed.keys())
            .chain(account.iter().flat_map(|(_, _, a)| a.value.probable.iter()))
            .map(|a| anon_key(a))
            .filter(|k| !members.contains(k))
            .collect();
        outside.sort();
        outside.dedup();
        let foreign_nodes: Vec<Loaded<AnonNode>> =
            self.tables.load_many(Table::Identity, &outside).await?;
        let foreign = outside.into_iter().zip(foreign_nodes).collect();
        // Other users claiming the member anonymous keys.
        let member_anons: Vec<String> = members
            .iter()
            .filter(|k| k.starts_with("anon:"))
            .cloned()
            .collect();
        let anon_nodes: Vec<Loaded<AnonNode>> = self
            .tables
            .load_many(Table::Identity, &member_anons)
            .await?;
        let mut others: Vec<String> = anon_nodes
            .iter()
            .flat_map(|n| n.value.claims.iter().map(|c| c.user_id.clone()))
            .filter(|u| Some(u.as_str()) != user)
            .collect();
        others.sort();
        others.dedup();
        let other_keys: Vec<String> = others.iter().map(|u| user_key(u)).collect();
        let other_nodes: Vec<Loaded<UserNode>> =
            self.tables.load_many(Table::Identity, &other_keys).await?;
        let claimants = others.into_iter().zip(other_nodes).collect();
        let tokens: Vec<String> = members
            .iter()
            .map(|k| tailor_core::consent::tombstone_key(self.tables.tokens(), k))
            .collect();
        let retention = self
            .tables
            .policy()
            .retention_ms(Table::Tombstones.retention_store());
        Ok(erasure::Stored {
            index: self.tables.erasure_shards(&tokens).await?,
            horizon: Some(at.add_millis(retention.saturating_neg())),
            tombstones: self.tables.tombstones(members).await?,
            ledger: self.tables.ledger_of(members).await?,
            features: self.tables.store().get(Table::Features, profile_id).await?,
            inputs: self.tables.load_many(Table::FeatureInputs, members).await?,
            slow_lanes: self.tables.slow_lanes_of(profile_id, members).await?,
            account,
            foreign,
            claimants,
        })
    }
}
