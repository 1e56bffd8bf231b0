//! Online features: per-key inputs, kept idempotent and order-insensitive,
//! and per-profile feature values computed from them.
//!
//! State is kept per identity key as bounded, time-bucketed aggregates
//! ([`KeyInputs`]) that do not depend on the order events arrive in. A
//! profile's state is its member keys' inputs merged ([`ProfileState`]),
//! and its feature values are evaluated from that state at the moment they
//! are read, so windows are measured back from the decision, not from the
//! person's last event. Everything is a pure function of the events, the
//! consent ledger and the evaluation time, so the same code serves the
//! online path, the backfill from a historical log ([`backfill`]) and the
//! training export: parity by construction.

mod compute;
mod inputs;
mod slow;

pub use compute::{Feature, ProfileFeatures, ProfileState, WINDOWS, compute};
pub use inputs::{
    Bucket, Cart, CartLine, FEATURE_TYPES, HORIZON_MS, KeyInputs, MAX_BUCKETS, MAX_BYTES,
    MAX_CART_LINES, MAX_IDS, MAX_PARTITIONS, MAX_PLAN_LEN, MAX_SESSIONS_PER_BUCKET,
    SESSION_SPAN_MS, Subscription, Summary, TIERS, position_after,
};
pub use slow::{History, SLOW_FEATURES, is_slow};

use std::collections::BTreeMap;

use crate::Timestamp;
use crate::consent::Ledger;
use crate::event::{EventType, Purpose};
use crate::ingest::Ingested;
use crate::plan::Change;
use crate::plan::Loaded;
use crate::policy::{Policy, PolicyDecision};
use crate::ports::{Item, Precondition, StoreError, Table};

/// Whether features may be built from `ingested` for a profile with `ledger`.
/// The event's consent claim must grant personalization, and no revocation or
/// erasure may be at or after its time: the earlier of its reported and
/// corrected times ([`Ingested::earliest`]), so a delivery that waited is
/// never taken as after a revocation it preceded.
#[must_use]
pub fn gate(ingested: &Ingested, ledger: &Ledger, policy: &Policy) -> PolicyDecision {
    gate_by(
        ingested.event.event_type,
        &ingested.event.consent.purposes,
        ingested.earliest(),
        ledger,
        policy,
    )
}

/// [`gate`], from the three things of an event it reads.
fn gate_by(
    event_type: EventType,
    purposes: &[Purpose],
    earliest: Timestamp,
    ledger: &Ledger,
    policy: &Policy,
) -> PolicyDecision {
    policy.build_features(event_type, purposes, &ledger.blocked_at(earliest))
}

/// Removes from `inputs` everything the ledger no longer allows: what is at
/// or before the latest revocation of personalization. Returns how many
/// events went.
pub fn purge(inputs: &mut KeyInputs, ledger: &Ledger) -> usize {
    ledger
        .last_block(Purpose::Personalization)
        .map_or(0, |t| inputs.remove_through(t))
}

/// What recomputing a profile's state changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Recompute {
    /// The writes, in order: the profile's state written (or deleted when
    /// nothing is left), then the inputs that changed: those the ledger no
    /// longer allows, purged, and those given as updated. The inputs write
    /// comes last, so it is the commit point: if anything before it fails,
    /// applying the same events again starts from the inputs as they were.
    /// An unchanged state is not written again.
    pub changes: Vec<Change>,
    /// The profile's state now; `None` when nothing is left.
    pub features: Option<ProfileState>,
    /// Events purged from the inputs.
    pub purged: u64,
}

/// Recomputes a profile's state from its members' inputs (as loaded, with
/// their versions, or as updated in memory: the keys in `updated`),
/// purging what `ledger` no longer allows. The state write expects
/// `current`'s version and each inputs write the version its value was
/// loaded at, so a recompute from inputs another writer changed since loses
/// the race and is made again.
///
/// # Errors
/// `Corrupt` when a value does not serialize.
pub fn recompute(
    profile_id: &str,
    current: Option<&Item>,
    ledger: &Ledger,
    members: &[String],
    inputs: Vec<Loaded<KeyInputs>>,
    updated: &[String],
) -> Result<Recompute, StoreError> {
    let mut input_changes = Vec::new();
    let mut purged = 0;
    let mut values = Vec::with_capacity(inputs.len());
    for (key, mut loaded) in members.iter().zip(inputs) {
        let n = purge(&mut loaded.value, ledger);
        purged += n as u64;
        if n > 0 || updated.contains(key) {
            input_changes.push(if loaded.value.is_empty() {
                if loaded.version.is_none() {
                    // Nothing stored, nothing to delete.
                    values.push(loaded.value);
                    continue;
                }
                Change::delete(Table::FeatureInputs, key)
            } else {
                Change::save(
                    Table::FeatureInputs,
                    key,
                    &loaded.value,
                    loaded.value.anchor(),
                    loaded.precondition(),
                )?
            });
        }
        values.push(loaded.value);
    }
    let mut changes = Vec::new();
    let features = ProfileState::of(profile_id, &values).map(|f| f.owned_by(members));
    match &features {
        Some(f) => {
            let change = Change::save(
                Table::Features,
                profile_id,
                f,
                f.inputs.anchor(),
                Precondition::expecting(current.map(|item| item.version)),
            )?;
            let unchanged = matches!(
                (&change, current),
                (Change::Save { value, .. }, Some(item)) if *value == item.value
            );
            if !unchanged {
                changes.push(change);
            }
        }
        None => {
            if current.is_some() {
                changes.push(Change::delete(Table::Features, profile_id));
            }
        }
    }
    changes.extend(input_changes);
    Ok(Recompute {
        changes,
        features,
        purged,
    })
}

/// One event for the backfill: what enrich resolved it to.
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    /// The profile it belonged to at enrich time.
    pub profile_id: String,
    /// The key its inputs are kept under.
    pub key: String,
    /// The event.
    pub ingested: Ingested,
}

impl From<crate::message::Enriched> for LoggedEvent {
    /// An offline log line: the enriched message as enrich published it.
    fn from(e: crate::message::Enriched) -> Self {
        Self {
            profile_id: e.profile_id,
            key: e.key,
            ingested: e.ingested,
        }
    }
}

/// What the replays of a log read of a logged event, and nothing more: its
/// key, what the consent gate asks of it ([`gate`]) and its features
/// [`Summary`]. A log is held this way while it is replayed: a small
/// fraction of the event it was read from (whose properties, context and
/// producer the replays never read), so a batch run over a long log holds
/// it in a fraction of the memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Admissible {
    /// The key its inputs are kept under.
    pub key: String,
    /// When it happened, skew-corrected ([`Ingested::occurred_at`]).
    pub occurred_at: Timestamp,
    /// The earlier of its reported and corrected times ([`Ingested::earliest`]).
    pub earliest: Timestamp,
    /// Its type.
    pub event_type: EventType,
    /// The purposes its consent claim grants, a bit each
    /// ([`Admissible::purposes`]).
    granted: u8,
    /// Its summary, `None` for types features do not use.
    pub summary: Option<Summary>,
}

impl Admissible {
    /// The purposes its consent claim grants.
    #[must_use]
    pub fn purposes(&self) -> Vec<Purpose> {
        Purpose::in_mask(self.granted)
    }

    /// Whether features may be built from it for a profile with `ledger`:
    /// [`gate`], for the event it was read from.
    #[must_use]
    pub fn gate(&self, ledger: &Ledger, policy: &Policy) -> PolicyDecision {
        gate_by(
            self.event_type,
            &self.purposes(),
            self.earliest,
            ledger,
            policy,
        )
    }
}

impl From<&LoggedEvent> for Admissible {
    fn from(logged: &LoggedEvent) -> Self {
        let ingested = &logged.ingested;
        Self {
            key: logged.key.clone(),
            occurred_at: ingested.occurred_at,
            earliest: ingested.earliest(),
            event_type: ingested.event.event_type,
            granted: Purpose::mask(&ingested.event.consent.purposes),
            summary: Summary::of(ingested),
        }
    }
}

impl From<LoggedEvent> for Admissible {
    fn from(logged: LoggedEvent) -> Self {
        Self::from(&logged)
    }
}

/// Replays a log into each final profile's member inputs, with exactly the
/// code the online path uses: an event counts when `keep` accepts it and the
/// consent gate admits it under its profile's final ledger; inputs are then
/// purged by that ledger. `profile_of` maps an identity key to its final
/// profile (`None` for keys that were erased).
#[must_use]
pub fn replay<'a>(
    log: impl IntoIterator<Item = &'a Admissible>,
    profile_of: impl Fn(&str) -> Option<String>,
    ledgers: &BTreeMap<String, Ledger>,
    policy: &Policy,
    keep: impl Fn(&Admissible) -> bool,
) -> BTreeMap<String, Vec<KeyInputs>> {
    replay_keyed(log, profile_of, ledgers, policy, keep, |_, _, _| {})
        .into_iter()
        .map(|(profile, (_, inputs))| (profile, inputs))
        .collect()
}

/// Calls `each(profile, key, summary)` for every event of `log` that
/// `keep` accepts, whose key still has a profile, and that the consent gate
/// admits under that profile's final ledger.
fn admitted<'a>(
    log: impl IntoIterator<Item = &'a Admissible>,
    profile_of: impl Fn(&str) -> Option<String>,
    ledgers: &BTreeMap<String, Ledger>,
    policy: &Policy,
    keep: impl Fn(&Admissible) -> bool,
    mut each: impl FnMut(String, &str, &Summary),
) {
    let empty = Ledger::default();
    for logged in log.into_iter().filter(|l| keep(l)) {
        let Some(summary) = &logged.summary else {
            continue;
        };
        let Some(profile) = profile_of(&logged.key) else {
            continue;
        };
        let ledger = ledgers.get(&profile).unwrap_or(&empty);
        if logged.gate(ledger, policy).allowed {
            each(profile, &logged.key, summary);
        }
    }
}

/// [`replay`], with each profile's member keys beside their inputs.
fn replay_keyed<'a>(
    log: impl IntoIterator<Item = &'a Admissible>,
    profile_of: impl Fn(&str) -> Option<String>,
    ledgers: &BTreeMap<String, Ledger>,
    policy: &Policy,
    keep: impl Fn(&Admissible) -> bool,
    mut also: impl FnMut(&str, &str, &Summary),
) -> BTreeMap<String, (Vec<String>, Vec<KeyInputs>)> {
    let empty = Ledger::default();
    let mut inputs: BTreeMap<String, KeyInputs> = BTreeMap::new();
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    admitted(
        log,
        profile_of,
        ledgers,
        policy,
        keep,
        |profile, key, summary| {
            also(&profile, key, summary);
            inputs.entry(key.to_owned()).or_default().apply(summary);
            let keys = members.entry(profile).or_default();
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        },
    );
    members
        .into_iter()
        .map(|(profile, keys)| {
            let ledger = ledgers.get(&profile).unwrap_or(&empty);
            let mut member_inputs: Vec<KeyInputs> =
                keys.iter().filter_map(|k| inputs.get(k).cloned()).collect();
            for i in &mut member_inputs {
                purge(i, ledger);
            }
            (profile, (keys, member_inputs))
        })
        .collect()
}

/// Each final profile's whole history for the slow lane, admitted by the
/// same gate as the online path and purged by the profile's final ledger;
/// profiles with nothing left are absent.
#[must_use]
pub fn histories<'a>(
    log: impl IntoIterator<Item = &'a Admissible>,
    profile_of: impl Fn(&str) -> Option<String>,
    ledgers: &BTreeMap<String, Ledger>,
    policy: &Policy,
) -> BTreeMap<String, History> {
    let mut histories: BTreeMap<String, History> = BTreeMap::new();
    admitted(
        log,
        profile_of,
        ledgers,
        policy,
        |_| true,
        |profile, key, summary| {
            histories
                .entry(profile)
                .or_default()
                .push(key, summary.clone());
        },
    );
    purged(histories, ledgers)
}

/// `histories` purged by each profile's ledger, without the ones left empty.
fn purged(
    histories: BTreeMap<String, History>,
    ledgers: &BTreeMap<String, Ledger>,
) -> BTreeMap<String, History> {
    let empty = Ledger::default();
    histories
        .into_iter()
        .filter_map(|(profile, mut history)| {
            history.purge(ledgers.get(&profile).unwrap_or(&empty));
            (!history.is_empty()).then_some((profile, history))
        })
        .collect()
}

/// [`backfill`] and [`histories`] from one replay of `log`, each event
/// gated once: what the slow lane's batch run reads.
#[must_use]
pub fn backfill_and_histories<'a>(
    log: impl IntoIterator<Item = &'a Admissible>,
    profile_of: impl Fn(&str) -> Option<String>,
    ledgers: &BTreeMap<String, Ledger>,
    policy: &Policy,
) -> (BTreeMap<String, ProfileState>, BTreeMap<String, History>) {
    let mut histories: BTreeMap<String, History> = BTreeMap::new();
    let keyed = replay_keyed(
        log,
        profile_of,
        ledgers,
        policy,
        |_| true,
        |profile, key, summary| {
            histories
                .entry(profile.to_owned())
                .or_default()
                .push(key, summary.clone());
        },
    );
    (states(keyed), purged(histories, ledgers))
}

/// Computes every profile's state from a log of events with exactly the
/// code the online path uses (see [`replay`]).
#[must_use]
pub fn backfill<'a>(
    log: impl IntoIterator<Item = &'a Admissible>,
    profile_of: impl Fn(&str) -> Option<String>,
    ledgers: &BTreeMap<String, Ledger>,
    policy: &Policy,
) -> BTreeMap<String, ProfileState> {
    states(replay_keyed(
        log,
        profile_of,
        ledgers,
        policy,
        |_| true,
        |_, _, _| {},
    ))
}

/// Each profile's state from its members' replayed inputs.
fn states(
    keyed: BTreeMap<String, (Vec<String>, Vec<KeyInputs>)>,
) -> BTreeMap<String, ProfileState> {
    keyed
        .into_iter()
        .filter_map(|(profile, (keys, inputs))| {
            ProfileState::of(&profile, &inputs).map(|f| (profile, f.owned_by(&keys)))
        })
        .collect()
}
