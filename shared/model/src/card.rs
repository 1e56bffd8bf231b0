//! The model directory and its card.

use std::path::Path;

use serde::Deserialize;

use crate::ModelError;

/// The linear part of a card: weights per raw feature in logit space.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LinearExplainer {
    /// Feature names, in input order.
    pub features: Vec<String>,
    /// Weight per feature (logit per unit of the raw feature).
    pub weights: Vec<f64>,
    /// Intercept in logit space.
    pub bias: f64,
    /// The reference point contributions are measured from (training means).
    pub baseline: Vec<f64>,
}

impl LinearExplainer {
    /// Each feature's contribution to the logit: weight × (value − baseline).
    #[must_use]
    pub fn contributions(&self, row: &[f32]) -> Vec<f64> {
        self.weights
            .iter()
            .zip(&self.baseline)
            .zip(row)
            .map(|((w, b), v)| w * (f64::from(*v) - b))
            .collect()
    }

    /// The logit of a row.
    #[must_use]
    pub fn logit(&self, row: &[f32]) -> f64 {
        self.bias
            + self
                .weights
                .iter()
                .zip(row)
                .map(|(w, v)| w * f64::from(*v))
                .sum::<f64>()
    }
}

/// What a model is, from `card.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Card {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Model family, such as `logistic_regression`.
    pub kind: String,
    /// The purposes it may be used for.
    pub intended_purposes: Vec<String>,
    /// SHA-256 of the training data.
    pub data_sha256: String,
    /// Holdout AUC.
    pub holdout_auc: f64,
    /// AUC of the constant baseline.
    pub baseline_auc: f64,
    /// Engines that run it.
    pub engines: Vec<String>,
    /// Weights for exact explanations, for linear models.
    #[serde(default)]
    pub linear: Option<LinearExplainer>,
}

/// A loaded model directory.
#[derive(Debug, Clone)]
pub struct ModelDir {
    /// The card.
    pub card: Card,
    /// Input feature names, in order.
    pub features: Vec<String>,
    /// The ONNX model.
    pub onnx: Vec<u8>,
}

impl ModelDir {
    /// Reads `card.json`, `features.json` and `model.onnx` from `dir`.
    ///
    /// # Errors
    /// [`ModelError::Dir`] naming the file that is missing or unreadable.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| ModelError::Dir(format!("{}: {e}", dir.join(name).display())))
        };
        let card: Card = serde_json::from_slice(&read("card.json")?)
            .map_err(|e| ModelError::Dir(format!("card.json: {e}")))?;
        let features: Vec<String> = serde_json::from_slice(&read("features.json")?)
            .map_err(|e| ModelError::Dir(format!("features.json: {e}")))?;
        Ok(Self {
            card,
            features,
            onnx: read("model.onnx")?,
        })
    }
}
