//! The local platform's tokenization key.
//!
//! The key comes from `TAILOR_TOKEN_KEY` (at least 16 bytes) when set;
//! otherwise a random key is created once in the state folder
//! (`token.key`, readable by its owner only) and reused, so tokens stay
//! joinable across runs. It is never printed or logged.

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use tailor_core::token::TokenKey;

/// The environment variable that holds the tokenization key.
pub const TOKEN_KEY_VAR: &str = "TAILOR_TOKEN_KEY";

/// The tokenization key: from the environment, or from (or created in) `dir`.
///
/// # Errors
/// The key is too short, or the key file cannot be read or created.
pub fn token_key(dir: &Path) -> anyhow::Result<TokenKey> {
    if let Ok(value) = std::env::var(TOKEN_KEY_VAR) {
        return TokenKey::new(value.into_bytes())
            .with_context(|| format!("{TOKEN_KEY_VAR} is not usable"));
    }
    let path = dir.join("token.key");
    if let Ok(bytes) = fs::read(&path) {
        return TokenKey::new(bytes)
            .with_context(|| format!("{} is not a usable key", path.display()));
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut bytes = vec![0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading random bytes for a new token key")?;
    write_private(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    TokenKey::new(bytes).context("new token key")
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fs::write(path, bytes)
}
