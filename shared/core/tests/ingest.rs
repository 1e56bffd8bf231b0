//! The ingest step on its own: normalization, minimization, consent gate,
//! lateness and routing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers in test binaries fail loudly"
)]

use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::contract::Contract;
use tailor_core::decode::Limits;
use tailor_core::disposition::DeadLetterReason;
use tailor_core::event::Properties;
use tailor_core::ingest::{IngestError, Ingestor};
use tailor_core::policy::Policy;
use tailor_core::token::TokenKey;

fn policy() -> &'static Policy {
    Box::leak(Box::new(Policy::shipped().unwrap()))
}

fn ingestor() -> Ingestor<'static> {
    Ingestor::new(
        Contract::global().unwrap(),
        policy(),
        Limits::default(),
        TokenKey::new(*b"test-key-0123456789").unwrap(),
    )
}

fn event() -> Value {
    json!({
        "event_id": "evt-ingest-0001",
        "event_type": "signup",
        "schema_version": "1.0",
        "occurred_at": "2026-11-20T10:00:00Z",
        "sent_at": "2026-11-20T10:00:01Z",
        "subject": {"anonymous_id": "a-1", "user_id": "u-1", "session_id": "s-1"},
        "region": "eu",
        "consent": {"purposes": ["analytics", "personalization"], "cmp_version": "v1"},
        "source": {"kind": "web", "name": "shop"},
        "context": {
            "ip": "203.0.113.77",
            "user_agent": "Mozilla/5.0",
            "locale": "en-GB",
            "page_url": "https://shop.example.com/signup?email=ada@example.com#top"
        },
        "properties": {"method": "email", "email": "ada@example.com"}
    })
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

#[test]
fn accepts_a_valid_event_and_routes_it_to_its_regions_destination() {
    let ok = ingestor()
        .prepare(&bytes(&event()), at("2026-11-20T10:00:01Z"))
        .unwrap();
    assert_eq!(ok.destination, "eu-central");
    assert!(!ok.late);
    assert_eq!(ok.policies.len(), 2);
    assert!(
        ok.policies
            .iter()
            .all(|p| p.allowed && !p.policies.is_empty())
    );
}

#[test]
fn minimizes_personal_fields_as_eu_policy_says() {
    let ok = ingestor()
        .prepare(&bytes(&event()), at("2026-11-20T10:00:01Z"))
        .unwrap();
    let ctx = ok.event.context.as_ref().unwrap();
    assert_eq!(ctx.ip.unwrap().to_string(), "203.0.113.0");
    assert_eq!(
        ctx.user_agent, None,
        "device details are dropped under gdpr"
    );
    assert_eq!(ctx.locale.as_deref(), Some("en-GB"));
    assert_eq!(
        ctx.page_url.as_deref(),
        Some("https://shop.example.com/signup")
    );
    let Properties::Signup(s) = &ok.event.properties else {
        panic!()
    };
    assert_eq!(s.email, None);
    let token = &ok.tokens["properties.email"];
    assert!(token.starts_with("tok_"));
    let text = serde_json::to_string(&ok).unwrap();
    assert!(
        !text.contains("ada@example.com") && !text.contains("203.0.113.77"),
        "{text}"
    );
}

#[test]
fn keeps_device_details_outside_gdpr_regions() {
    let mut e = event();
    e["region"] = json!("us");
    let ok = ingestor()
        .prepare(&bytes(&e), at("2026-11-20T10:00:01Z"))
        .unwrap();
    assert_eq!(
        ok.event.context.unwrap().user_agent.as_deref(),
        Some("Mozilla/5.0")
    );
    assert_eq!(ok.destination, "us-east");
}

#[test]
fn the_same_value_gets_the_same_token_and_another_key_another() {
    let a = ingestor()
        .prepare(&bytes(&event()), at("2026-11-20T10:00:01Z"))
        .unwrap();
    let b = ingestor()
        .prepare(&bytes(&event()), at("2026-11-20T11:00:01Z"))
        .unwrap();
    assert_eq!(a.tokens, b.tokens);
    let other = Ingestor::new(
        Contract::global().unwrap(),
        policy(),
        Limits::default(),
        TokenKey::new(*b"another-key-987654").unwrap(),
    );
    let c = other
        .prepare(&bytes(&event()), at("2026-11-20T10:00:01Z"))
        .unwrap();
    assert_ne!(a.tokens, c.tokens);
}

#[test]
fn corrects_clock_skew_from_sent_at() {
    // The device clock is an hour behind: it says it sent at 10:00:01, we received at 11:00:01.
    let ok = ingestor()
        .prepare(&bytes(&event()), at("2026-11-20T11:00:01Z"))
        .unwrap();
    assert_eq!(ok.skew_ms, Timestamp::HOUR);
    assert_eq!(ok.occurred_at, at("2026-11-20T11:00:00Z"));
}

#[test]
fn small_skew_is_transit_not_a_wrong_clock() {
    let ok = ingestor()
        .prepare(&bytes(&event()), at("2026-11-20T10:00:02.500Z"))
        .unwrap();
    assert_eq!(ok.skew_ms, 0);
    assert_eq!(ok.occurred_at, at("2026-11-20T10:00:00Z"));
}

#[test]
fn tags_events_later_than_their_type_allows() {
    let mut e = event();
    e["event_type"] = json!("content_view");
    e["properties"] = json!({"content_id": "c-1", "category": "guides"});
    e["sent_at"] = json!("2026-11-20T17:00:00Z"); // buffered on the device for 7 hours
    let late = ingestor()
        .prepare(&bytes(&e), at("2026-11-20T17:00:00Z"))
        .unwrap();
    assert!(late.late, "content views may be 6 hours late");
    e["sent_at"] = json!("2026-11-20T15:00:00Z");
    let on_time = ingestor()
        .prepare(&bytes(&e), at("2026-11-20T15:00:00Z"))
        .unwrap();
    assert!(!on_time.late);
}

#[test]
fn dead_letters_behaviour_without_analytics_consent_keeping_only_minimized_data() {
    let mut e = event();
    e["consent"]["purposes"] = json!(["marketing"]);
    let err = ingestor()
        .prepare(&bytes(&e), at("2026-11-20T10:00:01Z"))
        .unwrap_err();
    assert_eq!(err.reason(), DeadLetterReason::ConsentDenied);
    let IngestError::ConsentDenied {
        minimized,
        decision,
        ..
    } = err
    else {
        panic!()
    };
    assert!(!decision.allowed);
    let kept = serde_json::to_string(&minimized).unwrap();
    assert!(!kept.contains("ada@example.com") && !kept.contains("203.0.113.77"));
}

#[test]
fn consent_changes_are_accepted_whatever_the_claim() {
    let mut e = event();
    e["event_type"] = json!("consent_change");
    e["consent"]["purposes"] = json!([]);
    e["properties"] = json!({"action": "revoke", "purposes": ["personalization"], "source": "settings", "policy_version": "v3"});
    assert!(
        ingestor()
            .prepare(&bytes(&e), at("2026-11-20T10:00:01Z"))
            .is_ok()
    );
}

#[test]
fn dead_letters_regions_without_an_approved_destination() {
    let mut e = event();
    e["region"] = json!("br");
    let err = ingestor()
        .prepare(&bytes(&e), at("2026-11-20T10:00:01Z"))
        .unwrap_err();
    assert_eq!(err.reason(), DeadLetterReason::NoDestination);
}

#[test]
fn broken_records_get_their_own_reason() {
    let i = ingestor();
    let now = at("2026-11-20T10:00:01Z");
    assert_eq!(
        i.prepare(b"{\"event_id\": ", now).unwrap_err().reason(),
        DeadLetterReason::MalformedJson
    );
    assert_eq!(
        i.prepare(&[0xff, 0xfe], now).unwrap_err().reason(),
        DeadLetterReason::NotUtf8
    );
    assert_eq!(
        i.prepare(&vec![b' '; 70_000], now).unwrap_err().reason(),
        DeadLetterReason::TooLarge
    );
    let mut e = event();
    e["schema_version"] = json!("2.0");
    assert_eq!(
        i.prepare(&bytes(&e), now).unwrap_err().reason(),
        DeadLetterReason::Contract
    );
}

#[test]
fn a_record_dated_far_after_its_receipt_is_dead_lettered_as_future_dated() {
    let received = at("2026-11-20T10:00:05Z");
    let mut far = event();
    far["sent_at"] = json!("9999-12-31T23:59:59Z");
    let e = ingestor().prepare(&bytes(&far), received).unwrap_err();
    assert_eq!(e.reason(), DeadLetterReason::FutureDated, "{e}");
    assert!(e.to_string().contains("sent_at"), "{e}");
    let mut ahead = event();
    ahead.as_object_mut().unwrap().remove("sent_at");
    ahead["occurred_at"] = json!("2026-11-22T10:00:00Z");
    let e = ingestor().prepare(&bytes(&ahead), received).unwrap_err();
    assert_eq!(e.reason(), DeadLetterReason::FutureDated, "{e}");
    // A clock a few hours ahead is skew, corrected as before.
    let mut skewed = event();
    skewed["sent_at"] = json!("2026-11-20T13:00:05Z");
    skewed["occurred_at"] = json!("2026-11-20T13:00:00Z");
    let ok = ingestor().prepare(&bytes(&skewed), received).unwrap();
    assert_eq!(ok.occurred_at, at("2026-11-20T10:00:00Z"));
}

#[test]
fn an_event_for_a_destination_this_deployment_does_not_hold_is_refused_first() {
    use tailor_core::policy::Residency;
    let us_only = ingestor().with_residency(Residency::only(["us-east".to_owned()]));
    let e = us_only
        .prepare(&bytes(&event()), at("2026-11-20T10:00:05Z"))
        .unwrap_err();
    assert_eq!(e.reason(), DeadLetterReason::OutOfRegion, "{e}");
    assert!(e.to_string().contains("eu-central"), "{e}");
    let mut us = event();
    us["region"] = json!("us");
    assert!(
        us_only
            .prepare(&bytes(&us), at("2026-11-20T10:00:05Z"))
            .is_ok()
    );
    // Held everywhere (the default), both are taken.
    assert!(
        ingestor()
            .prepare(&bytes(&event()), at("2026-11-20T10:00:05Z"))
            .is_ok()
    );
}
