//! State changes as data. A step that decides what to write returns a list
//! of [`Change`]s, in the order they must be made; the function crates
//! apply it with [`crate::state::apply`], which is the only place a plan
//! touches the store. Ordering carries meaning: a plan that must survive a
//! partial failure puts its commit point last (erasure writes its
//! tombstones first and removes the identity node last), so a retry of the
//! whole step repairs whatever was left undone.

use serde::Serialize;

use crate::Timestamp;
use crate::ports::{Precondition, StoreError, Table};

/// One write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Write `value` at `key` if `precondition` holds, expiring the table's
    /// retention after `anchor`.
    Save {
        /// The table.
        table: Table,
        /// The key.
        key: String,
        /// The value's JSON.
        value: Vec<u8>,
        /// What the expiry is measured from.
        anchor: Timestamp,
        /// What must hold for the write.
        precondition: Precondition,
    },
    /// Write a record under a deterministic key unless one is there: a
    /// replay finds it and writes nothing.
    Append {
        /// The table.
        table: Table,
        /// The key.
        key: String,
        /// The value's JSON.
        value: Vec<u8>,
        /// What the expiry is measured from.
        anchor: Timestamp,
    },
    /// Remove the item at `key`.
    Delete {
        /// The table.
        table: Table,
        /// The key.
        key: String,
    },
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Change {
    /// A [`Change::Save`] of `value` as JSON.
    ///
    /// # Errors
    /// `Corrupt` when the value does not serialize.
    pub fn save<T: Serialize>(
        table: Table,
        key: &str,
        value: &T,
        anchor: Timestamp,
        precondition: Precondition,
    ) -> Result<Self, StoreError> {
        Ok(Self::Save {
            table,
            key: key.to_owned(),
            value: json(value)?,
            anchor,
            precondition,
        })
    }

    /// A [`Change::Append`] of `value` as JSON.
    ///
    /// # Errors
    /// `Corrupt` when the value does not serialize.
    pub fn append<T: Serialize>(
        table: Table,
        key: &str,
        value: &T,
        anchor: Timestamp,
    ) -> Result<Self, StoreError> {
        Ok(Self::Append {
            table,
            key: key.to_owned(),
            value: json(value)?,
            anchor,
        })
    }

    /// A [`Change::Delete`].
    #[must_use]
    pub fn delete(table: Table, key: &str) -> Self {
        Self::Delete {
            table,
            key: key.to_owned(),
        }
    }

    /// The table written.
    #[must_use]
    pub const fn table(&self) -> Table {
        match self {
            Self::Save { table, .. } | Self::Append { table, .. } | Self::Delete { table, .. } => {
                *table
            }
        }
    }
}
