//! The model as the score step sees it: the trait an engine implements,
//! what names a model in a decision or a batch score, and which engine
//! runs it.

use serde::{Deserialize, Serialize};

/// The model behind a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Engine that ran it.
    pub engine: String,
}

/// A model as the score step sees it (implemented by `tailor-model`).
pub trait Model: Send + Sync {
    /// Name, version and engine.
    fn info(&self) -> ModelInfo;
    /// Input features, in order.
    fn features(&self) -> &[String];
    /// The reference values masked inputs take and explanations measure from.
    fn baseline(&self) -> &[f64];
    /// Logit-space weights per raw feature, for linear models (exact explanations).
    fn linear_weights(&self) -> Option<&[f64]>;
    /// The purposes its approval entry lists: it serves no other.
    fn approved_purposes(&self) -> &[String];
    /// One probability per row.
    ///
    /// # Errors
    /// A description of the failure; the step falls back to rules only.
    fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, String>;
}

/// Which engine runs a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// ONNX Runtime when its library is present, else tract.
    Auto,
    /// Always tract.
    Tract,
    /// Always ONNX Runtime (an error if its library is missing).
    Ort,
}
