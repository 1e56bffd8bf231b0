//! Why an event breaks the contract: the error both the value rules
//! (`check`) and the property shapes (`properties`) report.

use std::fmt;

/// Why an event breaks the contract: where, and which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {rule}")]
pub struct ContractError {
    /// JSON Pointer to the offending value (empty for the whole document).
    pub pointer: String,
    /// The rule broken, in words.
    pub rule: String,
}

impl ContractError {
    pub(crate) fn new(pointer: impl Into<String>, rule: impl fmt::Display) -> Self {
        Self {
            pointer: pointer.into(),
            rule: rule.to_string(),
        }
    }

    pub(crate) fn at(pointer: &str, err: serde_json::Error) -> Self {
        Self::new(pointer, err)
    }

    pub(crate) fn shape(err: serde_json::Error) -> Self {
        Self::new("", err)
    }
}
