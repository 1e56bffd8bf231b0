//! The `tailor` subcommands.

pub mod backfill;
pub mod decide;
pub mod export;
pub mod outcomes;
pub mod run;
pub mod serve;
pub mod validate;
