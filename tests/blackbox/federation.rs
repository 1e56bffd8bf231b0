//! Federated policy: a deployment composes the central bundle with its own
//! region's overlay, which may only restrict it; decisions name the layer.

use tailor_core::event::Purpose;
use tailor_core::ports::Table;
use tailor_runtime::{ClockMode, Function};
use tailor_tests::{settings, spawn_with};

fn with_overlay(name: &str) -> tailor_runtime::Settings {
    let mut s = settings(ClockMode::Arrival);
    s.policy_overlay = Some(name.to_owned());
    s
}

#[test]
fn a_deployment_with_the_eu_overlay_keeps_the_eu_rules() {
    let mut p = spawn_with(&with_overlay("eu"), &Function::ALL);
    let policy = p.pipeline.policy();
    // Shorter retention: dead letters 7 days instead of the base's 14.
    assert_eq!(
        policy.retention_ms("dead_letters"),
        7 * tailor_core::Timestamp::DAY
    );
    p.send_raw(&[b"{not json".to_vec()]);
    let (_, item) = p
        .pipeline
        .store()
        .scan(Table::DeadLetters)
        .unwrap()
        .into_iter()
        .find(|(k, _)| !k.starts_with("volume/"))
        .unwrap();
    let letter: serde_json::Value = serde_json::from_slice(&item.value).unwrap();
    let at = tailor_core::Timestamp::parse(letter["at"].as_str().unwrap()).unwrap();
    assert_eq!(
        item.expires_at.millis_since(at),
        7 * tailor_core::Timestamp::DAY
    );
    // A forbid of the overlay decides, and the decision names its layer.
    let link = policy.link_probabilistic("uk", Purpose::Personalization, 95);
    assert!(!link.allowed);
    assert_eq!(
        link.policies,
        vec!["eu:no-probable-links-in-the-uk".to_owned()]
    );
    // The base alone keeps its own retention.
    let base = spawn_with(
        &settings(ClockMode::Arrival),
        &tailor_runtime::Function::STREAM,
    );
    assert_eq!(
        base.pipeline.policy().retention_ms("dead_letters"),
        14 * tailor_core::Timestamp::DAY
    );
}

#[test]
fn an_unknown_overlay_stops_start_up() {
    let err = tailor_local::LocalPlatform::open(None, &with_overlay("atlantis"), &Function::ALL)
        .unwrap_err();
    assert!(err.to_string().contains("atlantis"), "{err}");
}
