//! The `tailor` subcommands.

pub mod backfill;
pub mod run;
pub mod serve;
pub mod validate;
