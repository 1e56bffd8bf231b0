//! Keyed tokens for personal values that must stay joinable but not readable.
//!
//! A token is `tok_` followed by the first 16 bytes of
//! HMAC-SHA256(key, field ‖ 0x00 ‖ value), in hex. The same value in the same
//! field always gives the same token under one key; without the key a token
//! cannot be reversed or recomputed. The key comes from configuration and is
//! never printed: [`TokenKey`]'s `Debug` is redacted.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The secret used to tokenize personal values.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// A token key was too short to be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token key must be at least 16 bytes (got {0})")]
pub struct WeakKey(usize);

impl TokenKey {
    /// Wraps key material of at least 16 bytes.
    ///
    /// # Errors
    /// [`WeakKey`] when `bytes` is shorter than 16 bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, WeakKey> {
        let bytes = bytes.into();
        if bytes.len() < 16 {
            Err(WeakKey(bytes.len()))
        } else {
            Ok(Self(bytes))
        }
    }

    /// The keyed token of `value` in `field`.
    ///
    /// # Examples
    /// ```
    /// use tailor_core::token::TokenKey;
    /// let key = TokenKey::new(*b"0123456789abcdef").unwrap();
    /// let t = key.token("email", "ada@example.com");
    /// assert!(t.starts_with("tok_") && t.len() == 36);
    /// assert_eq!(t, key.token("email", "ada@example.com"));
    /// assert_ne!(t, key.token("email", "bob@example.com"));
    /// ```
    #[must_use]
    pub fn token(&self, field: &str, value: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) else {
            return String::from("tok_invalid");
        };
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("tok_{}", hex(&digest[..16]))
    }
}

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// An unkeyed, stable digest of `parts`, in hex (`len` bytes). Used for
/// pseudonymous ids and state hashes, never to hide a personal value.
#[must_use]
pub fn digest(parts: &[&str], len: usize) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let out = hasher.finalize();
    hex(&out[..len.min(out.len())])
}
