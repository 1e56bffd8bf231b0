//! The invocation's remaining time, shared by the store and the publisher.
//!
//! Lambda ends an invocation at its deadline, and a batch that times out is
//! retried whole. Every AWS call therefore runs under what is left of the
//! invocation, less a margin for answering: once that is spent, calls fail
//! at once as unavailable, so the function turns the remaining records into
//! per-record retries and still answers in time.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tailor_core::ports::StoreError;

/// Time kept back for writing the response.
pub const MARGIN: Duration = Duration::from_millis(500);

/// The current invocation's deadline (none: unbounded).
#[derive(Debug, Default)]
pub struct Deadline(Mutex<Option<Instant>>);

/// A call was not made, or was cut off, because the invocation's time is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the invocation's remaining time is spent")]
pub struct Spent;

impl From<Spent> for StoreError {
    fn from(e: Spent) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl Deadline {
    /// Sets the deadline for the invocation starting now: Lambda's deadline
    /// (milliseconds since the epoch), converted to a monotonic instant.
    pub fn set_from_epoch_millis(&self, deadline_ms: u64) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        self.set(Some(Instant::now() + left));
    }

    /// Sets (or clears) the deadline.
    pub fn set(&self, at: Option<Instant>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = at;
        }
    }

    /// The time calls may still take, or [`Spent`].
    ///
    /// # Errors
    /// [`Spent`] when less than [`MARGIN`] is left.
    pub fn remaining(&self) -> Result<Option<Duration>, Spent> {
        let at = self.0.lock().ok().and_then(|slot| *slot);
        match at {
            None => Ok(None),
            Some(at) => at
                .checked_duration_since(Instant::now())
                .and_then(|left| left.checked_sub(MARGIN))
                .filter(|left| !left.is_zero())
                .map(Some)
                .ok_or(Spent),
        }
    }

    /// Runs `call` within the remaining time.
    ///
    /// # Errors
    /// [`Spent`] when no time is left or the call did not finish in it.
    pub async fn run<T>(&self, call: impl Future<Output = T>) -> Result<T, Spent> {
        match self.remaining()? {
            None => Ok(call.await),
            Some(left) => tokio::time::timeout(left, call).await.map_err(|_| Spent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_spent_deadline_refuses_calls_and_an_open_one_runs_them() {
        let d = Deadline::default();
        assert_eq!(d.run(async { 1 }).await, Ok(1));
        d.set(Some(Instant::now() + MARGIN / 2));
        assert_eq!(d.run(async { 1 }).await, Err(Spent));
        d.set(Some(Instant::now() + Duration::from_secs(60)));
        assert_eq!(d.run(async { 2 }).await, Ok(2));
        d.set(Some(Instant::now() + MARGIN + Duration::from_millis(50)));
        let stalled = d.run(std::future::pending::<()>()).await;
        assert_eq!(stalled, Err(Spent), "a call is cut off at the deadline");
    }
}
