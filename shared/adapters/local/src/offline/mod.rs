//! The offline lane of the local platform: the backfill over the offline
//! log (the same feature code as the online path), the slow lane's batch
//! run, decisions joined to their outcomes, the training exports, and the
//! purge that keeps the offline log free of erased people.

pub mod backfill;
pub mod export;
pub mod outcomes;
pub mod purge;
pub mod slow;
