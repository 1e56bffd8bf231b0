//! The consent ledger and what a consent change sets in motion.
//!
//! The rule, chosen so that results never depend on arrival order:
//! an event may feed features for a purpose when the consent it carries
//! grants that purpose **and** no revocation of the purpose (and no erasure)
//! in the ledger is at or after the event's time. The event's own claim is
//! authoritative for the moment it happened; a later revocation removes, in
//! retrospect, everything before it. Adding ledger entries can only block
//! more, never unblock, so an event blocked once is blocked forever and the
//! final state is a function of the sets of events and changes alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::event::Properties;
use crate::event::{ConsentAction, ConsentSource, Purpose};
use crate::ingest::Ingested;

/// One recorded consent change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// When it happened.
    pub at: Timestamp,
    /// The consent_change event.
    pub event_id: String,
    /// Grant, revoke or erase.
    pub action: ConsentAction,
    /// The purposes affected (all, for erase).
    pub purposes: Vec<Purpose>,
    /// The region it was recorded in.
    pub region: String,
    /// Who recorded it.
    pub source: ConsentSource,
    /// The privacy policy version the person saw.
    pub policy_version: String,
}

impl LedgerEntry {
    /// The entry a consent_change event records, or `None` for other events.
    #[must_use]
    pub fn from_ingested(ingested: &Ingested) -> Option<Self> {
        let Properties::ConsentChange(change) = &ingested.event.properties else {
            return None;
        };
        let purposes = if change.action == ConsentAction::Erase {
            Purpose::ALL.to_vec()
        } else {
            change.purposes.clone()
        };
        // A grant never overrides a revocation it may have preceded: it
        // counts from the earlier of its reported and corrected times. A
        // revocation or erasure counts from the later, so it blocks at
        // least what either clock says.
        let at = if change.action == ConsentAction::Grant {
            ingested.earliest()
        } else {
            ingested.latest()
        };
        Some(Self {
            at,
            event_id: ingested.event.event_id.clone(),
            action: change.action,
            purposes,
            region: ingested.event.region.clone(),
            source: change.source,
            policy_version: change.policy_version.clone(),
        })
    }
}

impl crate::keyed::Keyed for LedgerEntry {
    type Key = (Timestamp, String);
    fn key(&self) -> Self::Key {
        (self.at, self.event_id.clone())
    }
}

/// A key's (or a profile's, merged over its keys) consent history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Entries by (time, event id).
    #[serde(with = "crate::keyed")]
    pub entries: BTreeMap<(Timestamp, String), LedgerEntry>,
}

impl Ledger {
    /// Adds an entry; returns whether it was new (replays add nothing).
    pub fn record(&mut self, entry: LedgerEntry) -> bool {
        let key = (entry.at, entry.event_id.clone());
        if self.entries.contains_key(&key) {
            return false;
        }
        self.entries.insert(key, entry);
        true
    }

    /// Records an erasure tombstone of `key` as an erase entry of every purpose.
    pub fn record_tombstone(&mut self, key: &str, erased_at: Timestamp) -> bool {
        self.record(LedgerEntry {
            at: erased_at,
            event_id: format!("tombstone:{key}"),
            action: ConsentAction::Erase,
            purposes: Purpose::ALL.to_vec(),
            region: String::new(),
            source: ConsentSource::Api,
            policy_version: String::new(),
        })
    }

    /// Records the revocations and erasures of `other` (never its grants);
    /// returns whether any was new. What a key leaving a profile carried
    /// stays with the person: an unlink never widens their consent.
    pub fn inherit_blocks(&mut self, other: &Self) -> bool {
        let mut changed = false;
        for entry in other.entries.values() {
            if entry.action != ConsentAction::Grant {
                changed |= self.record(entry.clone());
            }
        }
        changed
    }

    /// The time of the newest entry, if any.
    #[must_use]
    pub fn newest(&self) -> Option<Timestamp> {
        self.entries.keys().next_back().map(|(t, _)| *t)
    }

    /// The union of several ledgers (a profile's keys).
    #[must_use]
    pub fn merged<'a>(ledgers: impl IntoIterator<Item = &'a Self>) -> Self {
        let mut out = Self::default();
        for ledger in ledgers {
            for entry in ledger.entries.values() {
                out.record(entry.clone());
            }
        }
        out
    }

    /// Purposes whose data from time `t` must not be used: a revocation or
    /// erasure at or after `t` exists.
    #[must_use]
    pub fn blocked_at(&self, t: Timestamp) -> Vec<Purpose> {
        let mut blocked: Vec<Purpose> = self
            .entries
            .range((t, String::new())..)
            .filter(|(_, e)| e.action != ConsentAction::Grant)
            .flat_map(|(_, e)| e.purposes.iter().copied())
            .collect();
        blocked.sort();
        blocked.dedup();
        blocked
    }

    /// The latest revocation or erasure of `purpose`, if any.
    #[must_use]
    pub fn last_block(&self, purpose: Purpose) -> Option<Timestamp> {
        self.entries
            .values()
            .rev()
            .find(|e| e.action != ConsentAction::Grant && e.purposes.contains(&purpose))
            .map(|e| e.at)
    }

    /// The latest erasure, if any.
    #[must_use]
    pub fn erased_at(&self) -> Option<Timestamp> {
        self.entries
            .values()
            .rev()
            .find(|e| e.action == ConsentAction::Erase)
            .map(|e| e.at)
    }

    /// The latest recorded state of each purpose.
    #[must_use]
    pub fn current(&self) -> BTreeMap<Purpose, ConsentAction> {
        let mut state = BTreeMap::new();
        for entry in self.entries.values() {
            for p in &entry.purposes {
                state.insert(*p, entry.action);
            }
        }
        state
    }
}

/// An erasure tombstone: the latest erasure time of a key, kept after its
/// data is gone so that late events about the person stay out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// When the erasure happened.
    pub erased_at: Timestamp,
}

/// Where the tombstone of an identity key is kept: a keyed token of the key
/// (`tok_…`), so that after an erasure no table holds the person's raw ids.
#[must_use]
pub fn tombstone_key(tokens: &crate::token::TokenKey, key: &str) -> String {
    tokens.token("tombstone", key)
}

/// The record that a consent change was carried out everywhere it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The consent_change event.
    pub event_id: String,
    /// The profile it applied to; none for an erasure, whose record
    /// outlives everything else about the person and must not name them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// What it did.
    pub action: ConsentAction,
    /// The purposes affected.
    pub purposes: Vec<Purpose>,
    /// Each propagation step and how many items it touched.
    pub steps: BTreeMap<String, u64>,
    /// A digest of the request it carried out ([`request_digest`]), so an
    /// event id reused for another request is told apart from a repeat.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request: String,
    /// When the change happened.
    pub at: Timestamp,
}

/// A digest of what a consent change asks — its id, source, subject keys,
/// time, action and purposes — from the event as the producer sent it (the
/// same before and after ingest), so the HTTP API and the consent function
/// agree on it.
#[must_use]
pub fn request_digest(event: &crate::event::Event) -> String {
    let (action, purposes) = match &event.properties {
        Properties::ConsentChange(c) => (
            serde_json::to_string(&c.action).unwrap_or_default(),
            serde_json::to_string(&c.purposes).unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    };
    let s = &event.subject;
    let source = serde_json::to_string(&event.source).unwrap_or_default();
    let at = event.occurred_at.to_string();
    crate::token::digest(
        &[
            &event.event_id,
            &source,
            s.user_id.as_deref().unwrap_or(""),
            s.anonymous_id.as_deref().unwrap_or(""),
            s.account_id.as_deref().unwrap_or(""),
            &at,
            &action,
            &purposes,
        ],
        16,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ConsentSource;

    fn entry(at: i64, action: ConsentAction, purposes: &[Purpose]) -> LedgerEntry {
        LedgerEntry {
            at: Timestamp::from_millis(at),
            event_id: format!("evt-{at:08}"),
            action,
            purposes: purposes.to_vec(),
            region: "eu".into(),
            source: ConsentSource::Settings,
            policy_version: "v1".into(),
        }
    }

    #[test]
    fn a_revocation_blocks_everything_before_it_and_nothing_after() {
        let mut l = Ledger::default();
        l.record(entry(
            100,
            ConsentAction::Revoke,
            &[Purpose::Personalization],
        ));
        assert_eq!(
            l.blocked_at(Timestamp::from_millis(50)),
            vec![Purpose::Personalization]
        );
        assert_eq!(
            l.blocked_at(Timestamp::from_millis(100)),
            vec![Purpose::Personalization]
        );
        assert!(l.blocked_at(Timestamp::from_millis(101)).is_empty());
    }

    #[test]
    fn grants_never_unblock() {
        let mut l = Ledger::default();
        l.record(entry(
            100,
            ConsentAction::Revoke,
            &[Purpose::Personalization],
        ));
        let before = l.blocked_at(Timestamp::from_millis(10));
        l.record(entry(
            200,
            ConsentAction::Grant,
            &[Purpose::Personalization],
        ));
        assert_eq!(l.blocked_at(Timestamp::from_millis(10)), before);
    }

    #[test]
    fn a_key_leaving_passes_on_its_blocks_but_not_its_grants() {
        let mut leaving = Ledger::default();
        leaving.record(entry(100, ConsentAction::Revoke, &[Purpose::Marketing]));
        leaving.record(entry(200, ConsentAction::Grant, &[Purpose::Analytics]));
        let mut anchor = Ledger::default();
        assert!(anchor.inherit_blocks(&leaving));
        assert!(
            !anchor.inherit_blocks(&leaving),
            "a second time adds nothing"
        );
        assert_eq!(anchor.entries.len(), 1);
        assert_eq!(
            anchor.blocked_at(Timestamp::from_millis(50)),
            vec![Purpose::Marketing]
        );
    }

    #[test]
    fn replaying_an_entry_records_nothing() {
        let mut l = Ledger::default();
        assert!(l.record(entry(1, ConsentAction::Grant, &[Purpose::Analytics])));
        assert!(!l.record(entry(1, ConsentAction::Grant, &[Purpose::Analytics])));
        assert_eq!(l.entries.len(), 1);
    }
}
