//! Online features: exact windowed values, idempotency, order-insensitivity
//! and the consent gate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers in test binaries fail loudly"
)]

mod common;

use common::{cart, event, ingest, policy, view};
use proptest::prelude::*;
use serde_json::json;
use tailor_core::Timestamp;
use tailor_core::consent::{Ledger, LedgerEntry};
use tailor_core::event::{ConsentAction, ConsentSource, Purpose};
use tailor_core::features::{KeyInputs, Summary, compute, gate, purge};

fn summaries() -> Vec<Summary> {
    let p = policy();
    [
        cart("evt-cart-0001", "2026-11-20T09:30:00Z", "u-1", 2, 10.0),
        cart("evt-cart-0002", "2026-11-20T09:50:00Z", "u-1", 1, 5.5),
        view("evt-view-0001", "2026-11-19T12:00:00Z", None, Some("u-1")),
        view("evt-view-0002", "2026-11-10T12:00:00Z", None, Some("u-1")),
        event(
            "evt-chk-00001",
            "checkout",
            "2026-11-18T10:00:00Z",
            None,
            Some("u-1"),
            json!({"order_id": "o-1", "total": 40.0, "currency": "EUR", "items": 3}),
        ),
    ]
    .iter()
    .map(|e| Summary::of(&ingest(p, e)).unwrap())
    .collect()
}

fn fold(items: &[Summary]) -> KeyInputs {
    let mut inputs = KeyInputs::default();
    for s in items {
        inputs.apply(s.clone());
    }
    inputs
}

fn value(f: &tailor_core::features::ProfileFeatures, name: &str) -> f64 {
    f.features[name]
        .value
        .as_f64()
        .unwrap_or_else(|| panic!("{name}"))
}

#[test]
fn windowed_counts_and_cart_stats_match_hand_computed_values() {
    let f = compute("p_1", &[fold(&summaries())], None).unwrap();
    // as_of is the newest event: 2026-11-20T09:50Z.
    assert_eq!(f.as_of, Timestamp::parse("2026-11-20T09:50:00Z").unwrap());
    assert_eq!(value(&f, "count_1h.add_to_cart"), 2.0);
    assert_eq!(value(&f, "count_24h.content_view"), 1.0);
    assert_eq!(value(&f, "count_7d.content_view"), 1.0);
    assert_eq!(value(&f, "count_30d.content_view"), 2.0);
    assert_eq!(value(&f, "count_7d.checkout"), 1.0);
    // Both adds came after the last checkout: 3 items worth 2×10 + 5.5.
    assert_eq!(value(&f, "cart_open_items"), 3.0);
    assert_eq!(value(&f, "cart_open_value"), 25.5);
    assert_eq!(value(&f, "revenue_30d"), 40.0);
    assert_eq!(
        f.features["count_1h.add_to_cart"].updated_at,
        Timestamp::parse("2026-11-20T09:50:00Z").unwrap()
    );
    assert_eq!(
        f.features["last_at.checkout"].value,
        json!("2026-11-18T10:00:00.000Z")
    );
}

#[test]
fn applying_an_event_twice_changes_nothing() {
    let items = summaries();
    let mut inputs = fold(&items);
    let before = inputs.clone();
    assert!(!inputs.apply(items[0].clone()));
    assert_eq!(inputs, before);
}

#[test]
fn inputs_older_than_the_horizon_are_dropped() {
    let mut items = summaries();
    let mut old = items[0].clone();
    old.id = "evt-cart-old".into();
    old.at = old.at.add_millis(-31 * Timestamp::DAY);
    items.push(old);
    assert!(!fold(&items).events.values().any(|s| s.id == "evt-cart-old"));
}

fn revoke_at(at: &str) -> Ledger {
    let mut l = Ledger::default();
    l.record(LedgerEntry {
        at: Timestamp::parse(at).unwrap(),
        event_id: "evt-revoke-1".into(),
        action: ConsentAction::Revoke,
        purposes: vec![Purpose::Personalization],
        region: "eu".into(),
        source: ConsentSource::Settings,
        policy_version: "v1".into(),
    });
    l
}

#[test]
fn no_features_from_events_whose_consent_lacks_personalization() {
    let p = policy();
    let mut e = view("evt-view-9999", "2026-11-20T10:00:00Z", None, Some("u-1"));
    e["consent"]["purposes"] = json!(["analytics"]);
    let d = gate(&ingest(p, &e), &Ledger::default(), p);
    assert!(!d.allowed);
}

#[test]
fn a_revocation_blocks_earlier_events_and_purges_them() {
    let p = policy();
    let ledger = revoke_at("2026-11-19T00:00:00Z");
    let before = ingest(
        p,
        &view("evt-view-0100", "2026-11-18T10:00:00Z", None, Some("u-1")),
    );
    let after = ingest(
        p,
        &view("evt-view-0101", "2026-11-20T10:00:00Z", None, Some("u-1")),
    );
    assert!(!gate(&before, &ledger, p).allowed);
    assert!(gate(&after, &ledger, p).allowed);
    let mut inputs = fold(&summaries());
    let removed = purge(&mut inputs, &ledger);
    assert_eq!(
        removed, 2,
        "the view of the 10th and the checkout of the 18th"
    );
    assert!(
        inputs
            .events
            .values()
            .all(|s| s.at > Timestamp::parse("2026-11-19T00:00:00Z").unwrap())
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn inputs_do_not_depend_on_arrival_order_or_repeats(
        order in Just((0..5usize).collect::<Vec<_>>()).prop_shuffle(),
        repeats in proptest::collection::vec(0..5usize, 0..6),
    ) {
        let items = summaries();
        let clean = fold(&items);
        let mut delivered: Vec<Summary> = order.iter().map(|i| items[*i].clone()).collect();
        delivered.extend(repeats.iter().map(|i| items[*i].clone()));
        let messy = fold(&delivered);
        prop_assert_eq!(serde_json::to_vec(&clean).unwrap(), serde_json::to_vec(&messy).unwrap());
        prop_assert_eq!(compute("p", &[clean], None), compute("p", &[messy], None));
    }
}
