//! `infra/spin/spin.toml` against the workspace: every route the manifest
//! gives a component is one its function serves, every route a function
//! serves has a trigger, every component gets the one database and no
//! outbound host, only the model files go where they are used, and every
//! variable a component is given is one the platform reads.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use std::collections::BTreeSet;

use support::api::{Endpoint, Native};
use toml::Value;

fn manifest() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../infra/spin/spin.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The variables the platform reads, as Spin names them.
const READ: [&str; 11] = [
    "function",
    "cost_region",
    "api_keys",
    "token_key",
    "policy_overlay",
    "destinations",
    "stream_consent",
    "clock",
    "store_budget_ms",
    "model_dir",
    "engine",
];

#[test]
fn every_component_runs_a_function_over_the_one_database_and_nothing_else() {
    let manifest = manifest();
    assert_eq!(manifest["spin_manifest_version"].as_integer(), Some(2));
    let components = manifest["component"].as_table().unwrap();
    let mut functions = BTreeSet::new();
    for (name, component) in components {
        let variables = component["variables"].as_table().unwrap();
        let function = variables["function"].as_str().unwrap();
        assert_eq!(
            function, name,
            "component {name} runs the function it is named for"
        );
        assert!(
            tailor_runtime::Function::named(function).is_some(),
            "{function}"
        );
        functions.insert(function.to_owned());
        let wasm =
            tailor_spin::platform::wasm_of(tailor_runtime::Function::named(function).unwrap());
        assert_eq!(
            component["source"].as_str(),
            Some(format!("../../target/spin/{wasm}").as_str()),
            "{name}: the build that holds its function"
        );
        assert_eq!(
            component["sqlite_databases"].as_array().unwrap(),
            &vec![Value::String(tailor_spin::DATABASE.to_owned())],
            "{name}"
        );
        assert!(component.get("key_value_stores").is_none(), "{name}");
        assert_eq!(
            component["allowed_outbound_hosts"].as_array().map(Vec::len),
            Some(0),
            "{name} makes no outbound request"
        );
        for variable in variables.keys() {
            assert!(
                READ.contains(&variable.as_str()),
                "{name} is given {variable}, which nothing reads"
            );
        }
        for needed in ["api_keys", "token_key"] {
            assert!(variables.contains_key(needed), "{name} needs {needed}");
        }
        let files = component.get("files").and_then(Value::as_array);
        if name == "score" {
            let files = files.expect("score reads the model");
            assert_eq!(files.len(), 1);
            assert_eq!(
                files[0]["destination"].as_str(),
                Some(tailor_spin::platform::MODEL_DIR)
            );
            let source = files[0]["source"].as_str().unwrap();
            let on_disk =
                std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../infra/spin"))
                    .join(source)
                    .join("model.onnx");
            assert!(on_disk.exists(), "{}", on_disk.display());
        } else {
            assert!(files.is_none(), "{name} is given files it never reads");
        }
    }
    // Enrich runs in the components that chain the stream in-process.
    assert_eq!(
        functions,
        ["consent", "features", "ingest", "score"]
            .map(str::to_owned)
            .into(),
    );
    let variables = manifest["variables"].as_table().unwrap();
    for secret in ["api_keys", "token_key"] {
        assert_eq!(
            variables[secret]["secret"].as_bool(),
            Some(true),
            "{secret}"
        );
        assert_eq!(
            variables[secret]["required"].as_bool(),
            Some(true),
            "{secret}"
        );
    }
}

#[test]
fn every_trigger_routes_to_a_component_that_serves_it_and_every_route_has_one() {
    let manifest = manifest();
    let triggers = manifest["trigger"]["http"].as_array().unwrap();
    let routed: BTreeSet<(String, String)> = triggers
        .iter()
        .map(|t| {
            (
                t["route"].as_str().unwrap().to_owned(),
                t["component"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("/v1/events", "ingest"),
        ("/healthz", "ingest"),
        ("/v1/consent", "consent"),
        ("/v1/profiles/...", "features"),
        ("/v1/decide", "score"),
        ("/v1/decisions/...", "score"),
    ]
    .into_iter()
    .map(|(r, c)| (r.to_owned(), c.to_owned()))
    .collect();
    assert_eq!(routed, expected);
    for (route, component) in &routed {
        let endpoint = Native::start(component);
        let path = route.replace("...", "x");
        let method = if path.starts_with("/v1/profiles")
            || path.starts_with("/v1/decisions")
            || path == "/healthz"
        {
            "GET"
        } else {
            "POST"
        };
        let body = (method == "POST").then_some(("application/json", &b"{}"[..]));
        let (status, answer) = endpoint.request(method, &path, Some(tailor_tests::API_KEY), body);
        assert_ne!(
            answer["error"], "no such route",
            "{component} serves {method} {path}: {status} {answer}"
        );
    }
}
