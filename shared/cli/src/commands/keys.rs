//! `tailor keys new`: a new API key for `tailor serve`.
//!
//! The key is printed once; the keys file keeps only its SHA-256 digest,
//! with its name and scopes.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tailor_runtime::http::Scope;
use tailor_runtime::http::access::digest_hex;

/// `tailor keys`' subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Args {
    /// Create a key, append its digest to the keys file and print the key.
    New {
        /// A name for the key, shown in logs (not secret).
        #[arg(long)]
        name: String,
        /// What it may do: events:write, consent:write, decide,
        /// profiles:read, decisions:read, or all (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// The keys file.
        #[arg(long, env = "TAILOR_API_KEYS_FILE", default_value = ".tailor/api-keys")]
        file: PathBuf,
    },
}

/// Runs the subcommand.
///
/// # Errors
/// An unknown scope, or the keys file cannot be written.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let Args::New { name, scopes, file } = args;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        anyhow::bail!("--name must be one word");
    }
    let mut granted = Vec::new();
    for s in scopes {
        if s == "all" {
            granted.extend(Scope::ALL.iter().map(|s| s.as_str()));
        } else if let Some(scope) = Scope::parse(s) {
            granted.push(scope.as_str());
        } else {
            anyhow::bail!("unknown scope {s:?}");
        }
    }
    granted.sort_unstable();
    granted.dedup();
    let mut random = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .context("reading random bytes for a new key")?;
    let key: String = std::iter::once("tk_".to_owned())
        .chain(random.iter().map(|b| format!("{b:02x}")))
        .collect();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut out = open_private(file).with_context(|| format!("opening {}", file.display()))?;
    writeln!(out, "{name} {} {}", digest_hex(&key), granted.join(","))?;
    writeln!(std::io::stdout().lock(), "{key}")?;
    eprintln!(
        "tailor keys: added {name} ({}) to {}; the key above is not stored: keep it",
        granted.join(", "),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(unix)]
fn open_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}
