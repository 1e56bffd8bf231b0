//! The offline lane of the local platform: the backfill over the offline
//! log (the same feature code as the online path), decisions joined to
//! their outcomes, the training exports, and the purge that keeps the
//! offline log free of erased people.

pub mod backfill;
pub mod export;
pub mod outcomes;
pub mod purge;
