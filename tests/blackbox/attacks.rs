//! Consent and erasure tried as a hostile or careless caller would: by
//! every id form a request may name a person by, through every route, with
//! deliveries that waited, and past the identity fan-out limit. Each test
//! failed before the rule it names was fixed at its root.

use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::event::Purpose;
use tailor_core::identity::profile_of_user;
use tailor_core::ports::Table;
use tailor_core::score::{DecisionRequest, Fallback};
use tailor_tests::{event, spawn_pipeline_with_model, spawn_server};

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn view(id: &str, when: &str, subject: Value) -> Value {
    event(
        id,
        "content_view",
        when,
        subject,
        json!({"content_id": "c-1", "category": "guides"}),
    )
}

fn change(id: &str, when: &str, subject: Value, action: &str, purposes: &[&str]) -> Value {
    let mut e = event(
        id,
        "consent_change",
        when,
        subject,
        json!({"action": action, "purposes": purposes, "source": "settings", "policy_version": "v2"}),
    );
    e["consent"]["purposes"] = json!([]);
    e
}

fn request(profile: &str) -> DecisionRequest {
    DecisionRequest {
        profile: profile.into(),
        purpose: Purpose::Marketing,
        placement: "offer".into(),
        region: "eu".into(),
        consent: Purpose::ALL.to_vec(),
        adult: true,
        context: Default::default(),
    }
}

/// A sign-in and five views; event ids start with `tag` (ids are not
/// personal data, and are kept after an erasure in the de-duplication
/// ledger, so they must not spell the person's ids).
fn activity(tag: &str, user: &str, anon: &str) -> Vec<Value> {
    let subject = json!({"anonymous_id": anon, "user_id": user});
    let mut events = vec![event(
        &format!("evt-{tag}-login"),
        "login",
        "2026-11-20T09:00:00Z",
        subject.clone(),
        json!({"method": "password"}),
    )];
    for i in 0..5 {
        events.push(view(
            &format!("evt-{tag}-view{i}"),
            &format!("2026-11-20T09:1{i}:00Z"),
            subject.clone(),
        ));
    }
    events
}

/// A revocation of marketing is the person's, whichever id names them.
#[test]
fn a_revoked_purpose_stays_revoked_by_every_id_form() {
    let mut p = spawn_pipeline_with_model();
    p.send(&activity("t39500", "u-rev", "a-rev"));
    p.send(&[change(
        "evt-rev-0001",
        "2026-11-20T09:30:00Z",
        json!({"user_id": "u-rev"}),
        "revoke",
        &["marketing"],
    )]);
    let now = at("2026-11-20T10:00:00Z");
    for id in [
        "user:u-rev".to_owned(),
        "anon:a-rev".to_owned(),
        profile_of_user("u-rev"),
    ] {
        let record = p.decide(&request(&id), now);
        assert_eq!(record.fallback, Some(Fallback::NotPermitted), "{id}");
    }
}

/// A profile id that names no one, or an id of no accepted form, is never
/// personalized from a guess; the HTTP API refuses the second outright.
#[test]
fn an_id_that_names_no_one_is_not_personalized() {
    let p = spawn_pipeline_with_model();
    let record = p.decide(&request("p_0000000000"), at("2026-11-20T10:00:00Z"));
    assert_eq!(record.fallback, Some(Fallback::NoFeatures));
    for bare in ["u-rev", "acct:acme", "p_", "user:"] {
        let parsed = serde_json::from_value::<DecisionRequest>(json!({
            "profile": bare, "purpose": "marketing", "placement": "offer",
            "region": "eu", "consent": ["marketing"], "adult": true
        }));
        let error = parsed.expect_err(bare).to_string();
        assert!(
            error.contains("`user:…`, `anon:…` or a profile id"),
            "{error}"
        );
    }
}

/// A revocation recorded on a device, which later links to the user and is
/// then let go for the fan-out limit, stays with the user.
#[test]
fn a_revocation_survives_its_key_being_released_for_the_fan_out_limit() {
    let mut p = spawn_pipeline_with_model();
    p.send(&[change(
        "evt-fan-rev1",
        "2026-11-20T08:00:00Z",
        json!({"anonymous_id": "a-fan-00"}),
        "revoke",
        &["marketing"],
    )]);
    p.send(&activity("t62068", "u-fanrev", "a-fan-00"));
    let limit = tailor_core::policy::Policy::shipped()
        .unwrap()
        .max_anonymous_per_user();
    let start = at("2026-11-20T10:00:00Z");
    let logins: Vec<Value> = (1..=limit)
        .map(|i| {
            event(
                &format!("evt-fan-login-{i:04}"),
                "login",
                &start.add_millis(i as i64 * 60_000).to_string(),
                json!({"anonymous_id": format!("a-fan-{i:02}"), "user_id": "u-fanrev"}),
                json!({"method": "password"}),
            )
        })
        .collect();
    p.send(&logins);
    let released =
        tailor_tests::kit::opened_audit(&p.table(Table::Subjects), &p.table(Table::Audit))
            .into_iter()
            .any(|a| a["kind"] == "released" && a["key"] == "anon:a-fan-00");
    assert!(released, "the first device was let go");
    let record = p.decide(&request("user:u-fanrev"), at("2026-11-21T12:00:00Z"));
    assert_eq!(record.fallback, Some(Fallback::NotPermitted));
}

/// A grant that waited in a queue (or was retried) after a newer
/// revocation does not undo it: it counts from when the producer said it
/// happened, not from its arrival.
#[test]
fn a_delayed_grant_never_overrides_a_newer_revocation() {
    let mut p = spawn_pipeline_with_model();
    p.send(&activity("t43475", "u-late", "a-late"));
    let subject = json!({"user_id": "u-late"});
    let mut grant = change(
        "evt-late-grant",
        "2026-11-20T09:40:00Z",
        subject.clone(),
        "grant",
        &["marketing"],
    );
    grant["sent_at"] = json!("2026-11-20T09:40:00Z");
    p.send(&[change(
        "evt-late-revoke",
        "2026-11-20T09:50:00Z",
        subject,
        "revoke",
        &["marketing"],
    )]);
    // Delivered an hour after it was sent.
    p.send_received(&[grant], at("2026-11-20T10:40:00Z"));
    let record = p.decide(&request("user:u-late"), at("2026-11-20T11:00:00Z"));
    assert_eq!(record.fallback, Some(Fallback::NotPermitted));
}

/// Views from minutes before an erasure, delivered after it with their
/// true `sent_at`, do not bring the person back.
#[test]
fn views_from_before_an_erasure_delivered_after_it_stay_out() {
    let mut p = spawn_pipeline_with_model();
    p.send(&activity("t13526", "u-gone", "a-gone"));
    p.send(&[change(
        "evt-gone-erase",
        "2026-11-20T10:00:00Z",
        json!({"user_id": "u-gone", "anonymous_id": "a-gone"}),
        "erase",
        &[],
    )]);
    let mut late = view(
        "evt-gone-late",
        "2026-11-20T09:55:00Z",
        json!({"anonymous_id": "a-gone", "user_id": "u-gone"}),
    );
    late["sent_at"] = json!("2026-11-20T09:55:00Z");
    p.send_received(&[late], at("2026-11-20T10:20:00Z"));
    for table in [Table::Features, Table::FeatureInputs, Table::Identity] {
        let text = serde_json::to_string(&p.table(table)).unwrap();
        assert!(
            !text.contains("u-gone") && !text.contains("a-gone"),
            "{table:?}: {text}"
        );
    }
    assert!(p.features(&profile_of_user("u-gone")).is_none());
}

/// An `events:write` key cannot carry out a consent change by posting it
/// to the events route: consent changes need `consent:write` on any route.
#[test]
fn an_events_only_key_cannot_change_consent_through_the_events_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    let events_key = "Bearer key-events:write";
    let send = |auth: &str, body: &Value| {
        server.request_with(
            "POST",
            "/v1/events",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", auth),
            ],
            &serde_json::to_vec(body).unwrap(),
        )
    };
    let subject = json!({"user_id": "u-scope"});
    let (status, _) = send(
        events_key,
        &view("evt-scope-view", "2026-11-20T09:00:00Z", subject.clone()),
    );
    assert_eq!(status, 202);
    let erase = change(
        "evt-scope-erase",
        "2026-11-20T09:10:00Z",
        subject,
        "erase",
        &[],
    );
    let (status, body) = send(events_key, &erase);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["records"][0]["outcome"]["reason"], "consent_not_permitted",
        "{body}"
    );
    let (status, profile) = server.get("/v1/profiles/user:u-scope");
    assert_eq!(status, 200, "the person's data is untouched: {profile}");
    // The same change with `consent:write`, on the same route, is carried out.
    let (status, body) = send(&format!("Bearer {}", tailor_tests::API_KEY), &erase);
    assert_eq!(status, 202, "{body}");
    let (status, _) = server.get("/v1/profiles/user:u-scope");
    assert_eq!(status, 404);
}

/// The state file itself, byte for byte, keeps nothing of an erased
/// person: not in live items, and not in pages their erasure freed.
#[test]
fn the_state_files_bytes_keep_nothing_of_an_erased_person() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let s = tailor_tests::settings(tailor_runtime::ClockMode::Arrival);
    let mut p = tailor_tests::spawn_at(Some(&path), &s, &tailor_runtime::Function::ALL);
    p.send(&activity("t97139", "usr-onfile-zq", "anon-onfile-zq"));
    p.send(&activity("t13118", "usr-stays-zq", "anon-stays-zq"));
    let raw = std::fs::read(&path).unwrap();
    let holds =
        |bytes: &[u8], needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        holds(&raw, "usr-onfile-zq"),
        "the scan finds what it looks for"
    );
    p.send(&[change(
        "evt-onfile-erase",
        "2026-11-20T11:00:00Z",
        json!({"user_id": "usr-onfile-zq", "anonymous_id": "anon-onfile-zq"}),
        "erase",
        &[],
    )]);
    let raw = std::fs::read(&path).unwrap();
    for trace in ["usr-onfile-zq", "anon-onfile-zq"] {
        assert!(!holds(&raw, trace), "{trace} is still in the file's bytes");
    }
    assert!(holds(&raw, "usr-stays-zq"), "the others' data is kept");
}
