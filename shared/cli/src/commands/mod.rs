//! The `tailor` subcommands.

pub mod backfill;
pub mod cost;
pub mod decide;
pub mod estimate;
pub mod generate;
pub mod keys;
pub mod measure;
pub mod outcomes;
mod page;
pub mod run;
pub mod serve;
pub mod sweep;
pub mod training;
pub mod validate;

use std::path::{Path, PathBuf};

use tailor_core::token::TokenKey;
use tailor_local::LocalPlatform;
use tailor_runtime::{ClockMode, Env, Function, Settings};

/// The offline log and the state a command reads.
#[derive(clap::Args, Debug)]
pub struct LogAndState {
    /// The offline log (written by `run` beside its state).
    #[arg(long, default_value = ".tailor/enriched.jsonl")]
    pub log: PathBuf,
    /// Where state (and the decision log) is kept.
    #[arg(long, default_value = ".tailor/state.redb")]
    pub state: PathBuf,
}

/// The shipped default model, for a checkout of the repository.
#[must_use]
pub fn default_model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/conversion-v1")
}

/// The local platform's settings: the environment's (`TAILOR_MODEL_DIR`,
/// `TAILOR_CHALLENGER_DIR`, `TAILOR_STORE_BUDGET_MS`), with `key`, `clock`
/// and the engine from the command line.
///
/// # Errors
/// A variable is malformed.
pub fn settings(
    key: TokenKey,
    clock: ClockMode,
    engine: decide::EngineArg,
) -> anyhow::Result<Settings> {
    let mut settings = Settings::from_env_with_key(
        &Env::configured()?,
        &[Function::Score],
        default_model_dir(),
        key,
    )?;
    settings.clock = clock;
    settings.model.engine = engine.into();
    Ok(settings)
}

/// The folder state lives in.
#[must_use]
pub fn state_dir(state: &Path) -> PathBuf {
    state
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every function: stream functions and score.
pub const ALL: [Function; 5] = Function::ALL;

/// The platform over existing state, for reading and deciding.
///
/// # Errors
/// There is no state at `state`, or it cannot be opened.
pub fn open_existing(state: &Path, engine: decide::EngineArg) -> anyhow::Result<LocalPlatform> {
    if !state.exists() {
        anyhow::bail!("no state at {} (run `tailor run` first)", state.display());
    }
    let key = TokenKey::new(vec![0u8; 16])?;
    LocalPlatform::open(Some(state), &settings(key, ClockMode::Wall, engine)?, &ALL)
}

/// The platform over existing state, without score (nothing is decided).
///
/// # Errors
/// There is no state at `state`, or it cannot be opened.
pub fn open_for_reading(state: &Path, clock: ClockMode) -> anyhow::Result<LocalPlatform> {
    if !state.exists() {
        anyhow::bail!("no state at {} (run `tailor run` first)", state.display());
    }
    let key = TokenKey::new(vec![0u8; 16])?;
    LocalPlatform::open(
        Some(state),
        &settings(key, clock, decide::EngineArg::Tract)?,
        &tailor_runtime::Function::STREAM,
    )
}
