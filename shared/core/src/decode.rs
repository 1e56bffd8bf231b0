//! Turning raw record bytes into JSON, within limits checked before any work
//! that grows with the input.
//!
//! Order matters: size first (O(1)), then UTF-8 and nesting depth in one pass
//! over at most `max_bytes` bytes, and only then the JSON parser.

use serde::Serialize;

/// Limits applied to every record before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Largest accepted record, in bytes. Default 64 KiB, far under
    /// Kinesis's 1 MiB record and Pub/Sub's 10 MB message limits.
    pub max_bytes: usize,
    /// Deepest accepted nesting of objects and arrays (the top level is 1).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_depth: 32,
        }
    }
}

/// Why bytes could not be decoded into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record is larger than [`Limits::max_bytes`].
    #[error("record of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The record is not UTF-8.
    #[error("record is not UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The record nests deeper than [`Limits::max_depth`].
    #[error("record nests deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The record is not one well-formed JSON value.
    #[error("malformed JSON: {0}")]
    Malformed(String),
}

impl DecodeError {
    /// The dead-letter reason for this failure.
    #[must_use]
    pub const fn reason(&self) -> crate::disposition::DeadLetterReason {
        use crate::disposition::DeadLetterReason;
        match self {
            Self::TooLarge { .. } => DeadLetterReason::TooLarge,
            Self::NotUtf8 { .. } => DeadLetterReason::NotUtf8,
            Self::TooDeep { .. } => DeadLetterReason::TooDeep,
            Self::Malformed(_) => DeadLetterReason::MalformedJson,
        }
    }
}

/// The deepest nesting in `text`, stopping early once it passes `limit`.
fn exceeds_depth(text: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Checks `bytes` against `limits` and returns them as text.
///
/// # Errors
/// [`DecodeError`] for oversize, non-UTF-8 or too deeply nested input.
pub fn check(bytes: &[u8], limits: Limits) -> Result<&str, DecodeError> {
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if exceeds_depth(text, limits.max_depth) {
        return Err(DecodeError::TooDeep {
            limit: limits.max_depth,
        });
    }
    Ok(text)
}

/// Checks `bytes` against `limits` and parses them as one JSON value.
///
/// # Errors
/// [`DecodeError`] as for [`check`], or [`DecodeError::Malformed`].
///
/// # Examples
/// ```
/// use tailor_core::decode::{decode, DecodeError, Limits};
/// assert!(decode(br#"{"a": 1}"#, Limits::default()).is_ok());
/// assert!(matches!(decode(b"{} x", Limits::default()), Err(DecodeError::Malformed(_))));
/// ```
pub fn decode(bytes: &[u8], limits: Limits) -> Result<serde_json::Value, DecodeError> {
    let text = check(bytes, limits)?;
    serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_depth_outside_strings_only() {
        let quoted = format!("{{\"a\": \"{}\"}}", "[".repeat(100));
        assert!(decode(quoted.as_bytes(), Limits::default()).is_ok());
        let nested = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(
            decode(nested.as_bytes(), Limits::default()),
            Err(DecodeError::TooDeep { limit: 32 })
        );
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        let text = r#"{"a": "x\"[[[[", "b": [1]}"#;
        let limits = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        assert!(decode(text.as_bytes(), limits).is_ok());
    }

    #[test]
    fn rejects_oversize_before_looking_inside() {
        let big = vec![0xff; 70_000];
        assert!(matches!(
            decode(&big, Limits::default()),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(
            decode(b"{\"a\":\"\xff\"}", Limits::default()),
            Err(DecodeError::NotUtf8 { offset: 6 })
        );
    }
}
