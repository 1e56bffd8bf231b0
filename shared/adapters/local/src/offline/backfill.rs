//! The backfill: recompute features from the offline log and compare
//! them with the online state; and the pieces the training export shares.

use std::collections::BTreeMap;
use std::path::Path;

use crate::LocalStore;
use anyhow::Context;
use tailor_core::consent::{Ledger, Tombstone};
use tailor_core::features::{self, Admissible, LoggedEvent, ProfileState};
use tailor_core::identity::{AnonNode, profile_of_anonymous, profile_of_user};
use tailor_core::message::Enriched;
use tailor_core::policy::Policy;
use tailor_core::ports::Table;
use tailor_core::token::TokenKey;

/// Reads the offline log (enriched events, one JSON line each).
///
/// # Errors
/// The file cannot be read or a line is not an enriched event.
pub fn read_log(log: &Path) -> anyhow::Result<Vec<LoggedEvent>> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let e: Enriched = serde_json::from_str(line).context("offline log line")?;
            Ok(LoggedEvent::from(e))
        })
        .collect()
}

/// Reads the offline log as the replays hold it: each line, once parsed,
/// kept only as what they read of it ([`Admissible`]).
///
/// # Errors
/// The file cannot be read or a line is not an enriched event.
pub fn read_admissible(log: &Path) -> anyhow::Result<Vec<Admissible>> {
    use std::io::BufRead as _;
    let file = std::fs::File::open(log).with_context(|| format!("reading {}", log.display()))?;
    let mut events = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.with_context(|| format!("reading {}", log.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let e: Enriched = serde_json::from_str(&line).context("offline log line")?;
        events.push(Admissible::from(LoggedEvent::from(e)));
    }
    Ok(events)
}

/// Final identity and consent state, read once from a store.
#[derive(Debug)]
pub struct FinalState {
    identity: BTreeMap<String, AnonNode>,
    /// Tombstones, by the keyed token they are kept under.
    tombstones: BTreeMap<String, Tombstone>,
    tokens: TokenKey,
    /// Each profile's consent ledger.
    pub ledgers: BTreeMap<String, Ledger>,
}

impl FinalState {
    /// Reads identity nodes, tombstones and ledgers.
    ///
    /// # Errors
    /// The store cannot be read or holds an unreadable item.
    pub fn read(store: &LocalStore, tokens: &TokenKey) -> anyhow::Result<Self> {
        let mut identity = BTreeMap::new();
        for (key, item) in store.scan(Table::Identity)? {
            if key.starts_with("anon:") {
                identity.insert(
                    key,
                    serde_json::from_slice(&item.value).context("identity node")?,
                );
            }
        }
        let mut tombstones = BTreeMap::new();
        for (key, item) in store.scan(Table::Tombstones)? {
            let t: Option<Tombstone> = serde_json::from_slice(&item.value).context("tombstone")?;
            tombstones.extend(t.map(|t| (key, t)));
        }
        let mut state = Self {
            identity,
            tombstones,
            tokens: tokens.clone(),
            ledgers: BTreeMap::new(),
        };
        for (key, item) in store.scan(Table::Consent)? {
            let ledger: Ledger = serde_json::from_slice(&item.value).context("consent ledger")?;
            if let Some(profile) = state.profile_of(&key) {
                let merged = Ledger::merged([
                    state.ledgers.get(&profile).unwrap_or(&Ledger::default()),
                    &ledger,
                ]);
                state.ledgers.insert(profile, merged);
            }
        }
        Ok(state)
    }

    /// The profile a key belongs to at the end, `None` for erased keys.
    #[must_use]
    pub fn profile_of(&self, key: &str) -> Option<String> {
        if self
            .tombstones
            .contains_key(&tailor_core::consent::tombstone_key(&self.tokens, key))
        {
            return None;
        }
        if let Some(user) = key.strip_prefix("user:") {
            return Some(profile_of_user(user));
        }
        let anon = key.strip_prefix("anon:")?;
        let owner = self.identity.get(key).and_then(AnonNode::owner);
        Some(owner.map_or_else(|| profile_of_anonymous(anon), profile_of_user))
    }
}

/// Profile states recomputed from `log` against the final identity and consent state in `store`.
///
/// # Errors
/// The log or the store cannot be read.
pub fn backfill(
    log: &Path,
    store: &LocalStore,
    policy: &Policy,
    tokens: &TokenKey,
) -> anyhow::Result<BTreeMap<String, ProfileState>> {
    let events = read_admissible(log)?;
    let state = FinalState::read(store, tokens)?;
    Ok(features::backfill(
        &events,
        |k| state.profile_of(k),
        &state.ledgers,
        policy,
    ))
}

/// Online profile states from the store, by profile.
///
/// # Errors
/// The store cannot be read.
pub fn online(store: &LocalStore) -> anyhow::Result<BTreeMap<String, ProfileState>> {
    store
        .scan(Table::Features)?
        .into_iter()
        .map(|(k, i)| Ok((k, serde_json::from_slice(&i.value)?)))
        .collect()
}
