//! Erasure as a plan: given what is stored about one profile, the changes
//! that erase it, in the order that keeps a partial failure safe.
//!
//! 1. A tombstone per key first, each listed in the erasure index before it
//!    is written ([`crate::erasure_index`]): from then on anything about the
//!    person from before the erasure is kept out, whatever else fails.
//!    These are the plan's `marks`: the consent function makes them on
//!    their own first, then plans again from reads made after them, so
//!    that nothing a step wrote while the first plan was read is missed.
//! 2. The profile recomputed with the tombstones in its ledger, which
//!    purges every input up to the erasure (and keeps any from after it).
//!    The profile's slow lanes go with it.
//! 3. Per key, the consent ledger deleted and the identity node unlinked
//!    (the user leaves its account) and deleted — the user's node last,
//!    since members list it first, so a retry part-way still finds every
//!    key through it.

use crate::Timestamp;
use crate::consent::{Ledger, Tombstone};
use crate::erasure_index::{self, IndexShard};
use crate::features::{self, KeyInputs};
use crate::identity::{AccountNode, AnonNode, UserNode, account_key, user_key};
use crate::plan::Change;
use crate::plan::Loaded;
use crate::ports::{Item, Precondition, StoreError, Table};

/// What is stored about a profile to be erased, loaded before planning.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// Each member key's tombstone, if it has one.
    pub tombstones: Vec<Loaded<Option<Tombstone>>>,
    /// The erasure index shards the member keys' tombstones fall in
    /// ([`crate::tables::Tables::erasure_shards`]).
    pub index: Vec<(String, Loaded<IndexShard>)>,
    /// The erasure's time less the tombstones' retention: listings of
    /// erasures before it may go (none when unset).
    pub horizon: Option<Timestamp>,
    /// The profile's consent ledger (tombstones included).
    pub ledger: Ledger,
    /// The profile's features item.
    pub features: Option<Item>,
    /// Each member key's feature inputs.
    pub inputs: Vec<Loaded<KeyInputs>>,
    /// The ids the profile's slow lanes are kept under
    /// ([`crate::tables::Tables::slow_lanes_of`]).
    pub slow_lanes: Vec<String>,
    /// The account a member user belongs to: `(user id, account id, its node)`.
    pub account: Option<(String, String, Loaded<AccountNode>)>,
    /// Nodes of anonymous keys outside the profile holding a claim or a
    /// probable link of the member user: `(storage key, node)`.
    pub foreign: Vec<(String, Loaded<AnonNode>)>,
    /// Nodes of other users listing a member anonymous key as claimed:
    /// `(user id, node)`.
    pub claimants: Vec<(String, Loaded<UserNode>)>,
}

/// The changes that erase a profile, and what they remove.
#[derive(Debug, Clone, PartialEq)]
pub struct Erasure {
    /// The writes, in order.
    pub changes: Vec<Change>,
    /// How many of the first `changes` mark the erasure: the index
    /// listings and the tombstones (step 1), which may be made on their
    /// own before the rest is planned again from fresh reads.
    pub marks: usize,
    /// Feature input summaries removed.
    pub inputs_deleted: u64,
    /// Identity keys unlinked (each left a tombstone).
    pub keys: u64,
    /// Completion records of earlier consent changes deleted.
    pub completions_deleted: u64,
    /// Slow lanes deleted.
    pub slow_lanes_deleted: u64,
    /// Other people's identity nodes the person was removed from.
    pub nodes_scrubbed: u64,
}

/// Plans the erasure of `profile_id`, whose keys are `members`, as of `at`.
///
/// # Errors
/// `Corrupt` when a value does not serialize.
pub fn plan(
    profile_id: &str,
    members: &[String],
    at: Timestamp,
    stored: Stored,
    tokens: &crate::token::TokenKey,
) -> Result<Erasure, StoreError> {
    let mut changes = Vec::new();
    let mut ledger = stored.ledger;
    // The completion records of the person's earlier grants and
    // revocations name their profile: they go with the ledger.
    let completions: Vec<String> = ledger
        .entries
        .values()
        .filter(|e| e.action != crate::event::ConsentAction::Erase)
        .map(|e| format!("consent/{}", e.event_id))
        .collect();
    let mut tombstones = Vec::new();
    let mut index = stored.index;
    let mut listed = vec![false; index.len()];
    let horizon = stored.horizon.unwrap_or(Timestamp::from_millis(i64::MIN));
    for (key, tombstone) in members.iter().zip(&stored.tombstones) {
        let erased_at = tombstone.value.as_ref().map_or(at, |t| t.erased_at.max(at));
        let token = crate::consent::tombstone_key(tokens, key);
        let shard = erasure_index::shard_key(&token);
        // A shard not loaded is written as new: if it exists, the write's
        // precondition refuses it and the plan is made again.
        let i = match index.iter().position(|(k, _)| *k == shard) {
            Some(i) => i,
            None => {
                index.push((shard, Loaded::default()));
                listed.push(false);
                index.len() - 1
            }
        };
        listed[i] |= index[i].1.value.list(&token, erased_at, horizon);
        // A tombstone already as it would be written is not written again
        // (a second pass, a retried request).
        if tombstone.value.as_ref().map(|t| t.erased_at) != Some(erased_at) {
            tombstones.push(Change::save(
                Table::Tombstones,
                &token,
                &Some(Tombstone { erased_at }),
                erased_at,
                Precondition::None,
            )?);
        }
        ledger.record_tombstone(key, erased_at);
    }
    // Listed before written, each shard under the version it was read at.
    for ((key, shard), _) in index.iter().zip(listed).filter(|(_, changed)| *changed) {
        let anchor = shard.value.latest().unwrap_or(at);
        changes.push(Change::save(
            Table::ErasureIndex,
            key,
            &shard.value,
            anchor,
            shard.precondition(),
        )?);
    }
    changes.extend(tombstones);
    let marks = changes.len();
    // Erasure is about the person, not a moment: every input held goes,
    // whatever its time.
    let mut inputs = stored.inputs;
    let mut held = 0;
    for loaded in &mut inputs {
        held += loaded.value.events();
        loaded.value = KeyInputs::default();
    }
    let recompute = features::recompute(
        profile_id,
        stored.features.as_ref(),
        &ledger,
        members,
        inputs,
        members,
    )?;
    changes.extend(recompute.changes);
    changes.extend(
        stored
            .slow_lanes
            .iter()
            .map(|id| Change::delete(Table::SlowLane, id)),
    );
    // Others' nodes keep nothing of the person: their claims and probable
    // links leave the anonymous keys they do not own, and the member keys
    // leave other users' lists of what they claimed.
    let user = members.iter().find_map(|k| k.strip_prefix("user:"));
    let anons: Vec<&str> = members
        .iter()
        .filter_map(|k| k.strip_prefix("anon:"))
        .collect();
    let mut scrubbed = 0;
    for (key, node) in &stored.foreign {
        let mut left = node.value.clone();
        left.claims.retain(|c| Some(c.user_id.as_str()) != user);
        if let Some(user) = user {
            left.probable.remove(user);
        }
        if left == node.value {
            continue;
        }
        scrubbed += 1;
        changes.push(if left.claims.is_empty() && left.probable.is_empty() {
            Change::delete(Table::Identity, key)
        } else {
            Change::save(Table::Identity, key, &left, at, node.precondition())?
        });
    }
    for (other, node) in &stored.claimants {
        let mut left = node.value.clone();
        left.claimed.retain(|a, _| !anons.contains(&a.as_str()));
        if left != node.value {
            scrubbed += 1;
            changes.push(Change::save(
                Table::Identity,
                &user_key(other),
                &left,
                at,
                node.precondition(),
            )?);
        }
    }
    for key in members.iter().rev() {
        changes.push(Change::delete(Table::Consent, key));
        if let (Some(user), Some((account_user, account, node))) =
            (key.strip_prefix("user:"), &stored.account)
            && user == account_user
            && node.value.users.contains(user)
        {
            let mut left = node.value.clone();
            left.users.remove(user);
            left.probable.retain(|a| !anons.contains(&a.as_str()));
            // An account left with nobody was only the person's.
            changes.push(if left.users.is_empty() {
                Change::delete(Table::Identity, &account_key(account))
            } else {
                Change::save(
                    Table::Identity,
                    &account_key(account),
                    &left,
                    at,
                    node.precondition(),
                )?
            });
        }
        changes.push(Change::delete(Table::Identity, key));
    }
    let completions_deleted = completions.len() as u64;
    for key in completions {
        changes.push(Change::delete(Table::Audit, &key));
    }
    Ok(Erasure {
        changes,
        marks,
        completions_deleted,
        slow_lanes_deleted: stored.slow_lanes.len() as u64,
        nodes_scrubbed: scrubbed,
        inputs_deleted: held,
        keys: members.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> Timestamp {
        Timestamp::parse(t).unwrap()
    }

    #[test]
    fn tombstones_come_first_and_the_users_node_goes_last() {
        let members = vec!["user:u-1".to_owned(), "anon:a-1".to_owned()];
        let stored = Stored {
            tombstones: vec![Loaded::default(), Loaded::default()],
            account: Some((
                "u-1".into(),
                "acct-1".into(),
                Loaded {
                    value: AccountNode {
                        users: ["u-1".to_owned(), "u-2".to_owned()].into(),
                        ..AccountNode::default()
                    },
                    version: Some(4),
                },
            )),
            ..Stored::default()
        };
        let tokens = crate::token::TokenKey::new(*b"test-key-0123456789").unwrap();
        let erasure = plan("p_1", &members, at("2026-11-20T10:00:00Z"), stored, &tokens).unwrap();
        let user_tombstone = crate::consent::tombstone_key(&tokens, "user:u-1");
        let anon_tombstone = crate::consent::tombstone_key(&tokens, "anon:a-1");
        assert!(user_tombstone.starts_with("tok_"));
        let shape: Vec<(Table, &str)> = erasure
            .changes
            .iter()
            .map(|c| match c {
                Change::Save { table, key, .. }
                | Change::Append { table, key, .. }
                | Change::Delete { table, key } => (*table, key.as_str()),
            })
            .collect();
        // Each key listed in its index shard before any tombstone is written.
        let mut shards = vec![erasure_index::shard_key(&user_tombstone)];
        if erasure_index::shard_key(&anon_tombstone) != shards[0] {
            shards.push(erasure_index::shard_key(&anon_tombstone));
        }
        let listed: Vec<(Table, &str)> = shards
            .iter()
            .map(|k| (Table::ErasureIndex, k.as_str()))
            .collect();
        assert_eq!(shape[..listed.len()], listed[..]);
        for change in &erasure.changes[..listed.len()] {
            let Change::Save {
                value,
                precondition,
                ..
            } = change
            else {
                panic!("a shard is saved");
            };
            assert_eq!(*precondition, Precondition::Absent);
            let shard: IndexShard = serde_json::from_slice(value).unwrap();
            assert!(shard.may_hold(&user_tombstone) || shard.may_hold(&anon_tombstone));
        }
        assert_eq!(
            shape[listed.len()..],
            vec![
                (Table::Tombstones, user_tombstone.as_str()),
                (Table::Tombstones, anon_tombstone.as_str()),
                (Table::Consent, "anon:a-1"),
                (Table::Identity, "anon:a-1"),
                (Table::Consent, "user:u-1"),
                (Table::Identity, "acct:acct-1"),
                (Table::Identity, "user:u-1"),
            ][..]
        );
        let Change::Save {
            value,
            precondition,
            ..
        } = &erasure.changes[listed.len() + 5]
        else {
            panic!("the account is saved");
        };
        assert_eq!(*precondition, Precondition::Version(4));
        assert_eq!(value.as_slice(), br#"{"users":["u-2"]}"#);
        assert_eq!(erasure.keys, 2);
    }

    #[test]
    fn a_tombstone_moves_to_the_later_erasure_never_back() {
        let members = vec!["anon:a-1".to_owned()];
        let (earlier, later) = (at("2026-11-20T00:00:00Z"), at("2026-11-21T00:00:00Z"));
        let tokens = crate::token::TokenKey::new(*b"test-key-0123456789").unwrap();
        let planned = |stored_at: Timestamp, erased_at: Timestamp| {
            let stored = Stored {
                tombstones: vec![Loaded {
                    value: Some(Tombstone {
                        erased_at: stored_at,
                    }),
                    version: Some(1),
                }],
                ..Stored::default()
            };
            let erasure = plan("p_a", &members, erased_at, stored, &tokens).unwrap();
            erasure
                .changes
                .iter()
                .filter(|c| c.table() == Table::Tombstones)
                .map(|c| match c {
                    Change::Save { value, anchor, .. } => {
                        (String::from_utf8_lossy(value).into_owned(), *anchor)
                    }
                    other => panic!("a tombstone is saved, not {other:?}"),
                })
                .collect::<Vec<_>>()
        };
        // An erasure after the tombstone moves it forward.
        let moved = planned(earlier, later);
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].1, later);
        assert!(moved[0].0.contains("2026-11-21"), "{moved:?}");
        // One before it leaves it where it is: not written at all.
        assert_eq!(planned(later, earlier), Vec::new());
        assert_eq!(
            planned(later, later),
            Vec::new(),
            "unchanged, not rewritten"
        );
    }
}
