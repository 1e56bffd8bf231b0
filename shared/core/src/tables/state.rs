//! Typed reads and writes of the tables, the resolution of a person's
//! keys and consent, and the recompute of their features.
//!
//! Values are JSON. Writes are versioned: a value loaded at version `v` is
//! saved with [`Precondition::Version`]`(v)`, a value that did not exist with
//! [`Precondition::Absent`], so two writers cannot silently overwrite each
//! other where the platform enforces preconditions.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ATTEMPTS, Tables};
use crate::Timestamp;
use crate::consent::{Ledger, Tombstone};
use crate::erasure_index::{self, IndexShard};
use crate::features::{self, KeyInputs};
use crate::identity::{
    AnonNode, UserNode, is_person_id, profile_of_anonymous, profile_of_user, user_key,
};
use crate::plan::{Change, Loaded, decode};
use crate::ports::{Precondition, Store, StoreError, Table};

impl<S: Store> Tables<'_, S> {
    /// Loads one value.
    ///
    /// # Errors
    /// [`StoreError`] from the store, or `Corrupt` when the item is not valid JSON of `T`.
    pub async fn load<T: DeserializeOwned + Default>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Loaded<T>, StoreError> {
        self.store
            .get(table, key)
            .await?
            .map_or_else(|| Ok(Loaded::default()), |item| Loaded::of(table, &item))
    }

    /// Loads several values in one call.
    ///
    /// # Errors
    /// As [`load`].
    pub async fn load_many<T: DeserializeOwned + Default>(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Loaded<T>>, StoreError> {
        let items = self.store.get_many(table, keys).await?;
        items
            .into_iter()
            .map(|item| Loaded::from_item(table, item.as_ref()))
            .collect()
    }

    /// Saves a value under `precondition`, expiring `retention` after `anchor`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the precondition fails, or the store's error.
    pub async fn save<T: Serialize>(
        &self,
        table: Table,
        key: &str,
        value: &T,
        anchor: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let expires_at = anchor.add_millis(self.policy.retention_ms(table.retention_store()));
        self.store
            .put(table, key, bytes, expires_at, precondition)
            .await
    }

    /// Appends a record under a deterministic key; a replay finds it there and writes nothing.
    ///
    /// # Errors
    /// The store's error (a lost race is not an error: the record exists).
    pub async fn append<T: Serialize>(
        &self,
        table: Table,
        key: &str,
        value: &T,
        anchor: Timestamp,
    ) -> Result<(), StoreError> {
        match self
            .save(table, key, value, anchor, Precondition::Absent)
            .await
        {
            Ok(_) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The profile an identity key belongs to now, and that profile's member keys.
    /// Anything that is not a key (`user:…`, `anon:…`) is taken as a profile id,
    /// whose members cannot be known from the id alone.
    ///
    /// Downstream functions resolve again rather than trusting what enrich saw:
    /// a merge processed in between must not leave them updating a stale profile.
    ///
    /// # Errors
    /// The store's error.
    pub async fn resolve(&self, key: &str) -> Result<(String, Vec<String>), StoreError> {
        if let Some(anon) = key.strip_prefix("anon:") {
            let node: Loaded<AnonNode> = self.load(Table::Identity, key).await?;
            return match node.value.owner() {
                Some(user) => Box::pin(self.resolve(&user_key(user))).await,
                None => Ok((profile_of_anonymous(anon), vec![key.to_owned()])),
            };
        }
        let Some(user) = key.strip_prefix("user:") else {
            return Ok((key.to_owned(), Vec::new()));
        };
        let node: Loaded<UserNode> = self.load(Table::Identity, &user_key(user)).await?;
        Ok((
            profile_of_user(user),
            crate::identity::members(Some(user), Some(&node.value), None),
        ))
    }

    /// The person a request names, by any form it may take ([`crate::identity::ID_FORMS`]):
    /// their profile id and member keys, whose consent ledgers are theirs.
    /// A profile id is resolved through the key that owns it (kept with the
    /// profile's features), and only while that key still resolves to it;
    /// `None` when the id names no one this store knows, so nothing is
    /// personalized from a guess.
    ///
    /// # Errors
    /// The store's error.
    pub async fn resolve_person(
        &self,
        id: &str,
    ) -> Result<Option<(String, Vec<String>)>, StoreError> {
        if !is_person_id(id) {
            return Ok(None);
        }
        if !id.starts_with("p_") {
            return self.resolve(id).await.map(Some);
        }
        let Some(item) = self.store.get(Table::Features, id).await? else {
            return Ok(None);
        };
        let stored: features::ProfileState = decode(Table::Features, &item.value)?;
        let Some(owner) = stored.owner else {
            return Ok(None);
        };
        let (profile_id, members) = self.resolve(&owner).await?;
        Ok((profile_id == id).then_some((profile_id, members)))
    }

    /// The erasure tombstones of `keys`, in order. Tombstones are kept under
    /// a keyed token of the key ([`crate::consent::tombstone_key`]), never the
    /// raw key: the one thing an erasure leaves names nobody readable.
    ///
    /// Only the tombstones the erasure index may list are read
    /// ([`crate::erasure_index`]): a read per index shard the keys fall in,
    /// then a read per key listed; as many reads as without the index at
    /// most, besides the listed keys', and through a store that remembers
    /// its reads for an invocation ([`super::cache::Cached`]) a shard read
    /// once serves every later call. One key is read directly, which costs
    /// the same.
    ///
    /// # Errors
    /// The store's error.
    pub async fn tombstones(
        &self,
        keys: &[String],
    ) -> Result<Vec<Loaded<Option<Tombstone>>>, StoreError> {
        let stored: Vec<String> = keys
            .iter()
            .map(|k| crate::consent::tombstone_key(self.tokens, k))
            .collect();
        if stored.len() < 2 {
            return self.load_many(Table::Tombstones, &stored).await;
        }
        let shards = self.erasure_shards(&stored).await?;
        let may_exist: Vec<bool> = stored
            .iter()
            .map(|token| shard_of(&shards, token).is_none_or(|s| s.may_hold(token)))
            .collect();
        let listed: Vec<String> = stored
            .iter()
            .zip(&may_exist)
            .filter(|(_, may)| **may)
            .map(|(token, _)| token.clone())
            .collect();
        let mut found = if listed.is_empty() {
            Vec::new()
        } else {
            self.load_many(Table::Tombstones, &listed).await?
        }
        .into_iter();
        Ok(may_exist
            .into_iter()
            .map(|may| {
                if may {
                    found.next().unwrap_or_default()
                } else {
                    Loaded::default()
                }
            })
            .collect())
    }

    /// When the latest erasure of any of `keys` was, from their tombstones
    /// ([`Self::tombstones`]); `None` when none of them was erased.
    ///
    /// # Errors
    /// The store's error.
    pub async fn erased_at(&self, keys: &[String]) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .tombstones(keys)
            .await?
            .into_iter()
            .filter_map(|t| t.value.map(|t| t.erased_at))
            .max())
    }

    /// The erasure index shards the tombstones under `tokens` fall in, each
    /// with its shard key, read once each.
    ///
    /// # Errors
    /// The store's error.
    pub async fn erasure_shards(
        &self,
        tokens: &[String],
    ) -> Result<Vec<(String, Loaded<IndexShard>)>, StoreError> {
        let mut keys: Vec<String> = tokens.iter().map(|t| erasure_index::shard_key(t)).collect();
        keys.sort();
        keys.dedup();
        let shards = self.load_many(Table::ErasureIndex, &keys).await?;
        Ok(keys.into_iter().zip(shards).collect())
    }

    /// The consent ledger of a profile: its keys' ledgers merged, with erasure
    /// tombstones as erase entries.
    ///
    /// # Errors
    /// The store's error.
    pub async fn ledger_of(&self, members: &[String]) -> Result<Ledger, StoreError> {
        let ledgers: Vec<Loaded<Ledger>> = self.load_many(Table::Consent, members).await?;
        let mut ledger = Ledger::merged(ledgers.iter().map(|l| &l.value));
        let tombstones = self.tombstones(members).await?;
        for (key, t) in members.iter().zip(tombstones) {
            if let Some(t) = t.value {
                ledger.record_tombstone(key, t.erased_at);
            }
        }
        Ok(ledger)
    }

    /// Keeps the revocations and erasures recorded on `key` on `anchor` (the
    /// user key of the profile `key` is leaving) too, before the unlink is
    /// written: a consent state, once linked to a person, survives any later
    /// unlink, transfer or fan-out limit. Returns whether anything was added.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `anchor`'s ledger changed meanwhile (the
    /// caller retries from fresh reads), or the store's error.
    pub async fn keep_blocks(&self, key: &str, anchor: &str) -> Result<bool, StoreError> {
        let leaving: Loaded<Ledger> = self.load(Table::Consent, key).await?;
        if leaving.value.entries.is_empty() {
            return Ok(false);
        }
        let mut kept: Loaded<Ledger> = self.load(Table::Consent, anchor).await?;
        if !kept.value.inherit_blocks(&leaving.value) {
            return Ok(false);
        }
        let newest = kept.value.newest().unwrap_or(Timestamp::from_millis(0));
        self.save(
            Table::Consent,
            anchor,
            &kept.value,
            newest,
            kept.precondition(),
        )
        .await?;
        Ok(true)
    }

    /// Makes `changes`, in order, through the store.
    ///
    /// # Errors
    /// The first change that fails stops the rest: [`StoreError::Conflict`]
    /// when a precondition fails (an append that finds its record is not a
    /// failure), or the store's error.
    pub async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let expiry = |table: Table, anchor: Timestamp| {
            anchor.add_millis(self.policy.retention_ms(table.retention_store()))
        };
        for change in changes {
            match change {
                Change::Save {
                    table,
                    key,
                    value,
                    anchor,
                    precondition,
                } => {
                    self.store
                        .put(
                            *table,
                            key,
                            value.clone(),
                            expiry(*table, *anchor),
                            *precondition,
                        )
                        .await?;
                }
                Change::Append {
                    table,
                    key,
                    value,
                    anchor,
                } => match self
                    .store
                    .put(
                        *table,
                        key,
                        value.clone(),
                        expiry(*table, *anchor),
                        Precondition::Absent,
                    )
                    .await
                {
                    Ok(_) | Err(StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                },
                Change::Delete { table, key } => self.store.delete(*table, key).await?,
            }
        }
        Ok(())
    }

    /// Recomputes a profile's stored features from its members' inputs, purging
    /// inputs the ledger no longer allows ([`features::recompute`]), and applies
    /// the result. Deletes the features when nothing is left.
    ///
    /// Two functions recompute the same profile (features as events arrive,
    /// consent as purposes are revoked), possibly at once on platforms that run
    /// them concurrently. The features item's version is read before the
    /// inputs, and the write expects it: a recompute from inputs that another
    /// writer has changed since loses the race and computes again, so stale
    /// inputs (revoked data among them) never overwrite a newer result. An
    /// unchanged result is not written again.
    ///
    /// # Errors
    /// The store's error; [`StoreError::Conflict`] if the race is lost on every attempt.
    pub async fn recompute_profile(
        &self,
        profile_id: &str,
        members: &[String],
    ) -> Result<features::Recompute, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.recompute_once(profile_id, members).await {
                Err(StoreError::Conflict { .. }) if attempt < ATTEMPTS => {}
                other => return other,
            }
        }
    }

    async fn recompute_once(
        &self,
        profile_id: &str,
        members: &[String],
    ) -> Result<features::Recompute, StoreError> {
        let current = self.store.get(Table::Features, profile_id).await?;
        let ledger = self.ledger_of(members).await?;
        let inputs: Vec<Loaded<KeyInputs>> = self.load_many(Table::FeatureInputs, members).await?;
        let plan =
            features::recompute(profile_id, current.as_ref(), &ledger, members, inputs, &[])?;
        self.apply(&plan.changes).await?;
        Ok(plan)
    }

    /// Commits inputs updated in memory (`updated`, by key, with the versions
    /// they were loaded at) together with their profile's state: the state is
    /// computed from them and the other members' stored inputs and written
    /// first, the inputs last ([`features::Recompute`]), so the inputs write
    /// is the commit point and a failure before it leaves nothing applied.
    ///
    /// A state written from inputs that another writer then changed (a
    /// concurrent commit of another member key) would miss that writer's
    /// events, so the state is read back: if it is no longer what this commit
    /// wrote, it is recomputed from the stored inputs, which now hold both.
    ///
    /// A commit that creates state (the profile's or a key's first) may
    /// follow an erasure that read before it and found nothing to erase:
    /// the members' tombstones are read again after the writes, and an
    /// erasure newer than `ledger` knew has the profile recomputed from a
    /// fresh ledger, which purges what the erasure covers. The erasure
    /// writes its tombstones before it reads what to erase, so any commit
    /// is either found by those reads or finds the tombstones here.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a precondition fails: the caller applies
    /// its events again from fresh reads. Otherwise the store's error.
    pub async fn commit_profile(
        &self,
        profile_id: &str,
        members: &[String],
        ledger: &Ledger,
        mut updated: std::collections::BTreeMap<String, Loaded<KeyInputs>>,
    ) -> Result<features::Recompute, StoreError> {
        let mut keys: Vec<String> = members.to_vec();
        for key in updated.keys() {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        let current = self.store.get(Table::Features, profile_id).await?;
        let creates = current.is_none() || updated.values().any(|l| l.version.is_none());
        let others: Vec<String> = keys
            .iter()
            .filter(|k| !updated.contains_key(*k))
            .cloned()
            .collect();
        let mut stored = self
            .load_many::<KeyInputs>(Table::FeatureInputs, &others)
            .await?
            .into_iter();
        let dirty: Vec<String> = updated.keys().cloned().collect();
        let inputs: Vec<Loaded<KeyInputs>> = keys
            .iter()
            .map(|k| {
                updated
                    .remove(k)
                    .unwrap_or_else(|| stored.next().unwrap_or_default())
            })
            .collect();
        let plan =
            features::recompute(profile_id, current.as_ref(), ledger, &keys, inputs, &dirty)?;
        self.apply(&plan.changes).await?;
        let wrote = plan.changes.iter().any(|c| c.table() == Table::Features);
        if wrote {
            let now = self.store.get(Table::Features, profile_id).await?;
            let ours = match (&now, &plan.features) {
                (Some(item), Some(state)) => {
                    serde_json::to_vec(state).is_ok_and(|b| b == item.value)
                }
                (None, None) => true,
                _ => false,
            };
            if !ours {
                return self.recompute_profile(profile_id, &keys).await;
            }
        }
        if creates && self.erased_at(&keys).await? > ledger.erased_at() {
            return self.recompute_profile(profile_id, &keys).await;
        }
        Ok(plan)
    }

    /// Appends an audit record, sealed for its profile (see
    /// [`crate::identity::LoggedAudit`]), anchored at `anchor`.
    ///
    /// # Errors
    /// The store's error.
    pub async fn audit(
        &self,
        record: &crate::identity::AuditRecord,
        anchor: Timestamp,
    ) -> Result<(), StoreError> {
        let key = self.subject_key(&record.profile_id, anchor).await?;
        let (storage_key, logged) = record.logged(&key)?;
        self.append(Table::Audit, &storage_key, &logged, anchor)
            .await
    }
}

/// The shard `token` falls in, among `shards` as read.
fn shard_of<'s>(shards: &'s [(String, Loaded<IndexShard>)], token: &str) -> Option<&'s IndexShard> {
    let key = erasure_index::shard_key(token);
    shards
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, s)| &s.value)
}
