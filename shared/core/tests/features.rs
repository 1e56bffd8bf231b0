//! Online features: windowed values evaluated at read time, bounded inputs,
//! order-insensitivity, redelivery positions and the consent gate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers in test binaries fail loudly"
)]

use crate::common;

use common::{cart, event, ingest, policy, view};
use proptest::prelude::*;
use serde_json::json;
use tailor_core::Timestamp;
use tailor_core::consent::{Ledger, LedgerEntry};
use tailor_core::event::{
    ConsentAction, ConsentSource, EventType, Purpose, SubscriptionChangeKind,
};
use tailor_core::features::{
    self, Admissible, KeyInputs, LoggedEvent, MAX_BUCKETS, MAX_BYTES, ProfileState, Summary,
    compute, gate, purge,
};

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
        inputs.apply(s);
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
fn a_record_at_or_before_the_position_applied_is_a_redelivery() {
    let mut inputs = fold(&summaries());
    assert!(!inputs.has_applied("shard-0", "49590"));
    inputs.note_applied("shard-0", "49590");
    assert!(inputs.has_applied("shard-0", "49590"));
    assert!(
        inputs.has_applied("shard-0", "9999"),
        "a shorter number is an earlier one"
    );
    assert!(!inputs.has_applied("shard-0", "49591"));
    assert!(
        !inputs.has_applied("shard-1", "1"),
        "positions are per partition"
    );
    inputs.note_applied("shard-0", "100");
    assert!(
        inputs.has_applied("shard-0", "49590"),
        "a position never moves back"
    );
}

#[test]
fn inputs_older_than_the_horizon_are_dropped() {
    let mut items = summaries();
    let mut old = items[0].clone();
    old.id = "evt-cart-old".into();
    old.at = old.at.add_millis(-31 * Timestamp::DAY);
    items.push(old);
    assert_eq!(fold(&items), fold(&summaries()));
}

#[test]
fn windows_are_measured_back_from_the_time_of_reading() {
    let inputs = fold(&summaries());
    let at = |t: &str| {
        compute(
            "p_1",
            std::slice::from_ref(&inputs),
            Some(Timestamp::parse(t).unwrap()),
        )
        .unwrap()
    };
    // Ten days after the last event: nothing in the last hour, day or week.
    let later = at("2026-11-30T09:50:00Z");
    assert_eq!(value(&later, "count_1h.add_to_cart"), 0.0);
    assert_eq!(value(&later, "count_7d.content_view"), 0.0);
    assert_eq!(value(&later, "count_30d.content_view"), 2.0);
    assert_eq!(value(&later, "count_30d.add_to_cart"), 2.0);
    // Past the 30 days of the view of the 10th, it leaves the window.
    let month = at("2026-12-11T00:00:00Z");
    assert_eq!(value(&month, "count_30d.content_view"), 1.0);
    // An empty window is dated by the newest event: it is as fresh as that.
    assert_eq!(
        later.features["count_1h.add_to_cart"].updated_at,
        Timestamp::parse("2026-11-20T09:50:00Z").unwrap()
    );
}

#[test]
fn one_key_with_a_hundred_thousand_events_stays_within_its_bound() {
    // Every kind of event, each with the largest values it can carry, one
    // every 40 seconds across 46 days, with a new session every 7 events.
    let templates: Vec<Summary> = summaries();
    let start = Timestamp::parse("2026-10-01T00:00:00Z").unwrap();
    let mut inputs = KeyInputs::default();
    let mut largest = 0;
    for i in 0..100_000u32 {
        let mut s = templates[(i % 5) as usize].clone();
        s.id = format!("evt-{i:08}");
        s.at = start.add_millis(i64::from(i) * 40 * Timestamp::SECOND);
        s.session = Some(i / 7);
        s.amount = s.amount.map(|_| 999_999.99);
        s.units = s.units.map(|_| 1_000);
        if i % 11 == 0 {
            s.kind = EventType::SupportEscalation;
            s.severity = Some(3);
        }
        if i % 13 == 0 {
            s.kind = EventType::SubscriptionChange;
            s.plan = Some((
                "p".repeat(tailor_core::features::MAX_PLAN_LEN),
                SubscriptionChangeKind::Upgrade,
            ));
        }
        inputs.apply(&s);
        if i % 997 == 0 {
            largest = largest.max(serde_json::to_vec(&inputs).unwrap().len());
        }
    }
    largest = largest.max(serde_json::to_vec(&inputs).unwrap().len());
    assert!(
        inputs.buckets.len() <= MAX_BUCKETS,
        "{} buckets",
        inputs.buckets.len()
    );
    assert!(largest <= MAX_BYTES, "{largest} bytes");
    let state = ProfileState::of("p", &[inputs.clone(), inputs]).unwrap();
    let bytes = serde_json::to_vec(&state).unwrap().len();
    assert!(bytes <= MAX_BYTES, "profile state {bytes} bytes");
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
    let t = Timestamp::parse("2026-11-19T00:00:00Z").unwrap();
    assert!(inputs.buckets.keys().all(|start| *start > t.as_millis()));
    assert!(inputs.last.values().all(|at| *at > t));
    assert_eq!(
        purge(&mut inputs, &ledger),
        0,
        "a second purge finds nothing"
    );
}

/// A replay asks the policy once per kind of event, purposes claimed and
/// purposes blocked; what it admits must be what the gate admits event by
/// event, and the slow lane's single replay must give what the two
/// replays give apart.
#[test]
fn a_replay_admits_exactly_what_the_gate_admits_event_by_event() {
    let p = policy();
    let ledger = revoke_at("2026-11-19T00:00:00Z");
    // Collection needs analytics; features need personalization.
    let claims = [
        json!(["analytics", "personalization"]),
        json!(["analytics"]),
        json!(["analytics", "marketing", "personalization"]),
        json!(["personalization", "analytics"]),
        json!(["marketing", "analytics"]),
    ];
    let mut log = Vec::new();
    for (i, day) in ["17", "18", "19", "20", "21"].iter().enumerate() {
        for (j, claim) in claims.iter().enumerate() {
            let mut e = view(
                &format!("evt-view-{i}{j:03}"),
                &format!("2026-11-{day}T10:00:00Z"),
                None,
                Some("u-1"),
            );
            e["consent"]["purposes"] = claim.clone();
            log.push(LoggedEvent {
                profile_id: "p".into(),
                key: "user:u-1".into(),
                ingested: ingest(p, &e),
            });
        }
    }
    let expected: Vec<&LoggedEvent> = log
        .iter()
        .filter(|l| gate(&l.ingested, &ledger, p).allowed)
        .collect();
    // Personalization claimed (three of the five claims), after the
    // revocation (the 19th, 20th and 21st).
    assert_eq!(expected.len(), 9);
    let mut inputs = KeyInputs::default();
    for l in &expected {
        inputs.apply(&Summary::of(&l.ingested).unwrap());
    }
    purge(&mut inputs, &ledger);

    let admissible: Vec<Admissible> = log.iter().map(Admissible::from).collect();
    let ledgers = [("p".to_owned(), ledger)].into_iter().collect();
    let profile_of = |_: &str| Some("p".to_owned());
    let replayed = features::replay(&admissible, profile_of, &ledgers, p, |_| true);
    assert_eq!(replayed["p"], [inputs]);
    let histories = features::histories(&admissible, profile_of, &ledgers, p);
    let (states, both) = features::backfill_and_histories(&admissible, profile_of, &ledgers, p);
    assert_eq!(both, histories);
    assert_eq!(
        states,
        features::backfill(&admissible, profile_of, &ledgers, p)
    );
    assert!(states.contains_key("p"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn inputs_do_not_depend_on_arrival_order(
        order in Just((0..5usize).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let items = summaries();
        let clean = fold(&items);
        let delivered: Vec<Summary> = order.iter().map(|i| items[*i].clone()).collect();
        let messy = fold(&delivered);
        prop_assert_eq!(serde_json::to_vec(&clean).unwrap(), serde_json::to_vec(&messy).unwrap());
        prop_assert_eq!(compute("p", &[clean], None), compute("p", &[messy], None));
    }
}

/// A summary of `kind` (an index into the templates) at `minutes` after a start.
fn at_minutes(templates: &[Summary], kind: usize, minutes: i64, n: usize) -> Summary {
    let mut s = templates[kind % templates.len()].clone();
    s.id = format!("evt-{n:06}");
    s.at = Timestamp::parse("2026-10-01T00:00:00Z")
        .unwrap()
        .add_millis(minutes * Timestamp::MINUTE);
    s.session = Some(u32::try_from(minutes / 90).unwrap());
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any events over 45 days (so buckets of every width, merges and the
    /// horizon all come into play), in any order, split over two keys in
    /// any way, purged at any moment: the same bytes.
    #[test]
    fn bucketed_inputs_are_a_function_of_the_events_alone(
        events in proptest::collection::vec((0usize..5, 0i64..45 * 24 * 60), 1..60),
        order in any::<u64>(),
        split in any::<u64>(),
        purge_at in proptest::option::of(0i64..45 * 24 * 60),
    ) {
        let templates = summaries();
        let items: Vec<Summary> = events
            .iter()
            .enumerate()
            .map(|(n, (k, m))| at_minutes(&templates, *k, *m, n))
            .collect();
        let mut shuffled = items.clone();
        let mut state = order | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let floor = purge_at.map(|m| {
            Timestamp::parse("2026-10-01T00:00:00Z").unwrap().add_millis(m * Timestamp::MINUTE)
        });
        // In order, purged at the end; shuffled, purged half way.
        let mut clean = fold(&items);
        if let Some(t) = floor {
            clean.remove_through(t);
        }
        let mut messy = KeyInputs::default();
        for (i, s) in shuffled.iter().enumerate() {
            if i == shuffled.len() / 2 && let Some(t) = floor {
                messy.remove_through(t);
            }
            messy.apply(s);
        }
        if shuffled.len() < 2 && let Some(t) = floor {
            messy.remove_through(t);
        }
        prop_assert_eq!(serde_json::to_string(&clean).unwrap(), serde_json::to_string(&messy).unwrap());
        // Two keys, the events split between them any way: the same profile.
        let (mut a, mut b) = (KeyInputs::default(), KeyInputs::default());
        for (i, s) in items.iter().enumerate() {
            if (split >> (i % 64)) & 1 == 0 { a.apply(s); } else { b.apply(s); }
        }
        if let Some(t) = floor {
            a.remove_through(t);
            b.remove_through(t);
        }
        let one = ProfileState::of("p", &[clean]);
        let two = ProfileState::of("p", &[a.clone(), b.clone()]);
        let other_way = ProfileState::of("p", &[b, a]);
        prop_assert_eq!(&one, &two);
        prop_assert_eq!(&two, &other_way);
    }
}
