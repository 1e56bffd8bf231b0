//! The `tailor` command's library: one module per subcommand, each with its
//! arguments and what it runs. The command is a front end to the local
//! platform (`tailor-local`): argument parsing, progress and printing.
//!
//! It lives in `shared/` because it belongs to no single function.

pub mod commands;
