//! The golden conformance cases in `events/cases/<function>/<case>/`, as
//! data any platform runs. Each case holds batches of records (events, or
//! `{"raw": "…"}` for bytes that are not an event) and `expected.json`,
//! what must come out; only what it names is checked, so a case states
//! exactly the behaviour it is about. A platform runs them by implementing
//! [`CasePlatform`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a malformed case file fails the test loudly"
)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use tailor_core::Timestamp;
use tailor_core::disposition::Disposition;
use tailor_core::features::ProfileState;
use tailor_core::identity::{profile_of_anonymous, profile_of_user};
use tailor_core::ports::Table;

/// What a platform offers the case runner.
pub trait CasePlatform {
    /// Delivers one batch through every function, the first (ingest)
    /// receiving each record at its `sent_at`; returns ingest's final
    /// disposition of every record, in order.
    fn send(&mut self, batch: &[Vec<u8>]) -> Vec<Disposition>;

    /// Every item of `table`, as JSON, by key.
    fn table(&self, table: Table) -> Vec<(String, Value)>;
}

/// Every case folder, sorted.
#[must_use]
pub fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/cases");
    let mut out = Vec::new();
    for function in std::fs::read_dir(&root).unwrap() {
        let function = function.unwrap().path();
        if !function.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(function).unwrap() {
            out.push(case.unwrap().path());
        }
    }
    out.sort();
    out
}

fn label(d: Disposition) -> String {
    match d {
        Disposition::Accepted { duplicate: false } => "accepted".into(),
        Disposition::Accepted { duplicate: true } => "duplicate".into(),
        Disposition::DeadLettered { reason } => format!("dead_lettered:{reason}"),
        Disposition::Retry => "retry".into(),
    }
}

fn owner(p: &impl CasePlatform, key: &str) -> Option<String> {
    p.table(Table::Identity)
        .into_iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, node)| {
            node["claims"].as_array()?.first()?["user_id"]
                .as_str()
                .map(str::to_owned)
        })
}

fn profile(p: &impl CasePlatform, key: &str) -> String {
    if let Some(user) = key.strip_prefix("user:") {
        return profile_of_user(user);
    }
    let anon = key.trim_start_matches("anon:");
    owner(p, key).map_or_else(|| profile_of_anonymous(anon), |u| profile_of_user(&u))
}

/// When a case's features are read: `features_as_of` in its expected
/// file, or else the latest time a record of it was received.
fn features_as_of(input: &Value, expected: &Value) -> Timestamp {
    if let Some(t) = expected.get("features_as_of").and_then(Value::as_str) {
        return Timestamp::parse(t).unwrap();
    }
    input["batches"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|r| r.get("sent_at").and_then(Value::as_str))
        .filter_map(|t| Timestamp::parse(t).ok())
        .max()
        .unwrap_or(Timestamp::from_millis(0))
}

/// Runs the case in `dir` on a fresh platform from `fresh`; the error lists
/// every difference from `expected.json`.
///
/// # Errors
/// What the platform did differently.
pub fn run_case<P: CasePlatform>(dir: &Path, fresh: impl FnOnce() -> P) -> Result<(), String> {
    let input: Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut p = fresh();
    let mut dispositions = Vec::new();
    for batch in input["batches"].as_array().unwrap() {
        let lines: Vec<Vec<u8>> = batch
            .as_array()
            .unwrap()
            .iter()
            .map(|r| match r.get("raw").and_then(Value::as_str) {
                Some(raw) => raw.as_bytes().to_vec(),
                None => serde_json::to_vec(r).unwrap(),
            })
            .collect();
        dispositions.extend(p.send(&lines).into_iter().map(label));
    }
    let mut errors = Vec::new();
    if let Some(want) = expected.get("ingest") {
        let want: Vec<String> = serde_json::from_value(want.clone()).unwrap();
        if want != dispositions {
            errors.push(format!(
                "ingest dispositions: want {want:?}, got {dispositions:?}"
            ));
        }
    }
    if let Some(want) = expected.get("dead_letters").and_then(Value::as_object) {
        for (reason, n) in want {
            let got = p
                .table(Table::DeadLetters)
                .iter()
                .filter(|(_, l)| l["reason"] == reason.as_str())
                .count();
            if Some(got as u64) != n.as_u64() {
                errors.push(format!("dead letters {reason}: want {n}, got {got}"));
            }
        }
    }
    if let Some(want) = expected.get("features").and_then(Value::as_object) {
        let as_of = features_as_of(&input, &expected);
        for (key, features) in want {
            let id = profile(&p, key);
            let got = p
                .table(Table::Features)
                .into_iter()
                .find(|(k, _)| *k == id)
                .map(|(_, v)| v);
            match (features.as_object(), got) {
                (None, None) => {}
                (None, Some(_)) => errors.push(format!("{key}: want no features, found some")),
                (Some(_), None) => errors.push(format!("{key}: want features, found none")),
                (Some(names), Some(got)) => {
                    let got = match serde_json::from_value::<ProfileState>(got) {
                        Ok(state) => serde_json::to_value(state.evaluate(as_of)).unwrap(),
                        Err(e) => {
                            errors.push(format!("{key}: unreadable state: {e}"));
                            continue;
                        }
                    };
                    for (name, value) in names {
                        let actual = &got["features"][name]["value"];
                        let same = match (value.as_f64(), actual.as_f64()) {
                            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                            _ => value == actual,
                        };
                        if !same {
                            errors.push(format!("{key} {name}: want {value}, got {actual}"));
                        }
                    }
                }
            }
        }
    }
    if let Some(want) = expected.get("identity").and_then(Value::as_object) {
        for (key, node) in want {
            let exists = p.table(Table::Identity).iter().any(|(k, _)| k == key);
            match node.get("owner").and_then(Value::as_str) {
                Some(o) if owner(&p, key).as_deref() != Some(o) => {
                    errors.push(format!("{key}: want owner {o}, got {:?}", owner(&p, key)));
                }
                None if node.is_null() && exists => {
                    errors.push(format!("{key}: want no identity node"));
                }
                _ => {}
            }
        }
    }
    if let Some(want) = expected.get("audit").and_then(Value::as_array) {
        let got = crate::kit::opened_audit(&p.table(Table::Subjects), &p.table(Table::Audit));
        for record in want {
            let found = got
                .iter()
                .any(|g| record.as_object().unwrap().iter().all(|(k, v)| &g[k] == v));
            if !found {
                errors.push(format!("audit: no record matching {record}"));
            }
        }
    }
    if let Some(want) = expected.get("completions").and_then(Value::as_object) {
        let audit = p.table(Table::Audit);
        for (event_id, fields) in want {
            let got = audit
                .iter()
                .find(|(k, _)| *k == format!("consent/{event_id}"))
                .map(|(_, v)| v);
            match got {
                None => errors.push(format!("no completion for {event_id}")),
                Some(got) => {
                    for (k, v) in fields.as_object().unwrap() {
                        if &got[k] != v {
                            errors.push(format!(
                                "completion {event_id} {k}: want {v}, got {}",
                                got[k]
                            ));
                        }
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n  "))
    }
}
