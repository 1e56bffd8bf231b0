//! Clocks for the local platform.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tailor_core::Timestamp;
use tailor_core::ports::Clock;

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
    }
}

/// The time of a replay: the latest record time seen so far. Never goes back.
#[derive(Debug, Default)]
pub struct ReplayClock(AtomicI64);

impl ReplayClock {
    /// A clock at `start`.
    #[must_use]
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.as_millis()))
    }

    /// Moves the clock to `t` if that is later.
    pub fn advance(&self, t: Timestamp) {
        self.0.fetch_max(t.as_millis(), Ordering::Relaxed);
    }
}

impl Clock for ReplayClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::Relaxed))
    }
}
