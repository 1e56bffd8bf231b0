//! `tailor backfill`: recompute features from the offline log and compare
//! them with the online state.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use tailor_core::consent::{Ledger, Tombstone};
use tailor_core::features::{self, LoggedEvent, ProfileFeatures};
use tailor_core::identity::{AnonNode, profile_of_anonymous, profile_of_user};
use tailor_core::message::Enriched;
use tailor_core::policy::Policy;
use tailor_core::ports::Table;
use tailor_local::LocalStore;

/// Features recomputed from `log` against the final identity and consent state in `store`.
///
/// # Errors
/// The log or the store cannot be read.
pub fn backfill(
    log: &Path,
    store: &LocalStore,
    policy: &Policy,
) -> anyhow::Result<BTreeMap<String, ProfileFeatures>> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let mut events = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let e: Enriched = serde_json::from_str(line).context("offline log line")?;
        events.push(LoggedEvent {
            profile_id: e.profile_id,
            key: e.key,
            ingested: e.ingested,
        });
    }
    let identity: BTreeMap<String, Vec<u8>> = store
        .scan(Table::Identity)?
        .into_iter()
        .map(|(k, i)| (k, i.value))
        .collect();
    let tombstones: BTreeMap<String, Tombstone> = store
        .scan(Table::Tombstones)?
        .into_iter()
        .filter_map(|(k, i)| {
            serde_json::from_slice::<Option<Tombstone>>(&i.value)
                .ok()
                .flatten()
                .map(|t| (k, t))
        })
        .collect();
    let profile_of = |key: &str| -> Option<String> {
        if tombstones.contains_key(key) {
            return None;
        }
        if let Some(user) = key.strip_prefix("user:") {
            return Some(profile_of_user(user));
        }
        let anon = key.strip_prefix("anon:")?;
        let owner = identity
            .get(key)
            .and_then(|v| serde_json::from_slice::<AnonNode>(v).ok())
            .and_then(|n| n.owner().map(str::to_owned));
        Some(owner.map_or_else(|| profile_of_anonymous(anon), |u| profile_of_user(&u)))
    };
    let mut ledgers: BTreeMap<String, Ledger> = BTreeMap::new();
    for (key, item) in store.scan(Table::Consent)? {
        let ledger: Ledger = serde_json::from_slice(&item.value)?;
        if let Some(profile) = profile_of(&key) {
            let merged =
                Ledger::merged([ledgers.get(&profile).unwrap_or(&Ledger::default()), &ledger]);
            ledgers.insert(profile, merged);
        }
    }
    Ok(features::backfill(&events, profile_of, &ledgers, policy))
}

/// Online features from the store, by profile.
///
/// # Errors
/// The store cannot be read.
pub fn online(store: &LocalStore) -> anyhow::Result<BTreeMap<String, ProfileFeatures>> {
    store
        .scan(Table::Features)?
        .into_iter()
        .map(|(k, i)| Ok((k, serde_json::from_slice(&i.value)?)))
        .collect()
}
