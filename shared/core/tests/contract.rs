//! The JSON Schemas and the typed serde model agree: every valid sample
//! passes both, every invalid sample fails both, for the reason its manifest
//! names; and what the typed model writes back validates against the schema.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers in test binaries fail loudly"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tailor_core::contract::{Contract, Rejection};
use tailor_core::decode::{self, Limits};
use tailor_core::event::ValidEvent;

fn samples(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/samples")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("MANIFEST.json"))
        .collect();
    files.sort();
    files
}

/// The schema's verdict: the decode failure's reason, "contract", or `None` when valid.
fn by_schema(contract: &Contract, bytes: &[u8]) -> Option<String> {
    match decode::decode(bytes, Limits::default()) {
        Err(e) => Some(e.reason().as_str().to_owned()),
        Ok(doc) => (!contract.violations(&doc).is_empty()).then(|| "contract".to_owned()),
    }
}

/// The typed model's verdict, decoding with the same limits.
fn by_types(bytes: &[u8]) -> Option<String> {
    match decode::decode(bytes, Limits::default()) {
        Err(e) => Some(e.reason().as_str().to_owned()),
        Ok(doc) => ValidEvent::parse(doc).err().map(|_| "contract".to_owned()),
    }
}

#[test]
fn every_valid_sample_passes_schema_and_types() {
    let contract = Contract::global().unwrap();
    let files = samples("valid");
    assert!(files.len() >= 10, "expected a sample per event type");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            by_schema(contract, &bytes),
            None,
            "schema rejects {}",
            file.display()
        );
        assert_eq!(by_types(&bytes), None, "types reject {}", file.display());
    }
}

#[test]
fn every_event_type_has_a_valid_sample() {
    let mut seen = std::collections::BTreeSet::new();
    for file in samples("valid") {
        let doc = decode::decode(&std::fs::read(&file).unwrap(), Limits::default()).unwrap();
        seen.insert(ValidEvent::parse(doc).unwrap().event_type);
    }
    assert_eq!(
        seen.len(),
        tailor_core::event::EventType::ALL.len(),
        "{seen:?}"
    );
}

#[test]
fn every_invalid_sample_fails_both_for_its_stated_reason() {
    let contract = Contract::global().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/samples/invalid");
    let manifest: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("MANIFEST.json")).unwrap()).unwrap();
    let files = samples("invalid");
    assert!(files.len() >= 20);
    assert_eq!(
        files.len(),
        manifest.len(),
        "every invalid sample is in the manifest"
    );
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let expected = manifest[name]["reason"].as_str().unwrap();
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            by_schema(contract, &bytes).as_deref(),
            Some(expected),
            "schema on {name}"
        );
        assert_eq!(
            by_types(&bytes).as_deref(),
            Some(expected),
            "types on {name}"
        );
    }
}

#[test]
fn the_typed_model_writes_back_what_the_schema_accepts() {
    let contract = Contract::global().unwrap();
    for file in samples("valid") {
        let doc = decode::decode(&std::fs::read(&file).unwrap(), Limits::default()).unwrap();
        let event = ValidEvent::parse(doc).unwrap();
        let written = serde_json::to_value(&*event).unwrap();
        assert!(
            contract.violations(&written).is_empty(),
            "{}: {:?}",
            file.display(),
            contract.violations(&written)
        );
        assert_eq!(ValidEvent::parse(written).unwrap(), event);
    }
}

#[test]
fn contract_rejections_name_the_rule_and_the_place() {
    let contract = Contract::global().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/samples/invalid");
    let bytes = std::fs::read(dir.join("add-to-cart-quantity-zero.json")).unwrap();
    let Err(Rejection::Contract(violations)) = contract.parse(&bytes, Limits::default()) else {
        panic!("expected a contract rejection");
    };
    assert_eq!(violations[0].pointer, "/properties/quantity");
    assert!(
        violations[0].rule.contains("minimum"),
        "{}",
        violations[0].rule
    );
}
