//! The offline lane of the local platform: the backfill over the offline
//! log (the same feature code as the online path), decisions joined to
//! their outcomes, and the training exports.

pub mod backfill;
pub mod export;
pub mod outcomes;
