//! The core's tests through its public API: one test binary, so the
//! crate and its dependencies are linked once for all of them.

mod common;

mod contract;
mod features;
mod identity;
mod ingest;
mod score;
