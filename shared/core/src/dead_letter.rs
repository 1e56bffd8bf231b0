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
use crate::batch::Record;
use crate::disposition::{DeadLetterReason, Disposition};
use crate::errors::StepError;
use crate::policy::Policy;
use crate::ports::{Store, StoreError, Table};
use crate::state::{self, Loaded};
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

/// Sets `payload` aside as `letter` (made by [`DeadLetter::new`] from it;
/// see the module) within the daily budget; returns the reason it is
/// dead-lettered under.
///
/// Every byte kept that may name a person is sealed for them, or not kept:
/// a letter whose bytes name no subject readable here (not UTF-8, not
/// JSON, no subject, cut short) keeps only its length and digest, and of
/// its detail only what a decode error says, which quotes nothing. The
/// person's subject key is made only once the letter is known to be within
/// the budget: a record refused for volume writes nothing but a count.
///
/// # Errors
/// The store's error; the record should then be retried.
pub async fn keep<S: Store>(
    store: &S,
    policy: &Policy,
    tokens: &crate::token::TokenKey,
    mut letter: DeadLetter,
    payload: &[u8],
) -> Result<DeadLetterReason, StoreError> {
    let (function, reason) = (letter.function.clone(), letter.reason);
    let mut seal_for = None;
    if !letter.withheld {
        let detail = std::mem::take(&mut letter.detail);
        let prefix = std::mem::take(&mut letter.prefix);
        match subject_of(payload) {
            Some((profile, keys)) => {
                let tombstones = state::tombstones(store, tokens, &keys).await?;
                if tombstones.iter().all(|t| t.value.is_none()) {
                    seal_for = Some((profile, (detail, prefix)));
                }
            }
            None if is_decode(reason) => letter.detail = detail,
            None => {}
        }
    }
    bounded(
        store,
        policy,
        DAILY_BUDGET_BYTES,
        letter,
        &key(&function, reason, payload),
        seal_for,
    )
    .await
}

/// Whether `reason` is a decode failure, whose detail quotes nothing of
/// the record.
const fn is_decode(reason: DeadLetterReason) -> bool {
    matches!(
        reason,
        DeadLetterReason::TooLarge
            | DeadLetterReason::NotUtf8
            | DeadLetterReason::TooDeep
            | DeadLetterReason::MalformedJson
    )
}

/// [`keep`] with a budget of `budget` bytes a day, for a letter already
/// stripped of whatever must not be kept in the clear.
///
/// # Errors
/// The store's error.
pub async fn keep_within<S: Store>(
    store: &S,
    policy: &Policy,
    budget: u64,
    letter: DeadLetter,
    key: &str,
) -> Result<DeadLetterReason, StoreError> {
    bounded(store, policy, budget, letter, key, None).await
}

/// Keeps `letter` under `key` if the day's budget has room, sealing
/// `seal_for`'s `(detail, prefix)` for its profile only then; otherwise
/// counts it by its reason.
async fn bounded<S: Store>(
    store: &S,
    policy: &Policy,
    budget: u64,
    mut letter: DeadLetter,
    key: &str,
    seal_for: Option<(String, (String, String))>,
) -> Result<DeadLetterReason, StoreError> {
    if store.get(Table::DeadLetters, key).await?.is_some() {
        // Kept before: a redelivery of the same record.
        return Ok(letter.reason);
    }
    let bytes = serde_json::to_vec(&letter)
        .map_err(|e| StoreError::Corrupt(format!("dead letter: {e}")))?;
    // What sealing adds: the sealed text in base64, and its envelope.
    let sealed_size = seal_for
        .as_ref()
        .map_or(0, |(_, (d, p))| (d.len() + p.len()) * 4 / 3 + 256);
    let size = (key.len() + bytes.len() + sealed_size) as u64;
    let volume_key = volume_key(&letter.function, letter.at);
    let mut written = false;
    for attempt in 1..=state::ATTEMPTS {
        let mut volume: Loaded<Volume> =
            state::load(store, Table::DeadLetters, &volume_key).await?;
        let within = written || volume.value.bytes.saturating_add(size) <= budget;
        if within && !written {
            if let Some((profile, secret)) = &seal_for {
                letter.sealed =
                    Some(crate::subject::seal(store, policy, profile, letter.at, secret).await?);
            }
            state::append(store, policy, Table::DeadLetters, key, &letter, letter.at).await?;
            written = true;
        }
        if within {
            volume.value.bytes += size;
            volume.value.letters += 1;
        } else {
            *volume.value.refused.entry(letter.reason).or_default() += 1;
        }
        let saved = state::save(
            store,
            policy,
            Table::DeadLetters,
            &volume_key,
            &volume.value,
            letter.at,
            volume.precondition(),
        )
        .await;
        match saved {
            Ok(_) if within => return Ok(letter.reason),
            Ok(_) => return Ok(DeadLetterReason::VolumeExceeded),
            Err(StoreError::Conflict { .. }) if attempt < state::ATTEMPTS => {}
            // The letter is kept; only its count is missing.
            Err(StoreError::Conflict { .. }) if within => return Ok(letter.reason),
            Err(e) => return Err(e),
        }
    }
    Ok(letter.reason)
}

/// Sets `record` aside (see [`keep`]) and returns what it becomes:
/// dead-lettered, or retried when the letter itself cannot be written.
pub async fn set_aside<S: Store>(
    store: &S,
    policy: &Policy,
    tokens: &crate::token::TokenKey,
    function: &str,
    reason: DeadLetterReason,
    detail: &str,
    record: &Record,
) -> Disposition {
    let letter = DeadLetter::new(function, reason, detail, &record.bytes, record.received_at);
    match keep(store, policy, tokens, letter, &record.bytes).await {
        Ok(reason) => Disposition::DeadLettered { reason },
        Err(e) => e.disposition(),
    }
}

/// What a record becomes when its step failed with `error`: set aside with
/// the error's reason when the error dead-letters it (retried instead if
/// the letter cannot be written), else the error's disposition.
pub async fn settle<S: Store, E: StepError>(
    store: &S,
    policy: &Policy,
    tokens: &crate::token::TokenKey,
    function: &str,
    record: &Record,
    error: &E,
) -> Disposition {
    match error.disposition() {
        Disposition::DeadLettered { reason } => {
            set_aside(
                store,
                policy,
                tokens,
                function,
                reason,
                &error.to_string(),
                record,
            )
            .await
        }
        other => other,
    }
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
