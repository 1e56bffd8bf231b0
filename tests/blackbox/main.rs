//! Black-box tests of the functions on the local platform: records go in
//! through the pipeline or the HTTP server; dispositions, stored state,
//! logs and responses come out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers in test binaries fail loudly"
)]

mod access;
mod answers;
mod attacks;
mod cache;
mod conformance;
mod consent;
mod enrich;
mod envelopes;
mod erasure;
mod federation;
mod ingest;
mod limits;
mod logs;
mod races;
mod residency;
mod score;
mod serve;
mod slow_lane;
mod stream;
