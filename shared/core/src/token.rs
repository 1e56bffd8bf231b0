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

/// An unkeyed digest of raw bytes, in hex (`len` bytes).
#[must_use]
pub fn digest_bytes(bytes: &[u8], len: usize) -> String {
    let out = Sha256::digest(bytes);
    hex(&out[..len.min(out.len())])
}

/// Standard base64 with padding.
#[must_use]
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn the_key_never_appears_in_debug_output() {
        let key = TokenKey::new(*b"super-secret-key-material").unwrap();
        assert!(!format!("{key:?}").contains("secret"));
    }
}
