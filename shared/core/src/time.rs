//! Instants in UTC with millisecond precision.
//!
//! Every timestamp in an event is an RFC 3339 string with an offset; the core
//! converts it to a [`Timestamp`] once, at the edge, and works in UTC from then
//! on. Millisecond precision is what producers send and what windows need, and
//! an `i64` keeps state compact and ordering trivial.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Longest accepted timestamp string, in characters (the contract's `maxLength`).
pub const MAX_TIMESTAMP_LEN: usize = 40;

/// An instant in UTC, as milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a string is not a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Longer than [`MAX_TIMESTAMP_LEN`].
    #[error("timestamp longer than {MAX_TIMESTAMP_LEN} characters")]
    TooLong,
    /// Not an RFC 3339 date-time with an offset, or not a real instant.
    #[error("not an RFC 3339 date-time: {0}")]
    Invalid(String),
}

impl Timestamp {
    /// One second in milliseconds.
    pub const SECOND: i64 = 1_000;
    /// One minute in milliseconds.
    pub const MINUTE: i64 = 60 * Self::SECOND;
    /// One hour in milliseconds.
    pub const HOUR: i64 = 60 * Self::MINUTE;
    /// One day in milliseconds.
    pub const DAY: i64 = 24 * Self::HOUR;

    /// The instant `millis` milliseconds after the Unix epoch.
    #[must_use]
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant moved by `millis` (negative moves back), saturating.
    #[must_use]
    pub const fn add_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// Milliseconds from `earlier` to `self` (negative when `earlier` is later).
    #[must_use]
    pub const fn millis_since(self, earlier: Self) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Parses an RFC 3339 date-time with an offset.
    ///
    /// # Errors
    /// [`TimestampError`] when the text is too long, malformed, or names an
    /// instant that does not exist (such as February 30th).
    ///
    /// # Examples
    /// ```
    /// use tailor_core::Timestamp;
    /// let t = Timestamp::parse("2026-11-20T10:14:03.512+01:00").unwrap();
    /// assert_eq!(t.to_string(), "2026-11-20T09:14:03.512Z");
    /// assert!(Timestamp::parse("2026-02-30T10:00:00Z").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        if text.chars().count() > MAX_TIMESTAMP_LEN {
            return Err(TimestampError::TooLong);
        }
        let parsed = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| TimestampError::Invalid(e.to_string()))?;
        let millis = parsed.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis)
            .map(Self)
            .map_err(|_| TimestampError::Invalid("out of range".to_owned()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            ),
            Err(_) => write!(f, "@{}ms", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_offsets_to_utc() {
        let a = Timestamp::parse("2026-11-20T09:14:03Z").unwrap();
        let b = Timestamp::parse("2026-11-20T04:14:03-05:00").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_timestamps_without_offset() {
        assert!(Timestamp::parse("2026-11-20T09:14:03").is_err());
    }

    #[test]
    fn round_trips_through_display() {
        let t = Timestamp::parse("2026-01-02T03:04:05.678Z").unwrap();
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    }
}
