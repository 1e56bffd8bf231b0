//! Tailor's pure core: the event contract, policy, and the steps of the
//! ingest, enrich, features and consent functions.
//!
//! Nothing here does I/O or needs an async runtime, and the crate builds for
//! `wasm32-wasip2`. Each step takes its input and the state it needs, already
//! loaded, and returns its outputs and state changes; the function crates
//! (`functions/*`) load state through the [`ports`], call the step, and apply
//! what it returns. Platforms (`shared/adapters/*`) implement the ports.
//!
//! - [`decode`] and [`contract`]: bytes → JSON within limits → a [`event::ValidEvent`].
//! - [`ingest`]: normalize, minimize, gate on consent, tag lateness, route.
//! - [`identity`]: the enrich step's identity resolution and its audit records.
//! - [`features`]: per-key inputs and per-profile online features.
//! - [`consent`]: the consent ledger and its propagation records;
//!   [`erasure`]: erasing a profile, as a plan.
//! - [`policy`]: the Cedar policy bundle every step consults.
//! - [`disposition`]: the one vocabulary of per-record outcomes;
//!   [`errors`]: each step's error type and its disposition.
//! - [`plan`]: state changes as data, which [`state::apply`] makes.
//! - [`report`]: what each invocation did and used, for the cost model.
//! - [`cache`]: a store read through once per invocation.

pub mod batch;
pub mod cache;
pub mod consent;
pub mod contract;
pub mod dead_letter;
pub mod decode;
pub mod disposition;
pub mod erasure;
pub mod errors;
pub mod event;
pub mod features;
pub mod identity;
pub mod ingest;
pub mod keyed;
pub mod message;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod report;
pub mod score;
pub mod state;
pub mod subject;
pub mod token;

mod time;

pub use time::{MAX_TIMESTAMP_LEN, Timestamp, TimestampError};
