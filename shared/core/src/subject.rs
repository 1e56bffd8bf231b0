//! Subject keys: personal fields of long-kept records, sealed per person,
//! so that erasing the person's keys leaves nothing readable behind.
//!
//! The decision log, the audit log and dead letters keep records for
//! months or years and are looked up by their own ids, not by person. They
//! keep the person's part of a record (profile id, identity keys, feature
//! snapshot, request context, raw bytes) sealed with XChaCha20-Poly1305
//! under a random key of the person's profile for the month the record is
//! anchored in. An erasure deletes those keys
//! ([`crate::tables::Tables::forget_subjects`]): what was
//! sealed under them can no longer be read or linked to anyone, wherever
//! it is kept, including copies and backups of the tables.
//!
//! The `subjects` table holds two small items per key:
//! - `of/<profile>/<yyyy-mm>`: the key in use for a profile's month (what
//!   sealing reads);
//! - `key/<id>`: the same key by its random id (what opening reads; a
//!   sealed value names only the id, which says nothing of the person).
//!
//! Both expire with the longest-kept record sealed under them: the
//! `subjects` retention is at least the longest retention of a sealed
//! table plus a month (checked by the policy's tests).

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::Timestamp;
use crate::ports::StoreError;
use crate::token;

/// How many months back [`forget`] deletes keys: enough to cover the
/// `subjects` retention.
pub const MONTHS_KEPT: u32 = 28;

/// A profile's key for one month.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectKey {
    /// Random, and the only thing a sealed value names.
    pub id: String,
    /// The secret, in hex.
    secret: String,
}

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SubjectKey({}, <redacted>)", self.id)
    }
}

/// Why a sealed value could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The platform gave no randomness.
    #[error("no randomness for a subject key: {0}")]
    Entropy(String),
    /// The value does not open under its key (tampered, or not this key).
    #[error("sealed value does not open under its key")]
    Open,
    /// The value did not serialize, or its plaintext is not the type expected.
    #[error("sealed value is not valid JSON of its type: {0}")]
    Json(String),
}

impl From<SealError> for StoreError {
    fn from(e: SealError) -> Self {
        match e {
            SealError::Entropy(_) => Self::Unavailable(e.to_string()),
            SealError::Open | SealError::Json(_) => Self::Corrupt(e.to_string()),
        }
    }
}

fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SealError::Entropy(e.to_string()))?;
    Ok(bytes)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl SubjectKey {
    /// A fresh random key.
    ///
    /// # Errors
    /// [`SealError::Entropy`] when the platform has no randomness.
    pub fn generate() -> Result<Self, SealError> {
        Ok(Self {
            id: token::hex(&random::<16>()?),
            secret: token::hex(&random::<32>()?),
        })
    }

    fn cipher(&self) -> Result<XChaCha20Poly1305, SealError> {
        let secret = unhex(&self.secret).ok_or(SealError::Open)?;
        XChaCha20Poly1305::new_from_slice(&secret).map_err(|_| SealError::Open)
    }

    /// Seals `value` under this key.
    ///
    /// # Errors
    /// [`SealError`] when there is no randomness or `value` does not serialize.
    pub fn seal<T: Serialize>(&self, value: &T) -> Result<Sealed, SealError> {
        let plain = serde_json::to_vec(value).map_err(|e| SealError::Json(e.to_string()))?;
        let nonce = random::<24>()?;
        let data = self
            .cipher()?
            .encrypt(&XNonce::from(nonce), plain.as_slice())
            .map_err(|_| SealError::Open)?;
        Ok(Sealed {
            key: self.id.clone(),
            nonce: token::hex(&nonce),
            data: token::base64(&data),
        })
    }

    /// Opens a value sealed under this key.
    ///
    /// # Errors
    /// [`SealError::Open`] when it was not sealed under this key or was
    /// altered; [`SealError::Json`] when it is not a `T`.
    pub fn open<T: DeserializeOwned>(&self, sealed: &Sealed) -> Result<T, SealError> {
        let nonce: [u8; 24] = unhex(&sealed.nonce)
            .and_then(|n| n.try_into().ok())
            .ok_or(SealError::Open)?;
        let data = unbase64(&sealed.data).ok_or(SealError::Open)?;
        let plain = self
            .cipher()?
            .decrypt(&XNonce::from(nonce), data.as_slice())
            .map_err(|_| SealError::Open)?;
        serde_json::from_slice(&plain).map_err(|e| SealError::Json(e.to_string()))
    }

    /// A pseudonym of `parts` under this key: stable while the key lives,
    /// unlinkable to anyone once it is erased. For storage keys of sealed
    /// records that must be the same on a retry.
    #[must_use]
    pub fn pseudonym(&self, parts: &[&str]) -> String {
        let secret = unhex(&self.secret).unwrap_or_default();
        let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&secret) else {
            return String::from("psn_invalid");
        };
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        format!("psn_{}", token::hex(&mac.finalize().into_bytes()[..12]))
    }
}

fn unbase64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        let mut n = 0_u32;
        for c in &chunk[..4 - pad] {
            n = (n << 6) | value(*c)?;
        }
        n <<= 6 * pad as u32;
        let got = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&got[..3 - pad]);
    }
    Some(out)
}

/// A value sealed under a subject key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The key's id.
    pub key: String,
    /// The nonce, in hex.
    pub nonce: String,
    /// The ciphertext with its tag, in base64.
    pub data: String,
}

/// The month of `at`, as `yyyy-mm`.
pub(crate) fn month(at: Timestamp) -> String {
    let text = at.to_string();
    text.get(..7).unwrap_or(&text).to_owned()
}

/// The first instant of the month of `at`.
pub(crate) fn month_start(at: Timestamp) -> Timestamp {
    let text = format!("{}-01T00:00:00Z", month(at));
    Timestamp::parse(&text).unwrap_or(at)
}

pub(crate) fn of_key(profile_id: &str, month: &str) -> String {
    format!("of/{profile_id}/{month}")
}

pub(crate) fn id_key(id: &str) -> String {
    format!("key/{id}")
}

/// Every key by id, from a scan of the `subjects` table, for readers that
/// open many sealed values at once (exports).
#[must_use]
pub fn by_id<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> std::collections::BTreeMap<String, SubjectKey> {
    items
        .into_iter()
        .filter(|(k, _)| k.starts_with("key/"))
        .filter_map(|(_, v)| serde_json::from_slice::<SubjectKey>(v).ok())
        .map(|k| (k.id.clone(), k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_under_its_key_only() {
        let key = SubjectKey::generate().unwrap();
        let other = SubjectKey::generate().unwrap();
        let sealed = key.seal(&("p_1", "user:u-1")).unwrap();
        assert!(!sealed.data.contains("u-1"));
        let back: (String, String) = key.open(&sealed).unwrap();
        assert_eq!(back, ("p_1".to_owned(), "user:u-1".to_owned()));
        assert_eq!(
            other.open::<(String, String)>(&sealed),
            Err(SealError::Open)
        );
        let mut altered = sealed;
        altered.data.replace_range(0..4, "AAAA");
        assert_eq!(key.open::<(String, String)>(&altered), Err(SealError::Open));
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..10 {
            let bytes: Vec<u8> = (0..n).map(|i: u8| i.wrapping_mul(37)).collect();
            assert_eq!(unbase64(&token::base64(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn months_and_their_start() {
        let at = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
        assert_eq!(month(at), "2026-11");
        assert_eq!(
            month_start(at),
            Timestamp::parse("2026-11-01T00:00:00Z").unwrap()
        );
    }

    #[test]
    fn the_debug_form_hides_the_secret() {
        let key = SubjectKey::generate().unwrap();
        assert!(!format!("{key:?}").contains(&key.secret));
    }
}
