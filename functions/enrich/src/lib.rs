//! The enrich function: resolve each ingested event's keys to one profile,
//! record merges and unmerges in the audit log, attach the consent state,
//! and pass the event on (behavioural events to features, consent changes
//! to consent).
//!
//! Identity nodes are written with version preconditions; a lost race
//! reloads and resolves again, up to [`ATTEMPTS`] times, then asks the
//! platform to redeliver the record.

use tailor_core::batch::{BatchOutcome, Invocation, Record};
use tailor_core::disposition::Disposition;
use tailor_core::errors::EnrichError;
use tailor_core::event::EventType;
use tailor_core::identity::{
    self, AccountNode, AnonNode, IdentityView, Resolution, UserNode, account_key, anon_key,
    user_key,
};
use tailor_core::ingest::Ingested;
use tailor_core::message::{ConsentSnapshot, Enriched};
use tailor_core::plan::Loaded;
use tailor_core::ports::{Metered, Publisher, Store, StoreError, Table, Topic};
use tailor_core::report::InvocationReport;
use tailor_core::tables::Tables;
use tailor_core::tables::cache::Cached;
use tracing::{debug, warn};

/// The function's name in reports, dead letters and logs.
pub const NAME: &str = "enrich";
/// How many times a record is resolved again after losing a write race.
pub const ATTEMPTS: usize = 3;

/// Everything the function needs, created once per process.
#[derive(Debug)]
pub struct Enrich<'a, S, P> {
    /// The tables, with the policy and the tokenization key.
    pub tables: Tables<'a, Metered<S>>,
    /// The streams to features and consent.
    pub publisher: &'a P,
}

/// The loaded nodes, with the version each was read at by storage key
/// (`None`: absent), which its write expects.
struct Loaded4 {
    view: IdentityView,
    versions: std::collections::BTreeMap<String, Option<u64>>,
}

impl<S: Store, P: Publisher> Enrich<'_, S, P> {
    /// Processes one batch of ingested events.
    ///
    /// The batch's identity nodes and tombstones are read in one call each
    /// before the first record, and every later read of them in the batch
    /// is answered from that read and the batch's own writes
    /// ([`Cached`]): one person's events in a batch cost one read per key.
    pub async fn handle(&self, records: &[Record]) -> BatchOutcome {
        let mut invocation = Invocation::begin(NAME, records);
        let parsed: Vec<_> = records
            .iter()
            .map(|r| serde_json::from_slice::<Ingested>(&r.bytes))
            .collect();
        let cache = Cached::new(self.tables.store());
        self.warm(self.tables.over(&cache), parsed.iter().flatten())
            .await;
        for (record, ingested) in records.iter().zip(parsed) {
            let done = match ingested {
                Err(e) => Err(EnrichError::BadMessage(e.to_string())),
                Ok(ingested) => self.enrich(&cache, &ingested, invocation.report()).await,
            };
            let disposition = match done {
                Ok(()) => Disposition::ACCEPTED,
                Err(e) => {
                    warn!(step = NAME, error = %e, "enrich failed");
                    self.tables.settle(NAME, record, &e).await
                }
            };
            invocation.record(record, disposition);
        }
        invocation.finish(self.tables.store().take())
    }

    /// Reads the nodes and tombstones of every key of `events` in one call
    /// per table. A failure is only logged: each record then reads its own
    /// and meets the failure itself.
    async fn warm<'e>(
        &self,
        cached: Tables<'_, Cached<'_, Metered<S>>>,
        events: impl Iterator<Item = &'e Ingested>,
    ) {
        let mut nodes = Vec::new();
        let mut people = Vec::new();
        for ingested in events {
            let [anon, user, account] = node_keys(&ingested.event.subject);
            people.extend(anon.iter().chain(&user).cloned());
            nodes.extend([anon, user, account].into_iter().flatten());
        }
        let warmed = match cached.store().warm(Table::Identity, &nodes).await {
            Ok(()) => cached.tombstones(&people).await.map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = warmed {
            warn!(step = NAME, error = %e, "identity could not be read ahead");
        }
    }

    /// Enriches one event, resolving it again after a lost write race.
    ///
    /// The writer that won may have been an erasure, which writes the
    /// person's tombstones before it deletes their nodes: the retry reads
    /// the tombstones and the erasure index again rather than answering
    /// from the batch's first read, so an event from before the erasure
    /// goes no further and nothing of the person is written back.
    async fn enrich(
        &self,
        cache: &Cached<'_, Metered<S>>,
        ingested: &Ingested,
        report: &mut InvocationReport,
    ) -> Result<(), EnrichError> {
        let tables = self.tables.over(cache);
        for _ in 0..ATTEMPTS {
            match self.try_enrich(tables, ingested, report).await {
                Err(EnrichError::Store(StoreError::Conflict { .. })) => {
                    debug!(step = NAME, "identity write raced; resolving again");
                    cache.forget_table(Table::Tombstones);
                    cache.forget_table(Table::ErasureIndex);
                }
                other => return other,
            }
        }
        Err(EnrichError::Contended(ATTEMPTS))
    }

    /// Loads the event's identity nodes in one batched read, its tombstones
    /// in another, and, for a link, the other claimants' nodes in a third.
    async fn load(
        &self,
        tables: Tables<'_, impl Store>,
        ingested: &Ingested,
    ) -> Result<Loaded4, StoreError> {
        let s = &ingested.event.subject;
        let subject_keys = node_keys(s);
        let all: Vec<String> = subject_keys.iter().flatten().cloned().collect();
        let items = tables.store().get_many(Table::Identity, &all).await?;
        let mut items = items.iter();
        let mut next = || items.next().and_then(Option::as_ref);
        let anon: Option<Loaded<AnonNode>> = match &s.anonymous_id {
            Some(_) => Some(Loaded::from_item(Table::Identity, next())?),
            None => None,
        };
        let user: Option<Loaded<UserNode>> = match &s.user_id {
            Some(_) => Some(Loaded::from_item(Table::Identity, next())?),
            None => None,
        };
        let account: Option<Loaded<AccountNode>> = match &s.account_id {
            Some(_) => Some(Loaded::from_item(Table::Identity, next())?),
            None => None,
        };
        let erased_at = tables.erased_at(&person_keys(s)).await?;

        let mut versions = std::collections::BTreeMap::new();
        let subject_versions = [
            anon.as_ref().map(|n| n.version),
            user.as_ref().map(|n| n.version),
            account.as_ref().map(|n| n.version),
        ];
        for (key, version) in subject_keys.into_iter().zip(subject_versions) {
            if let (Some(key), Some(version)) = (key, version) {
                versions.insert(key, version);
            }
        }

        // A link can let go of the key the user claimed least recently,
        // and move it, or this one, between its claimants (the current
        // owner among them): load those nodes so the moves are written
        // consistently.
        let mut others = std::collections::BTreeMap::new();
        let mut releasing = None;
        if let (Some(a), Some(u), Some(user_id)) = (&anon, &user, &s.user_id) {
            let mut anons = vec![a.value.clone()];
            let limit = self.tables.policy().max_anonymous_per_user();
            let at = ingested.occurred_at;
            let anon_id = s.anonymous_id.as_deref().unwrap_or_default();
            if let Some(other) = u.value.to_release(anon_id, at, limit)
                && other != anon_id
            {
                let key = anon_key(&other);
                let node: Loaded<AnonNode> = tables.load(Table::Identity, &key).await?;
                versions.insert(key, node.version);
                anons.push(node.value.clone());
                releasing = Some((other, node.value));
            }
            let mut claimants: Vec<String> = anons
                .iter()
                .flat_map(|n| n.claims.iter().map(|c| c.user_id.clone()))
                .filter(|u| u != user_id)
                .collect();
            claimants.sort();
            claimants.dedup();
            let claimant_keys: Vec<String> = claimants.iter().map(|u| user_key(u)).collect();
            let nodes: Vec<Loaded<UserNode>> =
                tables.load_many(Table::Identity, &claimant_keys).await?;
            for ((user_id, key), node) in claimants.into_iter().zip(claimant_keys).zip(nodes) {
                versions.insert(key, node.version);
                others.insert(user_id, node.value);
            }
        }
        Ok(Loaded4 {
            versions,
            view: IdentityView {
                anon: anon.map(|a| a.value),
                user: user.map(|u| u.value),
                others,
                account: account.map(|a| a.value),
                releasing,
                erased_at,
            },
        })
    }

    async fn try_enrich(
        &self,
        tables: Tables<'_, impl Store>,
        ingested: &Ingested,
        report: &mut InvocationReport,
    ) -> Result<(), EnrichError> {
        let loaded = self.load(tables, ingested).await?;
        // A late event about a person erased since goes no further: nothing
        // downstream may keep it, not even the offline log. An erasure
        // request is carried out again.
        let erased = loaded
            .view
            .erased_at
            .is_some_and(|e| ingested.earliest() <= e);
        if erased && !is_erasure(ingested) {
            debug!(step = NAME, "event about an erased person dropped");
            // The rule features would apply to it, applied here.
            *report
                .policy_blocks
                .entry("features-stop-after-revocation".to_owned())
                .or_default() += 1;
            return Ok(());
        }
        let resolution = identity::resolve(ingested, &loaded.view, self.tables.policy());
        let written = self.apply(tables, ingested, &loaded, &resolution).await?;
        if written.created && self.erased_since_read(ingested).await? {
            // An erasure that read before this event's first node of the
            // person was written could not see it: take back what this
            // event wrote, and let the event go no further.
            debug!(
                step = NAME,
                "event about a person erased meanwhile withdrawn"
            );
            for key in &written.nodes {
                tables.store().delete(Table::Identity, key).await?;
            }
            if !written.sealed_for.is_empty() {
                tables
                    .forget_subjects(&written.sealed_for, ingested.occurred_at)
                    .await?;
            }
            *report
                .policy_blocks
                .entry("features-stop-after-revocation".to_owned())
                .or_default() += 1;
            return Ok(());
        }

        let consent_change = ingested.event.event_type == EventType::ConsentChange;
        // A consent change carries the person's keys and ledger (its
        // erasure must find every key); any other event only its claim:
        // features reads the profile's ledger itself, so enrich reads no
        // more than identity for it.
        let (members, consent) = if consent_change {
            let (_, members) = tables.resolve(&resolution.key).await?;
            let ledger = tables.ledger_of(&members).await?;
            let consent = ConsentSnapshot {
                claimed: ingested.event.consent.purposes.clone(),
                ledger: ledger.current().into_iter().collect(),
                blocked: ledger.blocked_at(ingested.earliest()),
            };
            (members, consent)
        } else {
            let consent = ConsentSnapshot {
                claimed: ingested.event.consent.purposes.clone(),
                ..ConsentSnapshot::default()
            };
            (Vec::new(), consent)
        };
        let changed = resolution.changed_profiles.clone().into_iter().collect();
        let enriched = Enriched {
            ingested: ingested.clone(),
            profile_id: resolution.profile_id.clone(),
            key: resolution.key.clone(),
            members,
            changed_profiles: changed,
            consent,
        };
        let topic = if consent_change {
            Topic::ConsentChanges
        } else {
            Topic::Enriched
        };
        let payload =
            serde_json::to_vec(&enriched).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        report.bytes_out += payload.len() as u64;
        report.records_out += 1;
        self.publisher
            .publish(topic, &enriched.profile_id, payload)
            .await?;
        debug!(step = NAME, profile = %enriched.profile_id, "event enriched");
        Ok(())
    }

    /// Whether the event's person has been erased since the event was
    /// read, by their tombstones read again past the batch's cache.
    ///
    /// Asked once an event has created an identity node: an erasure deletes
    /// the nodes it finds, and writes the person's tombstones before it
    /// reads what to erase (the consent function), so a node written
    /// before those reads is found by the erasure, and one written after
    /// them is written after the tombstones, which this read then finds.
    async fn erased_since_read(&self, ingested: &Ingested) -> Result<bool, StoreError> {
        Ok(self
            .tables
            .erased_at(&person_keys(&ingested.event.subject))
            .await?
            .is_some_and(|e| ingested.earliest() <= e))
    }

    /// Writes a resolution: the moved consent blocks, the user and account
    /// nodes, the audit records, then the anonymous nodes. Returns what
    /// was written, for [`Self::erased_since_read`]'s undo.
    async fn apply(
        &self,
        tables: Tables<'_, impl Store>,
        ingested: &Ingested,
        loaded: &Loaded4,
        r: &Resolution,
    ) -> Result<Written, StoreError> {
        let at = ingested.occurred_at;
        let subject = &ingested.event.subject;
        // Every node written was loaded; its version is the precondition.
        let version = |key: &String| loaded.versions.get(key).copied().flatten();
        let precondition = |key: &String| tailor_core::ports::Precondition::expecting(version(key));
        // The person's own nodes, and any node this event brings into
        // being, are what an undo takes back; other people's nodes it
        // changed are theirs.
        let own = person_keys(subject);
        let all = || {
            r.user_writes
                .keys()
                .chain(r.account_writes.keys())
                .chain(r.anon_writes.keys())
        };
        let own_profiles: Vec<String> = own
            .iter()
            .filter_map(|k| identity::own_profile(k))
            .chain([r.profile_id.clone()])
            .collect();
        let written = Written {
            created: all().any(|k| version(k).is_none()),
            nodes: all()
                .filter(|k| version(k).is_none() || own.contains(k))
                .cloned()
                .collect(),
            sealed_for: r
                .audit
                .iter()
                .map(|a| a.profile_id.clone())
                .filter(|p| own_profiles.contains(p))
                .collect(),
        };
        // A key leaving a user's profile (a transfer to an earlier
        // claimant, or the fan-out limit) leaves its revocations with the
        // user first: an unlink never widens what the person consented to.
        for record in r.audit.iter().filter(|a| {
            matches!(
                a.kind,
                identity::AuditKind::Unmerge | identity::AuditKind::Released
            )
        }) {
            let anchor = r
                .user_writes
                .keys()
                .find(|k| identity::own_profile(k).as_deref() == Some(record.profile_id.as_str()));
            if let Some(anchor) = anchor {
                tables.keep_blocks(&record.key, anchor).await?;
            }
        }
        for (key, node) in &r.user_writes {
            tables
                .save(Table::Identity, key, node, at, precondition(key))
                .await?;
        }
        for (key, node) in &r.account_writes {
            tables
                .save(Table::Identity, key, node, at, precondition(key))
                .await?;
        }
        for record in &r.audit {
            tables.audit(record, at).await?;
        }
        // The event's anonymous node is the commit point: written last, so
        // a failure before it leaves the claim unrecorded and the retry
        // redoes everything.
        let own = subject.anonymous_id.as_deref().map(anon_key);
        let mut anon_writes: Vec<_> = r.anon_writes.iter().collect();
        anon_writes.sort_by_key(|(key, _)| Some(*key) == own.as_ref());
        for (key, node) in anon_writes {
            // Kept as long as its newest evidence needs.
            let newest = node.claims.iter().map(|c| c.at).max().unwrap_or(at).max(at);
            tables
                .save(Table::Identity, key, node, newest, precondition(key))
                .await?;
        }
        Ok(written)
    }
}

/// What [`Enrich::apply`] wrote for one event.
struct Written {
    /// The identity nodes an undo deletes: the person's own, and those
    /// the event created.
    nodes: Vec<String>,
    /// Whether the event created a node.
    created: bool,
    /// The profiles audit records were sealed for.
    sealed_for: Vec<String>,
}

/// The storage keys of an event's person, anonymous then user: those their
/// tombstones are kept under (an account's node is not a person's).
fn person_keys(s: &tailor_core::event::Subject) -> Vec<String> {
    node_keys(s)[..2].iter().flatten().cloned().collect()
}

/// The storage keys of an event's anonymous, user and account nodes.
fn node_keys(s: &tailor_core::event::Subject) -> [Option<String>; 3] {
    [
        s.anonymous_id.as_deref().map(anon_key),
        s.user_id.as_deref().map(user_key),
        s.account_id.as_deref().map(account_key),
    ]
}

/// Whether the event asks for an erasure.
fn is_erasure(ingested: &Ingested) -> bool {
    tailor_core::consent::LedgerEntry::from_ingested(ingested)
        .is_some_and(|e| e.action == tailor_core::event::ConsentAction::Erase)
}
