//! `tailor validate FILE`: check events against the published contract.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use tailor_core::contract::{Contract, Rejection};
use tailor_core::decode::Limits;

/// The result of validating a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validation {
    /// Events checked.
    pub checked: u64,
    /// Events that break the contract.
    pub invalid: u64,
}

/// Splits a file into records: a `.json` file is one event (it may span
/// lines); anything else is JSON Lines, one event per non-empty line.
#[must_use]
pub fn records(path: &Path, bytes: &[u8]) -> Vec<(usize, Vec<u8>)> {
    if path.extension().is_some_and(|e| e == "json") {
        return vec![(1, bytes.to_vec())];
    }
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(i, line)| (i + 1, line.strip_suffix(b"\r").unwrap_or(line).to_vec()))
        .collect()
}

/// Validates every event of `path`, writing one line per bad event to `out`.
///
/// # Errors
/// The file cannot be read, or the schemas do not compile.
pub fn validate(path: &Path, limits: Limits, out: &mut impl Write) -> anyhow::Result<Validation> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let contract = Contract::global().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut result = Validation::default();
    for (line, record) in records(path, &bytes) {
        result.checked += 1;
        if let Err(rejection) = contract.parse(&record, limits) {
            result.invalid += 1;
            let (reason, detail) = match &rejection {
                Rejection::Decode(d) => (d.reason().as_str(), d.to_string()),
                Rejection::Contract(violations) => (
                    "contract",
                    violations
                        .iter()
                        .map(|v| {
                            format!(
                                "{} {}",
                                if v.pointer.is_empty() {
                                    "/"
                                } else {
                                    &v.pointer
                                },
                                v.rule
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            };
            writeln!(out, "{}:{line}: {reason}: {detail}", path.display())?;
        }
    }
    Ok(result)
}

/// `tailor validate`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file (.json: one event; otherwise JSON Lines).
    file: PathBuf,
}

/// Validates the file; exits 1 if any event is bad.
///
/// # Errors
/// The file cannot be read, or the schemas do not compile.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let v = validate(&args.file, Limits::default(), &mut out)?;
    eprintln!("{} checked, {} invalid", v.checked, v.invalid);
    Ok(if v.invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
