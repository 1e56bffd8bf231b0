//! Helpers shared by the core's integration tests.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::needless_pass_by_value)]

use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::contract::Contract;
use tailor_core::decode::Limits;
use tailor_core::ingest::{Ingested, Ingestor};
use tailor_core::policy::Policy;
use tailor_core::token::TokenKey;

pub fn policy() -> &'static Policy {
    Box::leak(Box::new(Policy::shipped().unwrap()))
}

pub fn ingestor(policy: &'static Policy) -> Ingestor<'static> {
    Ingestor::new(
        Contract::global().unwrap(),
        policy,
        Limits::default(),
        TokenKey::new(*b"test-key-0123456789").unwrap(),
    )
}

/// An event of `kind` at `at` (RFC 3339) for the given keys, with `properties`.
pub fn event(
    id: &str,
    kind: &str,
    at: &str,
    anon: Option<&str>,
    user: Option<&str>,
    properties: Value,
) -> Value {
    let mut subject = serde_json::Map::new();
    if let Some(a) = anon {
        subject.insert("anonymous_id".into(), json!(a));
    }
    if let Some(u) = user {
        subject.insert("user_id".into(), json!(u));
    }
    subject.insert("session_id".into(), json!("s-1"));
    json!({
        "event_id": id, "event_type": kind, "schema_version": "1.0", "occurred_at": at,
        "subject": subject, "region": "eu",
        "consent": {"purposes": ["analytics", "personalization"], "cmp_version": "v1"},
        "source": {"kind": "web", "name": "shop"}, "properties": properties
    })
}

pub fn ingest(policy: &'static Policy, value: &Value) -> Ingested {
    let received = Timestamp::parse(value["occurred_at"].as_str().unwrap()).unwrap();
    ingestor(policy)
        .prepare(&serde_json::to_vec(value).unwrap(), received)
        .unwrap()
}

pub fn login(id: &str, at: &str, anon: &str, user: &str) -> Value {
    event(
        id,
        "login",
        at,
        Some(anon),
        Some(user),
        json!({"method": "password"}),
    )
}

pub fn view(id: &str, at: &str, anon: Option<&str>, user: Option<&str>) -> Value {
    event(
        id,
        "content_view",
        at,
        anon,
        user,
        json!({"content_id": "c-1", "category": "guides"}),
    )
}

pub fn cart(id: &str, at: &str, user: &str, quantity: u32, price: f64) -> Value {
    event(
        id,
        "add_to_cart",
        at,
        None,
        Some(user),
        json!({"cart_id": "k-1", "product_id": "p-1", "quantity": quantity, "unit_price": price, "currency": "EUR"}),
    )
}
