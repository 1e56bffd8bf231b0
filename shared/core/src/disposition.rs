//! What becomes of each record: the one vocabulary every adapter maps to its transport.
//!
//! Every record a function receives ends in exactly one [`Disposition`]:
//! accepted (possibly as a duplicate that was already applied), dead-lettered
//! with a typed [`DeadLetterReason`], or retried because of a transient failure.
//! Step errors convert to a disposition in exactly one place each
//! (their `disposition()` method); adapters turn dispositions into Kinesis
//! `batchItemFailures`, Pub/Sub push status codes or HTTP statuses.

use serde::{Deserialize, Serialize};

/// Why a record was dead-lettered. Stable names: dashboards and replays key on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterReason {
    /// Larger than the record size limit.
    TooLarge,
    /// Not UTF-8.
    NotUtf8,
    /// Nested deeper than the limit.
    TooDeep,
    /// Not one well-formed JSON document.
    MalformedJson,
    /// Well-formed but breaks the event contract.
    Contract,
    /// The consent the event carries does not permit collecting it.
    ConsentDenied,
    /// The event's region has no approved destination.
    NoDestination,
    /// Policy could not be evaluated; the record is held rather than processed.
    PolicyError,
    /// A message between functions could not be read (a bug or version skew).
    BadMessage,
    /// Stored state needed for the record could not be read.
    CorruptState,
    /// Still failing after every retry the platform allows.
    RetriesExhausted,
    /// Its event id was already used by a different request (another
    /// person, source or change): a conflict, not a repeat.
    EventIdReused,
    /// It is dated further after its receipt than any clock may be wrong by.
    FutureDated,
    /// Its region's approved destination is not one this deployment holds:
    /// it is refused, its bytes not kept here.
    OutOfRegion,
    /// Its function's dead letters of the day have used their budget: it
    /// is counted by its own reason, its bytes not kept.
    VolumeExceeded,
    /// Applying it needs a stored item larger than any store takes: it can
    /// never succeed, so it is set aside instead of retried.
    ItemTooLarge,
    /// A consent change from a producer not trusted with consent.
    ConsentNotPermitted,
}

impl DeadLetterReason {
    /// The stable name of the reason.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::NotUtf8 => "not_utf8",
            Self::TooDeep => "too_deep",
            Self::MalformedJson => "malformed_json",
            Self::Contract => "contract",
            Self::ConsentDenied => "consent_denied",
            Self::NoDestination => "no_destination",
            Self::PolicyError => "policy_error",
            Self::BadMessage => "bad_message",
            Self::CorruptState => "corrupt_state",
            Self::RetriesExhausted => "retries_exhausted",
            Self::EventIdReused => "event_id_reused",
            Self::FutureDated => "future_dated",
            Self::VolumeExceeded => "volume_exceeded",
            Self::OutOfRegion => "out_of_region",
            Self::ItemTooLarge => "item_too_large",
            Self::ConsentNotPermitted => "consent_not_permitted",
        }
    }
}

impl std::fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The end state of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "disposition", rename_all = "snake_case")]
pub enum Disposition {
    /// Processed; `duplicate` when it had been processed before and was not applied again.
    Accepted {
        /// Whether this delivery repeated one already applied.
        duplicate: bool,
    },
    /// Set aside with its reason; never retried automatically.
    DeadLettered {
        /// Why.
        reason: DeadLetterReason,
    },
    /// A transient failure; the platform should deliver it again.
    Retry,
}

impl Disposition {
    /// A first-time acceptance.
    pub const ACCEPTED: Self = Self::Accepted { duplicate: false };
    /// An acceptance of something already applied.
    pub const DUPLICATE: Self = Self::Accepted { duplicate: true };

    /// Whether the transport may consider the record delivered.
    #[must_use]
    pub const fn acknowledges(self) -> bool {
        !matches!(self, Self::Retry)
    }
}
