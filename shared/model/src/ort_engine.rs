//! ONNX Runtime, loaded at run time.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::value::Tensor;

use crate::{Engine, ModelError};

/// ONNX Runtime with one session (one intra-op thread: functions scale by instances).
pub struct OrtEngine {
    session: Mutex<Session>,
    width: usize,
}

impl std::fmt::Debug for OrtEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtEngine")
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

/// Where the library is looked for: `ORT_DYLIB_PATH`, else what
/// `infra/ort/fetch.sh` installs for this machine's architecture.
#[must_use]
pub fn default_library() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../infra/ort")
                .join(std::env::consts::ARCH)
                .join("libonnxruntime.so")
        },
        PathBuf::from,
    )
}

fn environment(library: &Path) -> Result<&'static ort::environment::Environment, ModelError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        if !library.exists() {
            return Err(format!(
                "{} not found (run infra/ort/fetch.sh or set ORT_DYLIB_PATH)",
                library.display()
            ));
        }
        ort::init_from(library)
            .map_err(|e| format!("{}: {e}", library.display()))?
            .with_name("tailor")
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| ModelError::Library(e.clone()))
}

impl OrtEngine {
    /// Loads the library (once per process) and a session for the model.
    ///
    /// # Errors
    /// [`ModelError::Library`] when the library is missing or unusable;
    /// [`ModelError::Load`] when the session cannot be created.
    pub fn new(library: &Path, onnx: &[u8], width: usize) -> Result<Self, ModelError> {
        let env = environment(library)?;
        let session = Session::builder(env)
            .map_err(|e| ModelError::Load(e.to_string()))?
            .with_intra_threads(1)
            .map_err(|e| ModelError::Load(e.to_string()))?
            .commit_from_memory(onnx)
            .map_err(|e| ModelError::Load(e.to_string()))?;
        Ok(Self {
            session: Mutex::new(session),
            width,
        })
    }
}

impl Engine for OrtEngine {
    fn name(&self) -> &'static str {
        "ort"
    }

    fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, ModelError> {
        if let Some(row) = rows.iter().find(|r| r.len() != self.width) {
            return Err(ModelError::Shape {
                want: self.width,
                got: row.len(),
            });
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let run = |e: ort::Error| ModelError::Run(e.to_string());
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let input = Tensor::from_array(([rows.len(), self.width], flat)).map_err(run)?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| ModelError::Run("session lock poisoned".into()))?;
        let outputs = session.run(ort::inputs![input]).map_err(run)?;
        // The last output is the probability: the only one for the linear
        // model; after the label for skl2onnx classifiers.
        let last = outputs
            .len()
            .checked_sub(1)
            .ok_or_else(|| ModelError::Run("no outputs".into()))?;
        let (shape, values) = outputs[last].try_extract_tensor::<f32>().map_err(run)?;
        let per_row = usize::try_from(shape.iter().skip(1).product::<i64>())
            .unwrap_or(1)
            .max(1);
        Ok(values.chunks(per_row).map(|c| c[c.len() - 1]).collect())
    }
}
