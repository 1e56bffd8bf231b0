//! The `tailor` command's library: the event generator, the local pipeline
//! that chains the functions in-process, the local HTTP server, and
//! contract validation of files.
//!
//! It lives in `shared/cli` because it belongs to no single function: it is
//! the local platform's entry point, running all of them.

pub mod commands;
pub mod config;
pub mod generate;
pub mod pipeline;
