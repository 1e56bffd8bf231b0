//! Tailor's model engines.
//!
//! A model is a versioned directory: `model.onnx`, `features.json` (the
//! ordered inputs) and `card.json` (version, data hash, holdout AUC, date,
//! intended purposes, and for linear models the weights explanations use).
//! [`ModelDir::load`] reads one; an [`Engine`] runs it:
//!
//! - [`TractEngine`]: pure Rust ([tract](https://github.com/sonos/tract)),
//!   every target including `wasm32` (Spin). Runs models of standard ONNX
//!   operators — the shipped linear model — exactly; it does not implement
//!   the `ai.onnx.ml` tree ensembles skl2onnx writes correctly or fast.
//! - [`OrtEngine`] (native only): ONNX Runtime through `ort`, with the
//!   shared library loaded at run time (`ORT_DYLIB_PATH`, or what
//!   `infra/ort/fetch.sh` installs). Runs any ONNX model, tree ensembles
//!   included. A missing or too old library is a [`ModelError`], not a panic.
//!
//! Both take rows of `f32` in `features.json` order and return one
//! probability per row.

mod card;
#[cfg(not(target_arch = "wasm32"))]
mod ort_engine;
mod tract_engine;

pub use card::{Approval, Card, LinearExplainer, ModelDir};
#[cfg(not(target_arch = "wasm32"))]
pub use ort_engine::{OrtEngine, default_library};
pub use tailor_core::score::EngineChoice;
pub use tract_engine::TractEngine;

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model directory is missing a file or a file is unreadable.
    #[error("model directory: {0}")]
    Dir(String),
    /// The model directory has no valid approval entry: it may not serve.
    #[error("model not approved: {0}")]
    NotApproved(String),
    /// The engine's library could not be loaded (missing, or older than required).
    #[error("engine library: {0}")]
    Library(String),
    /// The engine rejected the model.
    #[error("engine could not load the model: {0}")]
    Load(String),
    /// Inference failed.
    #[error("inference failed: {0}")]
    Run(String),
    /// A row has the wrong number of features.
    #[error("row has {got} features, the model reads {want}")]
    Shape {
        /// Features the model reads.
        want: usize,
        /// Features given.
        got: usize,
    },
}

/// Runs a model: rows of features in, one probability per row out.
pub trait Engine: Send + Sync {
    /// The engine's name, recorded in decisions.
    fn name(&self) -> &'static str;

    /// The probability for each row.
    ///
    /// # Errors
    /// [`ModelError::Shape`] for a row of the wrong width, [`ModelError::Run`] when inference fails.
    fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, ModelError>;
}

/// A model directory with the engine that runs it: what the score step calls.
pub struct LoadedModel {
    dir: ModelDir,
    engine: Box<dyn Engine>,
    baseline: Vec<f64>,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("card", &self.dir.card)
            .field("engine", &self.engine.name())
            .finish()
    }
}

impl LoadedModel {
    /// Loads `dir` and an engine for it.
    ///
    /// # Errors
    /// [`ModelError`] from the directory or the engine.
    pub fn load(dir: &std::path::Path, choice: EngineChoice) -> Result<Self, ModelError> {
        let dir = ModelDir::load(dir)?;
        let width = dir.features.len();
        let engine: Box<dyn Engine> = match choice {
            EngineChoice::Tract => Box::new(TractEngine::new(&dir.onnx, width)?),
            #[cfg(not(target_arch = "wasm32"))]
            EngineChoice::Ort => Box::new(OrtEngine::new(&default_library(), &dir.onnx, width)?),
            #[cfg(not(target_arch = "wasm32"))]
            EngineChoice::Auto if default_library().exists() => {
                Box::new(OrtEngine::new(&default_library(), &dir.onnx, width)?)
            }
            _ => Box::new(TractEngine::new(&dir.onnx, width)?),
        };
        let baseline = dir
            .card
            .linear
            .as_ref()
            .map_or_else(|| vec![0.0; width], |l| l.baseline.clone());
        Ok(Self {
            dir,
            engine,
            baseline,
        })
    }

    /// The card.
    #[must_use]
    pub const fn card(&self) -> &Card {
        &self.dir.card
    }
}

impl tailor_core::score::Model for LoadedModel {
    fn info(&self) -> tailor_core::score::ModelInfo {
        tailor_core::score::ModelInfo {
            name: self.dir.card.name.clone(),
            version: self.dir.card.version.clone(),
            engine: self.engine.name().to_owned(),
        }
    }

    fn features(&self) -> &[String] {
        &self.dir.features
    }

    fn baseline(&self) -> &[f64] {
        &self.baseline
    }

    fn linear_weights(&self) -> Option<&[f64]> {
        self.dir.card.linear.as_ref().map(|l| l.weights.as_slice())
    }

    fn approved_purposes(&self) -> &[String] {
        &self.dir.approval.purposes
    }

    fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, String> {
        self.engine.predict(rows).map_err(|e| e.to_string())
    }
}
