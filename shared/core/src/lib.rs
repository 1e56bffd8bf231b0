//! Tailor's core: the event contract, policy, and the rules of the ingest,
//! enrich, features, consent and score functions, apart from the tables
//! they read and write.
//!
//! Everything but [`tables`] is pure: each rule takes its input and the
//! state it needs, already loaded, and returns its outputs and the state
//! changes to make, as data ([`plan`]); nothing there does I/O or needs an
//! async runtime, so it can be read, tested and fuzzed without a store.
//! [`tables`] is the one place the core reaches the [`ports::Store`]: a
//! handle over the store, the policy and the tokenization key, whose
//! methods load state, apply plans and seal what is kept about a person.
//! The function crates (`functions/*`) call both; platforms
//! (`shared/adapters/*`) implement the [`ports`]. The crate builds for
//! `wasm32-wasip2`.
//!
//! - [`decode`] and [`contract`]: bytes → JSON within limits → a [`event::ValidEvent`].
//! - [`ingest`]: normalize, minimize, gate on consent, tag lateness, route.
//! - [`identity`]: the enrich step's identity resolution and its audit records.
//! - [`features`]: per-key inputs and per-profile online features.
//! - [`consent`]: the consent ledger and its propagation records;
//!   [`erasure`]: erasing a profile, as a plan; [`erasure_index`]: which
//!   keys may have a tombstone, so that the rest are not read.
//! - [`score`]: decisions under policy, their records and explanations.
//! - [`policy`]: the Cedar policy bundle every rule consults.
//! - [`disposition`]: the one vocabulary of per-record outcomes;
//!   [`errors`]: each step's error type and its disposition.
//! - [`plan`]: state changes as data, and values as loaded with their version.
//! - [`subject`]: the sealing of personal fields of long-kept records;
//!   [`dead_letter`]: records set aside, bounded; [`token`]: keyed tokens.
//! - [`report`]: what each invocation did and used, for the cost model;
//!   [`batch`]: an invocation's records and their outcomes.
//! - [`ports`]: the store, publisher, clock and timer a platform provides.
//! - [`tables`]: the store behind one handle.

pub mod batch;
pub mod consent;
pub mod contract;
pub mod dead_letter;
pub mod decode;
pub mod disposition;
pub mod erasure;
pub mod erasure_index;
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
pub mod subject;
pub mod tables;
pub mod token;

mod time;

pub use time::{MAX_TIMESTAMP_LEN, Timestamp, TimestampError};
