//! The component's HTTP entry, run natively over real SQLite, a fresh
//! platform per request as Spin runs it: the golden cases through
//! `POST /v1/events` give the local platform's results, two requests at
//! once for one person lose nothing, store errors retry exactly the
//! records they hit, a function's component serves only its
//! routes, Spin's request fixture is taken, each stage a request runs
//! logs its cost record, and a component that cannot start says so.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use support::api::{self, Cases, Endpoint, Native};
use tailor_runtime::Env;
use tailor_runtime::cost::Platform;
use tailor_spin::SpinPlatform;

#[test]
fn every_golden_case_through_the_api_gives_the_local_platforms_results() {
    let ingest = Native::start("ingest");
    tailor_tests::cloud::assert_golden_cases(|_| Cases::fresh(&ingest));
}

#[test]
fn two_requests_at_once_for_one_person_lose_nothing_and_apply_nothing_twice() {
    api::assert_concurrent_requests_lose_nothing(&Native::start("ingest"));
}

/// Spin's request fixture (`events/envelopes/`), and its body's lines.
fn spin_request_fixture() -> (serde_json::Value, Vec<Vec<u8>>) {
    let fixture: serde_json::Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../events/envelopes/spin-http-request.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let lines = fixture["body"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    (fixture, lines)
}

#[test]
fn spins_request_fixture_is_taken_record_by_record() {
    let (fixture, lines) = spin_request_fixture();
    let ingest = Native::start("ingest");
    assert_eq!(fixture["headers"]["content-type"], "application/x-ndjson");
    let (status, outcomes) = api::send_events(&ingest, &lines);
    assert_eq!(status, 202, "{outcomes:?}");
    assert_eq!(
        outcomes,
        vec![tailor_core::disposition::Disposition::ACCEPTED; 2]
    );
}

#[test]
fn store_errors_retry_exactly_the_records_they_hit_and_a_redelivery_changes_nothing() {
    api::assert_store_faults_retry_exactly_the_records_they_hit(
        &Native::start("ingest"),
        &Native::start("ingest"),
    );
}

#[test]
fn each_component_serves_its_functions_routes_and_no_other() {
    let cases = [
        ("ingest", "POST", "/v1/events"),
        ("consent", "POST", "/v1/consent"),
        ("features", "GET", "/v1/profiles/p_x"),
        ("score", "POST", "/v1/decide"),
        ("score", "GET", "/v1/decisions/d_x"),
    ];
    for (function, _, _) in cases {
        let component = Native::start(function);
        for (owner, method, path) in cases {
            let body = (method == "POST").then_some(("application/json", &b"{}"[..]));
            let (status, answer) =
                component.request(method, path, Some(tailor_tests::API_KEY), body);
            let unrouted = status == 404 && answer["error"] == "no such route";
            assert_eq!(
                unrouted,
                owner != function,
                "{function} serves {method} {path} if and only if it is its own: {status} {answer}"
            );
        }
        let (status, _) = component.request("GET", "/healthz", Some(tailor_tests::API_KEY), None);
        assert_eq!(status, 200, "{function} answers its health check");
        let (status, _) = component.request("GET", "/healthz", None, None);
        assert_eq!(status, 401, "{function}: no key, no answer");
    }
}

#[test]
fn a_component_without_its_variables_names_what_is_missing() {
    let served = support::Served::start();
    let missing = |pairs: &[(&str, &str)]| {
        SpinPlatform::open(&Env::of(pairs), served.connect())
            .unwrap_err()
            .to_string()
    };
    assert!(missing(&[]).contains("TAILOR_FUNCTION"));
    assert!(missing(&[("TAILOR_FUNCTION", "rank")]).contains("\"rank\""));
    assert!(missing(&[("TAILOR_FUNCTION", "ingest")]).contains("TAILOR_API_KEYS"));
    let keys = "all 0000000000000000000000000000000000000000000000000000000000000000 events:write";
    assert!(
        missing(&[("TAILOR_FUNCTION", "ingest"), ("TAILOR_API_KEYS", keys)])
            .contains("TAILOR_TOKEN_KEY")
    );
}

/// What `f` returns, and the cost records logged while it ran.
fn cost_records<R>(f: impl FnOnce() -> R) -> (R, Vec<serde_json::Value>) {
    let captured = tailor_tests::logs::Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let logged = captured
        .json_lines()
        .into_iter()
        .filter(|l| l["target"] == "tailor::cost")
        .map(|l| serde_json::from_str(l["fields"]["cost"].as_str().unwrap()).unwrap())
        .collect();
    (out, logged)
}

#[test]
fn a_decisions_request_logs_the_decisions_own_cost_record() {
    let score = Native::start("score").with("TAILOR_COST_REGION", "aws-us-east-1");
    let request = serde_json::json!({
        "profile": "user:u-none",
        "purpose": "marketing",
        "placement": "offer",
        "region": "eu",
        "consent": ["analytics", "marketing"],
        "adult": true,
    });
    let ((status, answer), logged) = cost_records(|| api::decide(&score, &request));
    assert_eq!(status, 200, "{answer}");
    let id = answer["decision_id"].as_str().unwrap();
    assert_eq!(logged.len(), 1, "one record for the request: {logged:?}");
    let record = tailor_tests::cost::check(&logged[0]["cost"], Platform::Spin, "score");
    assert_eq!(record.decision_id.as_deref(), Some(id));
    assert!(record.usage.get("node.hours") > 0);
}

#[test]
fn each_stage_a_request_runs_logs_its_cost_record() {
    let ingest = Native::start("ingest").with("TAILOR_COST_REGION", "aws-us-east-1");
    let (_, lines) = spin_request_fixture();
    let ((status, _), logged) = cost_records(|| api::send_events(&ingest, &lines));
    assert_eq!(status, 202);
    let mut functions = Vec::new();
    for entry in &logged {
        let function = entry["cost"]["function"].as_str().unwrap();
        let record = tailor_tests::cost::check(&entry["cost"], Platform::Spin, function);
        assert_eq!(record.region, "spinkube/aws-us-east-1");
        assert_eq!(record.requests, 0, "a node's share, not a request");
        assert!(record.usage.get("node.hours") > 0);
        functions.push(function.to_owned());
    }
    for stage in ["ingest", "enrich", "features"] {
        assert!(
            functions.iter().any(|f| f == stage),
            "{stage}: {functions:?}"
        );
    }
}
