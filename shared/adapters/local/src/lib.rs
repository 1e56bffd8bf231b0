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
//! - [`LocalPlatform`]: the runtime's functions over both, each batch
//!   chained through every stage; the HTTP API's backend for `tailor serve`.
//! - [`offline`]: the backfill, decisions joined to outcomes, and the
//!   training exports, over the offline log and the store.
//! - [`key`]: the tokenization key, from the environment or a private file.

pub mod key;
pub mod offline;
mod platform;
mod queue;
mod store;

pub use platform::{LocalPlatform, NoScore};
pub use queue::Queue;
pub use store::{LocalStore, LocalStoreError};
