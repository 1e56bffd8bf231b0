//! `tailor decide` and `tailor explain`, and the model the local platform uses.

use std::fmt::Write as _;
use std::path::PathBuf;

use tailor_core::score::DecisionRecord;
use tailor_model::{EngineChoice, LoadedModel};

/// Which engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// ONNX Runtime when its library is installed (`infra/ort/fetch.sh`), else tract.
    Auto,
    /// The pure-Rust engine.
    Tract,
    /// ONNX Runtime.
    Ort,
}

impl From<EngineArg> for EngineChoice {
    fn from(engine: EngineArg) -> Self {
        match engine {
            EngineArg::Auto => Self::Auto,
            EngineArg::Tract => Self::Tract,
            EngineArg::Ort => Self::Ort,
        }
    }
}

/// The model directory: `TAILOR_MODEL_DIR`, else the shipped default model.
#[must_use]
pub fn model_dir() -> PathBuf {
    std::env::var_os("TAILOR_MODEL_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/conversion-v1"),
        PathBuf::from,
    )
}

/// Loads the model; a failure is reported and decisions fall back to rules only.
#[must_use]
pub fn load_model(engine: EngineArg) -> Option<LoadedModel> {
    let dir = model_dir();
    match LoadedModel::load(&dir, engine.into()) {
        Ok(model) => Some(model),
        Err(e) => {
            tracing::warn!(error = %e, "model not loaded; decisions use rules only");
            eprintln!(
                "tailor: model {} not loaded ({e}); decisions use rules only",
                dir.display()
            );
            None
        }
    }
}

/// The challenger (shadow) model from `TAILOR_CHALLENGER_DIR`, if set: scored
/// beside the model on every decision and logged, never acted on.
#[must_use]
pub fn load_challenger(engine: EngineArg) -> Option<LoadedModel> {
    let dir = std::env::var_os("TAILOR_CHALLENGER_DIR").map(PathBuf::from)?;
    match LoadedModel::load(&dir, engine.into()) {
        Ok(model) => Some(model),
        Err(e) => {
            eprintln!("tailor: challenger {} not loaded ({e})", dir.display());
            None
        }
    }
}

/// A decision in a few readable lines.
#[must_use]
pub fn explain(record: &DecisionRecord) -> String {
    let mut out = String::new();
    let how = match (&record.model, record.score, record.fallback) {
        (Some(m), Some(s), None) => {
            format!("score {s:.2} by {} {} on {}", m.name, m.version, m.engine)
        }
        (_, _, Some(f)) => format!(
            "fallback: {}",
            serde_json::to_value(f)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        _ => "rules only".to_owned(),
    };
    let _ = writeln!(out, "{} → {} ({how})", record.placement, record.action);
    for reason in &record.reasons {
        let _ = writeln!(out, "  why: {reason}");
    }
    if !record.signals.is_empty() {
        let signals: Vec<String> = record
            .signals
            .iter()
            .map(|s| format!("{} {:+.2}", s.feature, s.effect))
            .collect();
        let _ = writeln!(out, "  top signals: {}", signals.join(", "));
    }
    let decided: Vec<String> = record
        .policy
        .iter()
        .filter(|p| !p.policies.is_empty())
        .map(|p| {
            format!(
                "{} {} ({})",
                p.action,
                if p.allowed { "allowed" } else { "denied" },
                p.policies.join(", ")
            )
        })
        .collect();
    if !decided.is_empty() {
        let _ = writeln!(out, "  policy: {}", decided.join("; "));
    }
    out
}
