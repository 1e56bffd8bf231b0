//! Both engines on the shipped model: exact against the card's weights, and
//! equal to each other.
//!
//! ONNX Runtime tests need the library `infra/ort/fetch.sh` installs (CI runs
//! it). Where it is absent they fail under CI (`CI` set) and are skipped,
//! with a message, elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};

use tailor_model::{Engine, ModelDir, OrtEngine, TractEngine, default_library};

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/conversion-v1")
}

/// Deterministic rows spanning realistic feature ranges.
fn rows(n: usize, width: usize) -> Vec<Vec<f32>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            (0..width)
                .map(|j| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let unit = (state >> 11) as f32 / (1u64 << 53) as f32;
                    unit * [
                        20.0, 60.0, 5.0, 6.0, 15.0, 4.0, 8.0, 10.0, 8.0, 900.0, 1500.0, 3.0,
                    ][j % 12]
                })
                .collect()
        })
        .collect()
}

fn ort_engine(dir: &ModelDir) -> Option<OrtEngine> {
    let library = default_library();
    if !library.exists() && std::env::var_os("CI").is_none() {
        eprintln!(
            "skipping: {} not found (run infra/ort/fetch.sh)",
            library.display()
        );
        return None;
    }
    Some(
        OrtEngine::new(&library, &dir.onnx, dir.features.len())
            .expect("ONNX Runtime loads the model"),
    )
}

#[test]
fn tract_matches_the_cards_linear_weights() {
    let dir = ModelDir::load(&model_dir()).unwrap();
    let linear = dir
        .card
        .linear
        .clone()
        .expect("the shipped model is linear");
    assert_eq!(linear.features, dir.features);
    let engine = TractEngine::new(&dir.onnx, dir.features.len()).unwrap();
    let rows = rows(50, dir.features.len());
    for (row, p) in rows.iter().zip(engine.predict(&rows).unwrap()) {
        let expected = 1.0 / (1.0 + (-linear.logit(row)).exp());
        assert!((f64::from(p) - expected).abs() < 1e-5, "{p} vs {expected}");
    }
}

#[test]
fn contributions_add_up_to_the_logit_difference_from_the_baseline() {
    let dir = ModelDir::load(&model_dir()).unwrap();
    let linear = dir.card.linear.unwrap();
    let baseline: Vec<f32> = linear.baseline.iter().map(|b| *b as f32).collect();
    for row in rows(20, dir.features.len()) {
        let total: f64 = linear.contributions(&row).iter().sum();
        let difference = linear.logit(&row) - linear.logit(&baseline);
        assert!((total - difference).abs() < 1e-3, "{total} vs {difference}");
    }
}

#[test]
fn the_card_states_a_margin_over_the_constant_baseline() {
    let card = ModelDir::load(&model_dir()).unwrap().card;
    assert!(card.holdout_auc > card.baseline_auc + 0.1, "{card:?}");
    assert!(
        card.intended_purposes
            .contains(&"personalization".to_owned())
    );
}

#[test]
fn a_row_of_the_wrong_width_is_an_error() {
    let dir = ModelDir::load(&model_dir()).unwrap();
    let engine = TractEngine::new(&dir.onnx, dir.features.len()).unwrap();
    assert!(matches!(
        engine.predict(&[vec![1.0; 3]]),
        Err(tailor_model::ModelError::Shape { want: 12, got: 3 })
    ));
}

#[test]
fn ort_and_tract_agree_within_1e_5() {
    let dir = ModelDir::load(&model_dir()).unwrap();
    let Some(ort) = ort_engine(&dir) else { return };
    let tract = TractEngine::new(&dir.onnx, dir.features.len()).unwrap();
    let rows = rows(500, dir.features.len());
    let a = ort.predict(&rows).unwrap();
    let b = tract.predict(&rows).unwrap();
    assert_eq!(a.len(), rows.len());
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-5, "max abs difference {worst}");
}

#[test]
fn ort_runs_the_native_only_tree_ensemble() {
    let dir = ModelDir::load(&model_dir()).unwrap();
    if ort_engine(&dir).is_none() {
        return;
    }
    let trees = std::fs::read(model_dir().join("model.trees.onnx")).unwrap();
    let engine = OrtEngine::new(&default_library(), &trees, dir.features.len()).unwrap();
    let p = engine.predict(&rows(10, dir.features.len())).unwrap();
    assert_eq!(p.len(), 10);
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{p:?}");
}
