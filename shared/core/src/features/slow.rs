//! The slow lane's features: long-horizon values no online state keeps
//! (90-day and lifetime order value, lifetime orders, days since first
//! seen), computed from a profile's whole history in the offline log by a
//! scheduled batch run rather than per event.

use std::collections::{BTreeMap, BTreeSet};

use super::inputs::Summary;
use crate::Timestamp;
use crate::consent::Ledger;
use crate::event::{EventType, Purpose};

/// The slow lane's features, by name. A model input with one of these
/// names is read from the slow lane, never from the online features.
pub const SLOW_FEATURES: [&str; 4] = [
    "value_90d",
    "value_lifetime",
    "orders_lifetime",
    "days_since_first_seen",
];

/// Whether `name` is a slow-lane feature.
#[must_use]
pub fn is_slow(name: &str) -> bool {
    SLOW_FEATURES.contains(&name)
}

/// A profile's history as the slow lane reads it: its admitted events'
/// summaries, each event once, and the keys they were recorded under.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    keys: Vec<String>,
    ids: BTreeSet<String>,
    summaries: Vec<Summary>,
}

impl History {
    /// Adds one admitted event, recorded under `key`. An event id already
    /// held is a repeat (the log holds every delivery that got through) and
    /// changes nothing.
    pub fn push(&mut self, key: &str, summary: Summary) {
        if !self.ids.insert(summary.id.clone()) {
            return;
        }
        if !self.keys.iter().any(|k| k == key) {
            self.keys.push(key.to_owned());
        }
        self.summaries.push(summary);
    }

    /// The keys its events were recorded under.
    #[must_use]
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Drops what `ledger` no longer allows: every event at or before the
    /// latest revocation of personalization, by the earlier of its reported
    /// and corrected times (as the online inputs are purged).
    pub fn purge(&mut self, ledger: &Ledger) {
        if let Some(block) = ledger.last_block(Purpose::Personalization) {
            self.summaries
                .retain(|s| s.at.add_millis(-s.shift_ms.max(0)) > block);
        }
    }

    /// Whether nothing is left.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.summaries.is_empty()
    }

    /// The slow-lane features as of `at`; events after `at` do not count.
    /// Money is summed in micro-units, as online.
    #[must_use]
    pub fn features(&self, at: Timestamp) -> BTreeMap<String, f64> {
        let seen: Vec<&Summary> = self.summaries.iter().filter(|s| s.at <= at).collect();
        let orders: Vec<&&Summary> = seen
            .iter()
            .filter(|s| s.kind == EventType::Checkout)
            .collect();
        let value = |since: Option<Timestamp>| {
            let micros: i64 = orders
                .iter()
                .filter(|s| since.is_none_or(|t| s.at > t))
                .map(|s| micros(s.amount.unwrap_or(0.0)))
                .fold(0, i64::saturating_add);
            #[allow(
                clippy::cast_precision_loss,
                reason = "micro-unit sums far below 2^53 are exact as f64"
            )]
            let v = micros as f64 / 1e6;
            v
        };
        let first = seen.iter().map(|s| s.at).min();
        let mut f = BTreeMap::new();
        f.insert(
            "value_90d".to_owned(),
            value(Some(at.add_millis(-90 * Timestamp::DAY))),
        );
        f.insert("value_lifetime".to_owned(), value(None));
        #[allow(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
        f.insert("orders_lifetime".to_owned(), orders.len() as f64);
        #[allow(clippy::cast_precision_loss, reason = "day counts are far below 2^53")]
        f.insert(
            "days_since_first_seen".to_owned(),
            first.map_or(0.0, |t| (at.millis_since(t) / Timestamp::DAY) as f64),
        );
        f
    }
}

fn micros(amount: f64) -> i64 {
    if amount.is_finite() {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "amounts are bounded by the contract"
        )]
        let m = (amount * 1e6).round() as i64;
        m
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::LedgerEntry;
    use crate::event::{ConsentAction, ConsentSource};

    fn at(t: &str) -> Timestamp {
        Timestamp::parse(t).unwrap()
    }

    fn summary(id: &str, t: &str, kind: EventType, amount: Option<f64>) -> Summary {
        Summary {
            id: id.into(),
            at: at(t),
            kind,
            shift_ms: 0,
            session: None,
            amount,
            units: None,
            severity: None,
            plan: None,
        }
    }

    fn revoke(id: &str, t: &str) -> LedgerEntry {
        LedgerEntry {
            at: at(t),
            event_id: id.into(),
            action: ConsentAction::Revoke,
            purposes: vec![Purpose::Personalization],
            region: "eu".into(),
            source: ConsentSource::Settings,
            policy_version: "1".into(),
        }
    }

    fn history() -> History {
        let mut h = History::default();
        h.push(
            "user:u-1",
            summary("e1", "2026-01-10T00:00:00Z", EventType::ContentView, None),
        );
        h.push(
            "user:u-1",
            summary(
                "e2",
                "2026-02-01T00:00:00Z",
                EventType::Checkout,
                Some(40.5),
            ),
        );
        h.push(
            "user:u-1",
            summary(
                "e3",
                "2026-06-01T00:00:00Z",
                EventType::Checkout,
                Some(10.25),
            ),
        );
        h.push(
            "user:u-1",
            summary(
                "e4",
                "2026-06-20T00:00:00Z",
                EventType::AddToCart,
                Some(99.0),
            ),
        );
        h
    }

    #[test]
    fn long_horizon_values_are_read_back_from_the_given_moment() {
        let f = history().features(at("2026-07-01T00:00:00Z"));
        assert_eq!(f["value_lifetime"], 50.75);
        assert_eq!(f["value_90d"], 10.25, "February is past 90 days");
        assert_eq!(f["orders_lifetime"], 2.0);
        assert_eq!(f["days_since_first_seen"], 172.0);
        // Earlier, the June order has not happened yet.
        let f = history().features(at("2026-03-01T00:00:00Z"));
        assert_eq!(f["value_lifetime"], 40.5);
        assert_eq!(f["orders_lifetime"], 1.0);
        assert_eq!(f["days_since_first_seen"], 50.0);
    }

    #[test]
    fn a_repeated_delivery_counts_once() {
        let mut h = history();
        h.push(
            "anon:a-1",
            summary(
                "e2",
                "2026-02-01T00:00:00Z",
                EventType::Checkout,
                Some(40.5),
            ),
        );
        let f = h.features(at("2026-07-01T00:00:00Z"));
        assert_eq!(f["value_lifetime"], 50.75);
        assert_eq!(f["orders_lifetime"], 2.0);
    }

    #[test]
    fn a_revocation_removes_everything_up_to_it() {
        let mut h = history();
        let mut ledger = Ledger::default();
        ledger.record(revoke("c1", "2026-05-01T00:00:00Z"));
        h.purge(&ledger);
        let f = h.features(at("2026-07-01T00:00:00Z"));
        assert_eq!(f["value_lifetime"], 10.25);
        assert_eq!(f["days_since_first_seen"], 30.0);
        ledger.record(revoke("c2", "2026-06-30T00:00:00Z"));
        h.purge(&ledger);
        assert!(h.is_empty());
    }
}
