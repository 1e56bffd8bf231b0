//! Tailor's embedded local platform: everything the functions need, in one
//! process, with no cloud.
//!
//! - [`LocalStore`]: the core's [`Store`](tailor_core::ports::Store) port on
//!   [redb](https://docs.rs/redb), an embedded, transactional, crash-safe
//!   key-value file (or memory, for tests and benchmarks). Every put is
//!   atomic and honours version preconditions, like DynamoDB's conditional
//!   writes; [`LocalStore::flush`] makes everything so far durable.
//! - [`Queue`]: the [`Publisher`](tailor_core::ports::Publisher) port as an
//!   in-process queue per topic, optionally archived to JSON Lines files
//!   (the offline log the backfill reads).
//! - [`SystemClock`] and [`ReplayClock`]: wall time, or the time of the
//!   records being replayed, so that replays are deterministic.

mod clock;
mod queue;
mod store;

pub use clock::{ReplayClock, SystemClock};
pub use queue::{Message, Queue};
pub use store::{LocalStore, LocalStoreError};
