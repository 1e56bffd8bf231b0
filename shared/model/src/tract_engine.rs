//! The pure-Rust engine.

use tract_onnx::prelude::*;

use crate::{Engine, ModelError};

type Plan = std::sync::Arc<TypedRunnableModel>;

/// tract, optimized for one row at a time (its per-row cost is a few microseconds).
pub struct TractEngine {
    plan: Plan,
    width: usize,
}

impl std::fmt::Debug for TractEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TractEngine")
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

impl TractEngine {
    /// Loads and optimizes an ONNX model reading `width` features.
    ///
    /// # Errors
    /// [`ModelError::Load`] when tract cannot load or optimize it.
    pub fn new(onnx: &[u8], width: usize) -> Result<Self, ModelError> {
        let load = |e: TractError| ModelError::Load(e.to_string());
        let plan = tract_onnx::onnx()
            .model_for_read(&mut &*onnx)
            .map_err(load)?
            .with_input_fact(0, f32::fact([1, width]).into())
            .map_err(load)?
            .into_optimized()
            .map_err(load)?
            .into_runnable()
            .map_err(load)?;
        Ok(Self { plan, width })
    }
}

impl Engine for TractEngine {
    fn name(&self) -> &'static str {
        "tract"
    }

    fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, ModelError> {
        let run = |e: TractError| ModelError::Run(e.to_string());
        rows.iter()
            .map(|row| {
                if row.len() != self.width {
                    return Err(ModelError::Shape {
                        want: self.width,
                        got: row.len(),
                    });
                }
                let input = Tensor::from_shape(&[1, self.width], row).map_err(run)?;
                let out = self.plan.run(tvec!(input.into())).map_err(run)?;
                let values = out[0].to_plain_array_view::<f32>().map_err(run)?;
                values
                    .iter()
                    .last()
                    .copied()
                    .ok_or_else(|| ModelError::Run("empty output".into()))
            })
            .collect()
    }
}
