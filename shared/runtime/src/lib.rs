//! Tailor's runtime: what every platform shares, so a platform writes only
//! its transport, its stores and publisher, and its one outcome mapping.
//!
//! Like a Spin trigger over its factors, a platform brings the way events
//! arrive (a Kinesis batch, a Pub/Sub push, an HTTP request, a file) and the
//! capabilities the functions use (a [`Store`](tailor_core::ports::Store), a
//! [`Publisher`](tailor_core::ports::Publisher), a
//! [`Timer`](tailor_core::ports::Timer)); the runtime owns everything else:
//!
//! - [`config`]: typed settings from the environment, one error naming the
//!   variable; [`startup`]: start-up errors and the exit code.
//! - [`function`]: the five functions by name and the stream's stages
//!   between them; one cargo feature per function decides which a build
//!   holds (all by default).
//! - [`functions`]: the functions and the model, built once per process
//!   from the settings over a platform's [`Capabilities`] (the store is
//!   given the functions' clock there), and [`Functions::invoke`] to run a
//!   stage over a batch of records.
//! - [`redeliver`]: the redelivery policy (deliver again what asks for a
//!   retry, then set aside what still fails), and [`chain`]: the stages
//!   chained in-process, for platforms that run them in one process.
//! - [`clock`]: wall time, arrival time for replays, and the replay's
//!   received-at rule; [`timer`] (native): the timer on tokio.
//! - [`logs`]: log set-up, readable locally and JSON where a platform
//!   collects logs; [`report`]: each invocation's report, logged once;
//!   [`cost`]: each invocation's cost record, priced against the price
//!   book and logged in the platform's own form; [`tally`]: one request's
//!   store calls counted apart from the requests served beside it.
//! - [`http`]: the HTTP API (events, consent, profiles, decide, decisions,
//!   health) once, over any platform, with its one status mapping.
//! - [`service`] (native): one function of a cloud deployment, started
//!   over the store and publisher its platform connects.
//! - [`slow_lane`]: the slow lane's batch run over the offline log's
//!   events, wherever a platform keeps them.
//!
//! Everything but the tokio timer and the axum server builds for
//! `wasm32-wasip2`.

pub mod chain;
pub mod clock;
pub mod config;
pub mod cost;
pub mod function;
pub mod functions;
pub mod http;
pub mod logs;
pub mod redeliver;
pub mod report;
#[cfg(not(target_arch = "wasm32"))]
pub mod service;
#[cfg(feature = "score")]
pub mod slow_lane;
pub mod startup;
pub mod tally;
#[cfg(not(target_arch = "wasm32"))]
pub mod timer;

pub use chain::{Inbox, Mailbox};
pub use clock::{ArrivalClock, ExpiryClock, Replay, WallClock};
pub use config::{ClockMode, ConfigError, Env, Settings};
pub use function::{Function, Stage};
pub use functions::{Capabilities, Functions};
pub use report::RunReport;
#[cfg(not(target_arch = "wasm32"))]
pub use service::{Cloud, Deployed, Service, Wiring};
pub use startup::StartupError;
/// The model a score function loaded (see [`Functions::model`]).
#[cfg(feature = "score")]
pub use tailor_model::LoadedModel;
#[cfg(not(target_arch = "wasm32"))]
pub use timer::TokioTimer;
