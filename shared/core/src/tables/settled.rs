//! The identity and consent state a log is replayed against: for the keys
//! the log names, who owns each anonymous key now, which keys are erased,
//! and each profile's consent ledger, read by key in a few batched calls.

use std::collections::{BTreeMap, BTreeSet};

use super::Tables;
use crate::consent::Ledger;
use crate::identity::{AnonNode, profile_of_anonymous, profile_of_user};
use crate::plan::Loaded;
use crate::ports::{Store, StoreError, Table};

/// Where each key of a log stands now.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// The owner of each anonymous key that has one.
    owners: BTreeMap<String, String>,
    /// Keys with an erasure tombstone.
    erased: BTreeSet<String>,
    /// Each profile's consent ledger: its keys' ledgers merged.
    pub ledgers: BTreeMap<String, Ledger>,
}

impl Settled {
    /// The profile `key` belongs to now; `None` for an erased key (its
    /// events stay out, whatever their time).
    #[must_use]
    pub fn profile_of(&self, key: &str) -> Option<String> {
        if self.erased.contains(key) {
            return None;
        }
        if let Some(user) = key.strip_prefix("user:") {
            return Some(profile_of_user(user));
        }
        let anon = key.strip_prefix("anon:")?;
        Some(
            self.owners
                .get(key)
                .map_or_else(|| profile_of_anonymous(anon), |u| profile_of_user(u)),
        )
    }
}

impl<S: Store> Tables<'_, S> {
    /// Where `keys` stand now: their identity nodes, tombstones and
    /// consent ledgers, each read in one batched call.
    ///
    /// # Errors
    /// The store's error, or `Corrupt` for an unreadable item.
    pub async fn settled(&self, keys: &[String]) -> Result<Settled, StoreError> {
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        let anons: Vec<String> = keys
            .iter()
            .filter(|k| k.starts_with("anon:"))
            .cloned()
            .collect();
        let nodes: Vec<Loaded<AnonNode>> = self.load_many(Table::Identity, &anons).await?;
        let owners = anons
            .into_iter()
            .zip(nodes)
            .filter_map(|(k, n)| n.value.owner().map(|u| (k, u.to_owned())))
            .collect();
        let erased = keys
            .iter()
            .zip(self.tombstones(&keys).await?)
            .filter(|(_, t)| t.value.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        let mut settled = Settled {
            owners,
            erased,
            ledgers: BTreeMap::new(),
        };
        let ledgers: Vec<Loaded<Option<Ledger>>> = self.load_many(Table::Consent, &keys).await?;
        for (key, ledger) in keys.iter().zip(ledgers) {
            let (Some(ledger), Some(profile)) = (ledger.value, settled.profile_of(key)) else {
                continue;
            };
            let merged = Ledger::merged([
                settled.ledgers.get(&profile).unwrap_or(&Ledger::default()),
                &ledger,
            ]);
            settled.ledgers.insert(profile, merged);
        }
        Ok(settled)
    }
}
