//! A model directory serves only with an approval entry that matches its card.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};

use tailor_model::{ModelDir, ModelError};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/conversion-v1")
}

/// A copy of the shipped directory, for altering.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(shipped()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn refusal(dir: &Path) -> String {
    match ModelDir::load(dir) {
        Err(ModelError::NotApproved(why)) => why,
        other => panic!("not refused as unapproved: {other:?}"),
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn the_shipped_model_is_approved_for_what_its_card_intends() {
    let dir = ModelDir::load(&shipped()).unwrap();
    assert_eq!(dir.approval.purposes, ["personalization", "marketing"]);
    assert_eq!(dir.approval.approved_by, "model-review-board");
}

#[test]
fn a_directory_without_an_approval_entry_is_refused() {
    let dir = copy();
    std::fs::remove_file(dir.path().join("approval.json")).unwrap();
    let why = refusal(dir.path());
    assert!(why.contains("no approval entry"), "{why}");
}

#[test]
fn an_approval_of_another_card_is_refused() {
    let dir = copy();
    edit(
        &dir.path().join("card.json"),
        "\"holdout_auc\": 0.8962",
        "\"holdout_auc\": 0.9962",
    );
    let why = refusal(dir.path());
    assert!(why.contains("another card"), "{why}");
}

#[test]
fn a_purpose_the_card_does_not_intend_cannot_be_approved() {
    let dir = copy();
    edit(
        &dir.path().join("approval.json"),
        "\"marketing\"",
        "\"marketing\", \"analytics\"",
    );
    let why = refusal(dir.path());
    assert!(why.contains("\"analytics\""), "{why}");
}

#[test]
fn an_approval_without_an_approver_is_refused() {
    let dir = copy();
    edit(
        &dir.path().join("approval.json"),
        "\"model-review-board\"",
        "\" \"",
    );
    let why = refusal(dir.path());
    assert!(why.contains("no approver"), "{why}");
}
