//! Why a process could not start, and how it ends.

use crate::config::ConfigError;

/// Why a function could not start. Reported once, at start-up, and the
/// process exits (Lambda shows it as an init error with this message).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The environment is incomplete.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The policy bundle, catalog or contract does not load.
    #[error("policy bundle: {0}")]
    Policy(String),
    /// Other set-up failed.
    #[error("{0}")]
    Other(String),
}

/// What a platform's entry point returns: start-up failed, or its serving
/// loop ended with `E` (the platform's runtime went away, the listener failed).
pub type Run<E> = Result<Result<(), E>, StartupError>;

/// Reports how an entry point ended and gives its exit code.
#[must_use]
pub fn exit<E: std::fmt::Display>(run: Run<E>) -> std::process::ExitCode {
    match run {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "serving loop ended");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!(error = %e, "function could not start");
            eprintln!("tailor: function could not start: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Leaks `value` for the life of the process: what entry points do with
/// what they build once at start-up and share with every invocation.
pub fn keep<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}
