//! Dead letters: records set aside with their reason, bounded in size and
//! in volume.
//!
//! A dead letter keeps what a replay tool needs to tell what it has — the
//! original's length, its SHA-256 and at most [`PREFIX_LIMIT`] of its first
//! bytes, as bytes (base64) — never the whole record: a 2 MB body of
//! control characters costs the same 64 KiB as any other.
//!
//! A letter about a person — one whose bytes name a subject, or an
//! enriched message naming a profile — keeps its prefix and detail sealed
//! under the profile's subject key ([`crate::subject`]), so erasing the
//! person leaves nothing of theirs readable here; one about a person
//! already erased (a live tombstone on one of the keys it names) keeps
//! neither, only the length and digest. A letter whose bytes name no
//! subject readable here — not UTF-8, not JSON, no subject — keeps no
//! prefix either, since nothing could seal it for whoever it names: every
//! byte kept that may name a person is sealed under a key erasure destroys,
//! or not kept.
//!
//! Each function's letters of one day share a budget of
//! [`DAILY_BUDGET_BYTES`], kept in a volume item beside them. Once it is
//! spent, a record is still dead-lettered, under the reason
//! [`DeadLetterReason::VolumeExceeded`], and counted in the volume item by
//! its own reason; its bytes are not kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Timestamp;
use crate::disposition::DeadLetterReason;
use crate::token;

/// The most of a record's bytes a dead letter keeps.
pub const PREFIX_LIMIT: usize = 64 * 1024;

/// The most of an error's text a dead letter keeps.
pub const DETAIL_LIMIT: usize = 1024;

/// What one function's dead letters of one day may take, in stored bytes.
pub const DAILY_BUDGET_BYTES: u64 = 8 * 1024 * 1024;

/// A record set aside, with what is needed to inspect it and to check a
/// copy of it for a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Which function set it aside.
    pub function: String,
    /// Why.
    pub reason: DeadLetterReason,
    /// The error in words, at most [`DETAIL_LIMIT`] bytes. It may quote the
    /// offending value, like the bytes it describes; dead letters are kept
    /// under the same retention and access as the payload.
    pub detail: String,
    /// When it was set aside.
    pub at: Timestamp,
    /// The original record's length in bytes.
    pub length: u64,
    /// The SHA-256 of the whole original record, in hex.
    pub sha256: String,
    /// The original's first bytes (all of them when `length` is at most
    /// [`PREFIX_LIMIT`]), in base64; empty when they are sealed or not kept.
    pub prefix: String,
    /// For a letter about a person: `(detail, prefix)`, sealed for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<crate::subject::Sealed>,
    /// Whether its bytes may not be kept here at all (another region's):
    /// then only the length and digest are, and nothing is sealed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

impl DeadLetter {
    /// The letter for `payload`, bounded.
    #[must_use]
    pub fn new(
        function: &str,
        reason: DeadLetterReason,
        detail: &str,
        payload: &[u8],
        at: Timestamp,
    ) -> Self {
        Self {
            function: function.to_owned(),
            reason,
            detail: truncate(detail, DETAIL_LIMIT).to_owned(),
            at,
            length: payload.len() as u64,
            sha256: token::hex(&Sha256::digest(payload)),
            prefix: token::base64(&payload[..payload.len().min(PREFIX_LIMIT)]),
            sealed: None,
            withheld: false,
        }
    }

    /// The letter for a record whose bytes may not be kept here: its length
    /// and digest only, and of its detail only what a decode error says
    /// (which quotes nothing of the record); otherwise the reason's name.
    #[must_use]
    pub fn withheld(
        function: &str,
        reason: DeadLetterReason,
        detail: &str,
        payload: &[u8],
        at: Timestamp,
    ) -> Self {
        let detail = if is_decode(reason) {
            detail
        } else {
            reason.as_str()
        };
        Self {
            prefix: String::new(),
            withheld: true,
            ..Self::new(function, reason, detail, payload, at)
        }
    }

    /// Whether the letter holds the whole record.
    #[must_use]
    pub const fn is_whole(&self) -> bool {
        self.length <= PREFIX_LIMIT as u64
    }
}

/// Whom a record is about: the profile, and the identity keys it names.
/// Read from an enriched message (`profile_id`), an ingested message or a
/// raw event (`subject`); `None` for bytes that name nobody readable.
#[must_use]
pub fn subject_of(payload: &[u8]) -> Option<(String, Vec<String>)> {
    use crate::identity::{anon_key, profile_of_anonymous, profile_of_user, user_key};
    use serde_json::Value;
    if payload.len() > PREFIX_LIMIT * 16 {
        return None;
    }
    let value: Value = serde_json::from_slice(payload).ok()?;
    let subject = value
        .get("subject")
        .or_else(|| value.pointer("/event/subject"))
        .or_else(|| value.pointer("/ingested/event/subject"));
    let field = |name: &str| {
        subject
            .and_then(|s| s.get(name))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let (user, anon) = (field("user_id"), field("anonymous_id"));
    let keys: Vec<String> = user
        .map(user_key)
        .into_iter()
        .chain(anon.map(anon_key))
        .collect();
    let profile = value
        .get("profile_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| user.map(profile_of_user))
        .or_else(|| anon.map(profile_of_anonymous))?;
    Some((profile, keys))
}

/// The start of `text`, at most `limit` bytes, cut on a character boundary.
fn truncate(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What one function's dead letters of one day have taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Stored bytes of the letters kept.
    pub bytes: u64,
    /// Letters kept.
    pub letters: u64,
    /// Records dead-lettered without their bytes once the budget was spent,
    /// by the reason they were set aside for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refused: BTreeMap<DeadLetterReason, u64>,
}

/// The key of a letter: the function, the reason and a digest of the bytes,
/// so a redelivered poison record is stored once.
#[must_use]
pub fn key(function: &str, reason: DeadLetterReason, payload: &[u8]) -> String {
    format!(
        "{function}/{}/{}",
        reason.as_str(),
        token::digest_bytes(payload, 12)
    )
}

/// The key of a function's volume item for the day of `at`.
#[must_use]
pub fn volume_key(function: &str, at: Timestamp) -> String {
    let day = at.to_string();
    format!("volume/{function}/{}", day.get(..10).unwrap_or(&day))
}

/// Whether `reason` is a decode failure, whose detail quotes nothing of
/// the record.
pub(crate) const fn is_decode(reason: DeadLetterReason) -> bool {
    matches!(
        reason,
        DeadLetterReason::TooLarge
            | DeadLetterReason::NotUtf8
            | DeadLetterReason::TooDeep
            | DeadLetterReason::MalformedJson
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_keeps_a_bounded_prefix_its_length_and_its_digest() {
        let payload = vec![0x01_u8; 2 * 1024 * 1024];
        let detail = "é".repeat(DETAIL_LIMIT);
        let at = Timestamp::from_millis(0);
        let letter = DeadLetter::new("ingest", DeadLetterReason::TooLarge, &detail, &payload, at);
        assert_eq!(letter.length, 2 * 1024 * 1024);
        assert_eq!(letter.prefix.len(), PREFIX_LIMIT.div_ceil(3) * 4);
        assert!(!letter.is_whole());
        assert!(letter.detail.len() <= DETAIL_LIMIT);
        // The SHA-256 of 2 MiB of 0x01 bytes, computed independently.
        assert_eq!(
            letter.sha256,
            "6d75695d93deb1bf5805617cfba166466cf60dc0a99a8014fa58893f358f33b8"
        );
    }

    #[test]
    fn a_record_names_its_subject_raw_ingested_or_enriched() {
        use crate::identity::{profile_of_anonymous, profile_of_user};
        let raw = br#"{"event_id":"e","subject":{"user_id":"u-1","anonymous_id":"a-1"}}"#;
        assert_eq!(
            subject_of(raw),
            Some((
                profile_of_user("u-1"),
                vec!["user:u-1".to_owned(), "anon:a-1".to_owned()]
            ))
        );
        let ingested = br#"{"event":{"subject":{"anonymous_id":"a-2"}}}"#;
        assert_eq!(
            subject_of(ingested).map(|s| s.0),
            Some(profile_of_anonymous("a-2"))
        );
        let enriched =
            br#"{"ingested":{"event":{"subject":{"anonymous_id":"a-2"}}},"profile_id":"p_x"}"#;
        assert_eq!(subject_of(enriched).map(|s| s.0), Some("p_x".to_owned()));
        assert_eq!(subject_of(b"not json"), None);
        assert_eq!(subject_of(br#"{"subject":{}}"#), None);
    }

    #[test]
    fn a_volume_key_names_the_function_and_the_day() {
        let at = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
        assert_eq!(volume_key("ingest", at), "volume/ingest/2026-11-20");
    }
}
