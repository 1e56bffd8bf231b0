//! Tailor on Fermyon Spin: the functions as two WebAssembly components
//! (`wasm32-wasip2`; the stream stages, and score), served by Spin's HTTP
//! trigger, each Spin component of the application running the function
//! its `function` variable names.
//!
//! The runtime (`tailor-runtime`) composes the functions; this crate holds
//! only what is Spin's:
//!
//! - [`sql`]: the store on Spin's SQLite interface, every write one
//!   conditional statement, so concurrent requests for one profile never
//!   lose an update nor apply one twice (Spin's key-value store has no
//!   conditional write).
//! - [`platform`]: one request's platform, the stages chained in-process,
//!   serving the HTTP API's routes for the component's function.
//! - `host` (wasm only): Spin's SQLite connection and variables, and the
//!   request served; the `tailor-spin-component` crate exports it.
//!
//! Everything but `host` builds and is tested natively.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

#[cfg(target_arch = "wasm32")]
pub mod host;
pub mod platform;
pub mod sql;

pub use platform::{PauseTimer, SpinPlatform};

/// The SQLite database the application's manifest grants its components.
pub const DATABASE: &str = "tailor";
pub use sql::{Database, SqlError, SqlStore, SqlValue};
