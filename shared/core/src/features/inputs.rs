//! Per-key feature inputs: a set of event summaries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::event::{EventType, Properties, Severity, SubscriptionChangeKind};
use crate::ingest::Ingested;
use crate::token::digest;

/// How far back from a key's newest event its inputs are kept (the longest window).
pub const HORIZON_MS: i64 = 30 * Timestamp::DAY;
/// The most summaries kept per key; the oldest go first.
pub const MAX_EVENTS_PER_KEY: usize = 5_000;

/// What features need of one event: small, and free of personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The event id (the idempotency key).
    pub id: String,
    /// When it happened (skew-corrected, UTC).
    pub at: Timestamp,
    /// Its type.
    pub kind: EventType,
    /// A short digest of the session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Money involved: cart line value, order total or recurring revenue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// Units involved: items added or ordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
    /// Escalation severity, 0 (low) to 3 (critical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<u8>,
    /// Subscription plan and state after a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<(String, SubscriptionChangeKind)>,
}

impl Summary {
    /// The summary of an event, or `None` for types features do not use.
    #[must_use]
    pub fn of(ingested: &Ingested) -> Option<Self> {
        let e = &ingested.event;
        let mut s = Self {
            id: e.event_id.clone(),
            at: ingested.occurred_at,
            kind: e.event_type,
            session: e
                .subject
                .session_id
                .as_deref()
                .map(|sid| digest(&["session", sid], 6)),
            amount: None,
            units: None,
            severity: None,
            plan: None,
        };
        match &e.properties {
            Properties::ConsentChange(_) | Properties::Outcome(_) => return None,
            Properties::AddToCart(a) => {
                s.amount = Some(f64::from(a.quantity) * a.unit_price);
                s.units = Some(a.quantity);
            }
            Properties::Checkout(c) => {
                s.amount = Some(c.total);
                s.units = Some(c.items);
            }
            Properties::SubscriptionChange(c) => {
                s.amount = c.mrr;
                s.plan = Some((c.plan.clone(), c.change));
            }
            Properties::SupportEscalation(x) => {
                s.severity = Some(match x.severity {
                    Severity::Low => 0,
                    Severity::Medium => 1,
                    Severity::High => 2,
                    Severity::Critical => 3,
                });
            }
            _ => {}
        }
        Some(s)
    }
}

impl crate::keyed::Keyed for Summary {
    type Key = String;
    fn key(&self) -> Self::Key {
        self.id.clone()
    }
}

/// The feature inputs of one identity key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyInputs {
    /// Summaries within the horizon, by event id.
    #[serde(with = "crate::keyed")]
    pub events: BTreeMap<String, Summary>,
    /// The latest subscription change ever seen, kept past the horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Summary>,
}

/// Whether `new` should replace `current` as the record of the same event:
/// the earliest corrected time wins, so a redelivery whose skew correction
/// differs gives the same state in either order.
fn earlier(new: &Summary, current: &Summary) -> bool {
    new.at < current.at
}

impl KeyInputs {
    /// Adds a summary. Returns whether anything changed: a replay changes nothing.
    pub fn apply(&mut self, summary: Summary) -> bool {
        let mut changed = false;
        if summary.plan.is_some() {
            let replace = match &self.subscription {
                None => true,
                Some(cur) if cur.id == summary.id => earlier(&summary, cur),
                Some(cur) => (cur.at, &cur.id) < (summary.at, &summary.id),
            };
            if replace {
                self.subscription = Some(summary.clone());
                changed = true;
            }
        }
        match self.events.get(&summary.id) {
            Some(current) if !earlier(&summary, current) => {}
            _ => {
                self.events.insert(summary.id.clone(), summary);
                changed = true;
            }
        }
        self.prune();
        changed
    }

    /// The newest event time, if any.
    #[must_use]
    pub fn newest(&self) -> Option<Timestamp> {
        let newest_event = self.events.values().map(|s| s.at).max();
        newest_event.max(self.subscription.as_ref().map(|s| s.at))
    }

    /// Drops summaries past the horizon or over the cap. Both rules depend
    /// only on the set, never on arrival order.
    fn prune(&mut self) {
        if let Some(newest) = self.newest() {
            let cutoff = newest.add_millis(-HORIZON_MS);
            self.events.retain(|_, s| s.at >= cutoff);
        }
        while self.events.len() > MAX_EVENTS_PER_KEY {
            let oldest = self
                .events
                .values()
                .min_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)))
                .map(|s| s.id.clone());
            match oldest {
                Some(id) => self.events.remove(&id),
                None => break,
            };
        }
    }

    /// Removes every summary at or before `t`; returns how many.
    pub fn remove_through(&mut self, t: Timestamp) -> usize {
        let before = self.events.len() + usize::from(self.subscription.is_some());
        self.events.retain(|_, s| s.at > t);
        if self.subscription.as_ref().is_some_and(|s| s.at <= t) {
            self.subscription = None;
        }
        before - (self.events.len() + usize::from(self.subscription.is_some()))
    }

    /// Whether nothing is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.subscription.is_none()
    }
}
