//! One error type per function step, each with its one `disposition()`:
//! what a record whose processing hit the error becomes.
//!
//! Ingest's is [`crate::ingest::IngestError`]; the store's own is
//! [`StoreError`], whose transient failures retry and whose unreadable
//! items are dead-lettered as `corrupt_state`.

use crate::disposition::{DeadLetterReason, Disposition};
use crate::ports::{PublishError, StoreError};

/// A step error that says what its record becomes.
pub trait StepError: std::error::Error {
    /// Accepted, dead-lettered with a reason, or retried.
    fn disposition(&self) -> Disposition;
}

const BAD_MESSAGE: Disposition = Disposition::DeadLettered {
    reason: DeadLetterReason::BadMessage,
};

/// Why enrich could not finish a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrichError {
    /// The message is not an ingested event.
    #[error("not an ingested event: {0}")]
    BadMessage(String),
    /// State could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The enriched event could not be published.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Identity writes kept losing races with another writer.
    #[error("identity writes lost {0} races in a row")]
    Contended(usize),
}

impl StepError for EnrichError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::BadMessage(_) => BAD_MESSAGE,
            Self::Store(e) => e.disposition(),
            Self::Publish(_) | Self::Contended(_) => Disposition::Retry,
        }
    }
}

/// Why features could not finish a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeaturesError {
    /// The message is not an enriched event.
    #[error("not an enriched event: {0}")]
    BadMessage(String),
    /// State could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StepError for FeaturesError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::BadMessage(_) => BAD_MESSAGE,
            Self::Store(e) => e.disposition(),
        }
    }
}

/// Why consent could not finish a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// The message is not an enriched event.
    #[error("not an enriched event: {0}")]
    BadMessage(String),
    /// The message is an enriched event, but not a consent change.
    #[error("not a consent change")]
    NotAConsentChange,
    /// Another request was already carried out under the same event id.
    #[error("event id {0} was already used by a different consent change")]
    EventIdReused(String),
    /// State could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StepError for ConsentError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::BadMessage(_) | Self::NotAConsentChange => BAD_MESSAGE,
            Self::EventIdReused(_) => Disposition::DeadLettered {
                reason: DeadLetterReason::EventIdReused,
            },
            Self::Store(e) => e.disposition(),
        }
    }
}

/// Why score could not load what a decision reads. A decision is still
/// made: every variant becomes the `store_unavailable` fallback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    /// State could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reads did not finish within the store budget.
    #[error("store reads exceeded the {ms} ms budget")]
    OverBudget {
        /// The budget.
        ms: u64,
    },
}

impl StepError for StoreError {
    fn disposition(&self) -> Disposition {
        Self::disposition(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_messages_are_dead_lettered_and_outages_retried() {
        let outage = StoreError::Unavailable("down".into());
        let corrupt = StoreError::Corrupt("bad".into());
        assert_eq!(
            EnrichError::BadMessage(String::new()).disposition(),
            BAD_MESSAGE
        );
        assert_eq!(
            EnrichError::Publish(PublishError("x".into())).disposition(),
            Disposition::Retry
        );
        assert_eq!(
            EnrichError::Store(outage.clone()).disposition(),
            Disposition::Retry
        );
        assert_eq!(
            FeaturesError::Store(corrupt).disposition(),
            Disposition::DeadLettered {
                reason: DeadLetterReason::CorruptState
            }
        );
        assert_eq!(ConsentError::NotAConsentChange.disposition(), BAD_MESSAGE);
        assert_eq!(
            ConsentError::Store(outage).disposition(),
            Disposition::Retry
        );
    }
}
