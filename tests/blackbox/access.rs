//! Who may call the HTTP API: every route × no key, a key without the
//! route's scope, a key with it, and a browser's cross-site simple request.

use serde_json::json;
use tailor_tests::{API_KEY, event, spawn_server};

/// A route, its scope, and a body it accepts.
struct Case {
    method: &'static str,
    path: &'static str,
    scope: Option<&'static str>,
    body: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let view = event(
        "evt-access-0001",
        "content_view",
        "2026-11-20T10:00:00Z",
        json!({"user_id": "u-access"}),
        json!({"content_id": "c-1", "category": "guides"}),
    );
    let mut erase = event(
        "evt-access-0002",
        "consent_change",
        "2026-11-20T10:05:00Z",
        json!({"user_id": "u-access"}),
        json!({"action": "erase", "purposes": ["analytics", "personalization", "marketing"], "source": "api", "policy_version": "v1"}),
    );
    erase["consent"]["purposes"] = json!([]);
    let decide = json!({
        "profile": "user:u-access", "purpose": "personalization", "placement": "onboarding",
        "region": "eu", "consent": ["personalization"], "adult": true
    });
    let bytes = |v: &serde_json::Value| serde_json::to_vec(v).unwrap();
    vec![
        Case {
            method: "GET",
            path: "/healthz",
            scope: None,
            body: Vec::new(),
        },
        Case {
            method: "POST",
            path: "/v1/events",
            scope: Some("events:write"),
            body: bytes(&view),
        },
        Case {
            method: "POST",
            path: "/v1/consent",
            scope: Some("consent:write"),
            body: bytes(&erase),
        },
        Case {
            method: "GET",
            path: "/v1/profiles/user:u-access",
            scope: Some("profiles:read"),
            body: Vec::new(),
        },
        Case {
            method: "POST",
            path: "/v1/decide",
            scope: Some("decide"),
            body: bytes(&decide),
        },
        Case {
            method: "GET",
            path: "/v1/decisions/dec_none",
            scope: Some("decisions:read"),
            body: Vec::new(),
        },
    ]
}

/// A key that has every scope but `scope`'s.
fn other_key(scope: Option<&str>) -> String {
    let other = if scope == Some("decide") {
        "profiles:read"
    } else {
        "decide"
    };
    format!("key-{other}")
}

#[test]
fn every_route_needs_a_key_with_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    for case in cases() {
        let json = ("Content-Type", "application/json");
        let (status, _) = server.request_with(case.method, case.path, &[json], &case.body);
        assert_eq!(status, 401, "{} {} without a key", case.method, case.path);

        let wrong = format!("Bearer {}", other_key(case.scope));
        let (status, _) = server.request_with(
            case.method,
            case.path,
            &[json, ("Authorization", &wrong)],
            &case.body,
        );
        let want = if case.scope.is_some() { 403 } else { 200 };
        assert_eq!(
            status, want,
            "{} {} with another scope's key",
            case.method, case.path
        );

        let right = case.scope.map_or_else(
            || format!("Bearer {API_KEY}"),
            |s| format!("Bearer key-{s}"),
        );
        let (status, body) = server.request_with(
            case.method,
            case.path,
            &[json, ("Authorization", &right)],
            &case.body,
        );
        assert!(
            ![401, 403, 415].contains(&status),
            "{} {} with its scope: {status} {body}",
            case.method,
            case.path
        );
    }
}

#[test]
fn a_browser_on_another_origin_cannot_drive_the_api_even_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    let auth = format!("Bearer {API_KEY}");
    for case in cases() {
        // The "simple" request a page can send without a preflight.
        let (status, _) = server.request_with(
            case.method,
            case.path,
            &[
                ("Content-Type", "text/plain"),
                ("Origin", "https://evil.example"),
                ("Authorization", &auth),
            ],
            &case.body,
        );
        assert_eq!(
            status, 403,
            "{} {} from another origin",
            case.method, case.path
        );
        let (status, _) = server.request_with(
            case.method,
            case.path,
            &[("Sec-Fetch-Site", "cross-site"), ("Authorization", &auth)],
            &case.body,
        );
        assert_eq!(
            status, 403,
            "{} {} marked cross-site",
            case.method, case.path
        );
    }
    // Nothing was erased or recorded: the consent change never ran.
    let (status, _) = server.get("/v1/profiles/user:u-access");
    assert_eq!(status, 404, "no profile was created either");
    // The configured origin is served.
    let erase = &cases()[2];
    let (status, body) = server.request_with(
        "POST",
        erase.path,
        &[
            ("Content-Type", "application/json"),
            ("Origin", "https://shop.example"),
            ("Authorization", &auth),
        ],
        &erase.body,
    );
    assert_eq!(status, 202, "{body}");
}

#[test]
fn bodies_must_be_json_or_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    for case in cases().into_iter().filter(|c| c.method == "POST") {
        for kind in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            let (status, _) = server.request(case.method, case.path, kind, &case.body);
            assert_eq!(status, 415, "{} as {kind}", case.path);
        }
        let (status, _) = server.request_with(
            case.method,
            case.path,
            &[("Authorization", &format!("Bearer {API_KEY}"))],
            &case.body,
        );
        assert_eq!(status, 415, "{} without a content type", case.path);
    }
    let (status, _) = server.request("POST", "/v1/events", "application/x-ndjson", b"{}\n{}");
    assert_eq!(
        status, 422,
        "JSON Lines reach ingest (and these are dead-lettered)"
    );
}

/// A `decide` key learns what it acts on — the decision, its action, its
/// reasons — never the feature values of the person it was made for;
/// those stay behind `decisions:read`.
#[test]
fn a_decide_key_gets_the_decision_never_the_persons_inputs() {
    use tailor_core::ports::Clock;
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    // Recent events, so the decision reaches the model's inputs.
    let now = tailor_runtime::WallClock.now();
    let at = |minutes: i64| now.add_millis(-minutes * 60_000).to_string();
    let subject =
        json!({"anonymous_id": "a-inputs", "user_id": "u-inputs", "session_id": "s-inputs"});
    let mut events = vec![event(
        "evt-inputs-login",
        "login",
        &at(30),
        subject.clone(),
        json!({"method": "password"}),
    )];
    for i in 0..5 {
        events.push(event(
            &format!("evt-inputs-view{i}"),
            "content_view",
            &at(25 - i),
            subject.clone(),
            json!({"content_id": "c-1", "category": "guides"}),
        ));
    }
    for e in &events {
        assert_eq!(server.post("/v1/events", e).0, 202);
    }

    let request = json!({
        "profile": "user:u-inputs", "purpose": "personalization", "placement": "onboarding",
        "region": "eu", "consent": ["analytics", "personalization"], "adult": true
    });
    let json = ("Content-Type", "application/json");
    let (status, answer) = server.request_with(
        "POST",
        "/v1/decide",
        &[json, ("Authorization", "Bearer key-decide")],
        &serde_json::to_vec(&request).unwrap(),
    );
    assert_eq!(status, 200, "{answer}");
    let id = answer["decision_id"].as_str().unwrap();
    for field in ["placement", "action", "reasons", "policy"] {
        assert!(
            !answer[field].is_null(),
            "the answer has its {field}: {answer}"
        );
    }
    for field in ["snapshot", "features", "score", "profile_id", "context"] {
        assert!(
            answer.get(field).is_none(),
            "no {field} in a decide answer: {answer}"
        );
    }
    // The decide key cannot read the record back either.
    let path = format!("/v1/decisions/{id}");
    let (status, _) = server.request_with(
        "GET",
        &path,
        &[json, ("Authorization", "Bearer key-decide")],
        b"",
    );
    assert_eq!(status, 403);

    // The whole record, the person's inputs among it, is for decisions:read.
    let (status, record) = server.request_with(
        "GET",
        &path,
        &[json, ("Authorization", "Bearer key-decisions:read")],
        b"",
    );
    assert_eq!(status, 200, "{record}");
    let values = record["snapshot"]["values"].as_object().unwrap();
    assert!(
        !values.is_empty(),
        "the decision read the person's features: {record}"
    );
    assert_eq!(record["action"], answer["action"]);
    assert_eq!(record["reasons"], answer["reasons"]);
    // Not one input value, nor its digest, is in the answer.
    let text = answer.to_string();
    assert!(!text.contains(record["snapshot"]["hash"].as_str().unwrap()));
    for (name, _) in values {
        assert!(
            !text.contains(&format!("\"{name}\":")),
            "no value keyed by {name}: {text}"
        );
    }
}
