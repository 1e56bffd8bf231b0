//! No personal data in logs at info level.

use serde_json::json;
use tailor_tests::logs::Captured;
use tailor_tests::{event, generated, spawn_pipeline};

#[test]
fn info_logs_carry_no_email_or_ip() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || sink.clone())
        .finish();
    // Global, so that the callsite cache cannot hide events from this
    // subscriber while other tests run; their logs are checked too.
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only global subscriber in this binary");
    {
        let mut p = spawn_pipeline();
        let mut signup = event(
            "evt-signup-pii",
            "signup",
            "2026-11-20T10:00:00Z",
            json!({"anonymous_id": "a-pii", "user_id": "u-pii"}),
            json!({"method": "email", "email": "ada.lovelace@example.com"}),
        );
        signup["context"] = json!({"ip": "198.51.100.23", "user_agent": "Mozilla/5.0"});
        let mut revoke = event(
            "evt-revoke-pii",
            "consent_change",
            "2026-11-20T11:00:00Z",
            json!({"user_id": "u-pii"}),
            json!({"action": "revoke", "purposes": ["personalization"], "source": "settings", "policy_version": "v1"}),
        );
        revoke["context"] = json!({"ip": "198.51.100.23"});
        p.send(&[signup, revoke]);
        p.send_batches(&generated(30, 7, 1), 50);
    }
    let logs = captured.text();
    assert!(
        logs.contains("consent change propagated"),
        "info logs were produced: {logs}"
    );
    for secret in [
        "ada.lovelace@example.com",
        "198.51.100.23",
        "@example.com",
        "203.0.113.",
    ] {
        assert!(!logs.contains(secret), "{secret} found in logs");
    }
}
