//! The core's [`Timer`] port on tokio, for native platforms.

use tailor_core::ports::Timer;

/// Sleeps on the tokio runtime the platform runs on.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep(&self, duration: std::time::Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}
