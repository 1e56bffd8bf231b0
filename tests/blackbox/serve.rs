//! The local HTTP API.

use serde_json::json;
use tailor_tests::siege::siege;
use tailor_tests::{event, spawn_server};

fn view(id: &str) -> serde_json::Value {
    event(
        id,
        "content_view",
        "2026-11-20T10:00:00Z",
        json!({"anonymous_id": "a-s", "user_id": "u-s"}),
        json!({"content_id": "c-1", "category": "guides"}),
    )
}

#[test]
fn serves_events_profiles_and_consent() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    assert_eq!(server.get("/healthz"), (200, json!({"status": "ok"})));
    let login = event(
        "evt-serve-login",
        "login",
        "2026-11-20T09:00:00Z",
        json!({"anonymous_id": "a-s", "user_id": "u-s"}),
        json!({"method": "password"}),
    );
    assert_eq!(server.post("/v1/events", &login).0, 202);

    let (status, body) = server.post("/v1/events", &view("evt-serve-0001"));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["records"][0]["outcome"]["disposition"], "accepted");

    let lines = [view("evt-serve-0002"), view("evt-serve-0001")]
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let (status, body) = server.request(
        "POST",
        "/v1/events",
        "application/x-ndjson",
        lines.as_bytes(),
    );
    assert_eq!(status, 202);
    assert_eq!(body["records"][1]["outcome"]["duplicate"], true);

    let (status, profile) = server.get("/v1/profiles/user:u-s");
    assert_eq!(status, 200, "{profile}");
    assert_eq!(
        profile["features"]["features"]["count_24h.content_view"]["value"],
        json!(2.0)
    );
    let (status, by_anon) = server.get("/v1/profiles/anon:a-s");
    assert_eq!(status, 200);
    assert_eq!(by_anon["profile_id"], profile["profile_id"]);

    let mut revoke = event(
        "evt-serve-revoke",
        "consent_change",
        "2026-11-20T11:00:00Z",
        json!({"user_id": "u-s"}),
        json!({"action": "revoke", "purposes": ["personalization"], "source": "api", "policy_version": "v1"}),
    );
    revoke["consent"]["purposes"] = json!([]);
    let (status, body) = server.post("/v1/consent", &revoke);
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["completion"]["steps"]["feature_inputs_deleted"],
        json!(3),
        "the login and two views"
    );
    assert_eq!(server.get("/v1/profiles/user:u-s").0, 404);
}

#[test]
fn rejects_bad_input_with_clear_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    let mut bad = view("evt-serve-bad1");
    bad["properties"]["content_id"] = json!("");
    let (status, body) = server.post("/v1/events", &bad);
    assert_eq!(status, 422);
    assert_eq!(body["records"][0]["outcome"]["reason"], "contract");
    let (status, _) = server.request(
        "POST",
        "/v1/events",
        "application/json",
        &vec![b' '; 70_000],
    );
    assert_eq!(status, 413);
    assert_eq!(
        server.post("/v1/consent", &view("evt-serve-0003")).0,
        422,
        "only consent changes"
    );
    assert_eq!(server.get("/v1/profiles/user:nobody").0, 404);
}

#[test]
fn an_event_id_reused_by_another_persons_erasure_is_a_conflict_never_their_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    let erase = |user: &str, source: &str| {
        let mut e = event(
            "evt-shared-id-0001",
            "consent_change",
            "2026-11-20T12:00:00Z",
            json!({"user_id": user}),
            json!({"action": "erase", "purposes": ["analytics", "personalization", "marketing"], "source": "api", "policy_version": "v1"}),
        );
        e["consent"]["purposes"] = json!([]);
        e["source"]["name"] = json!(source);
        e
    };
    let (status, first) = server.post("/v1/consent", &erase("u-first", "crm"));
    assert_eq!(status, 202, "{first}");
    let first_request = first["completion"]["request"].clone();
    assert!(first_request.is_string(), "{first}");
    assert!(
        first["completion"].get("profile_id").is_none(),
        "an erasure's record names nobody: {first}"
    );

    // Another person, another source, the same event id.
    let (_, second) = server.post("/v1/consent", &erase("u-second", "support-desk"));
    assert!(
        second["completion"].is_null(),
        "never the first person's record: {second}"
    );
    assert!(!second.to_string().contains(first_request.as_str().unwrap()));

    // The first request again is a repeat, answered with its own record.
    let (status, again) = server.post("/v1/consent", &erase("u-first", "crm"));
    assert_eq!(status, 202);
    assert_eq!(again["completion"]["request"], first_request);
}

#[test]
fn slow_and_flooding_clients_cannot_starve_the_server() {
    let limits = tailor_runtime::http::ServeLimits {
        header_timeout: std::time::Duration::from_millis(500),
        body_timeout: std::time::Duration::from_secs(2),
        max_connections: 100,
        ..Default::default()
    };
    // More stalled connections than the cap: the rest wait their turn.
    let siege = siege(limits, 300, 8, std::time::Duration::from_secs(20));
    let bound = std::time::Duration::from_secs(10);
    assert_eq!(siege.health.0, 200, "{siege:?}");
    assert!(siege.health.1 < bound, "/healthz answered late: {siege:?}");
    assert_eq!(siege.events.0, 202, "{siege:?}");
    assert!(
        siege.events.1 < bound,
        "a small request answered late: {siege:?}"
    );
    let (status, body, _) = &siege.flood;
    assert_eq!(*status, 413, "{siege:?}");
    assert_eq!(body["max_records"], tailor_runtime::http::MAX_RECORDS);
    assert!(body["error"].as_str().unwrap().contains("1000"), "{body}");
    assert_eq!(
        siege.stalled_open, 0,
        "stalled connections are let go: {siege:?}"
    );
    for (status, closed, _) in &siege.trickled {
        assert!(*closed, "a trickled body is cut off: {siege:?}");
        assert!([0, 408].contains(status), "{siege:?}");
    }
}
