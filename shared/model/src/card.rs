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
    /// How far the holdout AUC must exceed the baseline's to serve.
    #[serde(default)]
    pub min_auc_margin: f64,
    /// Engines that run it.
    pub engines: Vec<String>,
    /// Weights for exact explanations, for linear models.
    #[serde(default)]
    pub linear: Option<LinearExplainer>,
}

/// A model's approval entry, `approval.json`: who approved it, when, for
/// which purposes, on which holdout figures, and for which card (its
/// SHA-256), so that a changed card needs a new approval.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Approval {
    /// Who approved it (a person's role or a review board, not an email).
    pub approved_by: String,
    /// When (RFC 3339).
    pub approved_at: String,
    /// The purposes it may serve: each one its card intends it for.
    pub purposes: Vec<String>,
    /// The holdout AUC approved (the card's).
    pub holdout_auc: f64,
    /// The baseline AUC it was compared with (the card's).
    pub baseline_auc: f64,
    /// SHA-256 of `card.json`, in hex.
    pub card_sha256: String,
}

impl Approval {
    /// Checks the entry against the card it approves.
    ///
    /// # Errors
    /// [`ModelError::NotApproved`] saying what does not hold.
    pub fn check(&self, card: &Card, card_bytes: &[u8]) -> Result<(), ModelError> {
        let refuse = |why: String| Err(ModelError::NotApproved(why));
        if self.approved_by.trim().is_empty() {
            return refuse("approval.json names no approver".into());
        }
        if tailor_core::Timestamp::parse(&self.approved_at).is_err() {
            return refuse(format!(
                "approval.json: approved_at {:?} is not a time",
                self.approved_at
            ));
        }
        if self.purposes.is_empty() {
            return refuse("approval.json approves no purpose".into());
        }
        for purpose in &self.purposes {
            if !card.intended_purposes.contains(purpose) {
                return refuse(format!(
                    "approval.json approves {purpose:?}, which the card does not intend the model for"
                ));
            }
        }
        let digest = tailor_core::token::digest_bytes(card_bytes, 32);
        if self.card_sha256 != digest {
            return refuse(format!(
                "approval.json approves another card (card.json is {digest}): approve it again"
            ));
        }
        if (self.holdout_auc - card.holdout_auc).abs() > 1e-9
            || (self.baseline_auc - card.baseline_auc).abs() > 1e-9
        {
            return refuse("approval.json approves other holdout figures than the card's".into());
        }
        if card.holdout_auc < card.baseline_auc + card.min_auc_margin {
            return refuse(format!(
                "holdout AUC {} is not {} above the baseline {}",
                card.holdout_auc, card.min_auc_margin, card.baseline_auc
            ));
        }
        Ok(())
    }
}

/// A loaded model directory.
#[derive(Debug, Clone)]
pub struct ModelDir {
    /// The card.
    pub card: Card,
    /// Its approval entry.
    pub approval: Approval,
    /// Input feature names, in order.
    pub features: Vec<String>,
    /// The ONNX model.
    pub onnx: Vec<u8>,
}

impl ModelDir {
    /// Reads `card.json`, `approval.json`, `features.json` and `model.onnx`
    /// from `dir`, and checks the approval against the card.
    ///
    /// # Errors
    /// [`ModelError::Dir`] naming the file that is missing or unreadable;
    /// [`ModelError::NotApproved`] without a valid approval entry.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| ModelError::Dir(format!("{}: {e}", dir.join(name).display())))
        };
        let card_bytes = read("card.json")?;
        let card: Card = serde_json::from_slice(&card_bytes)
            .map_err(|e| ModelError::Dir(format!("card.json: {e}")))?;
        let approval = std::fs::read(dir.join("approval.json")).map_err(|e| {
            ModelError::NotApproved(format!(
                "{} has no approval entry (approval.json: who approved it, when, for which \
                 purposes, on which holdout figures): {e}",
                dir.display()
            ))
        })?;
        let approval: Approval = serde_json::from_slice(&approval)
            .map_err(|e| ModelError::NotApproved(format!("approval.json: {e}")))?;
        approval.check(&card, &card_bytes)?;
        let features: Vec<String> = serde_json::from_slice(&read("features.json")?)
            .map_err(|e| ModelError::Dir(format!("features.json: {e}")))?;
        Ok(Self {
            card,
            approval,
            features,
            onnx: read("model.onnx")?,
        })
    }
}
