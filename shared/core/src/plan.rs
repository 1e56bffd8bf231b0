//! State changes as data. A step that decides what to write returns a list
//! of [`Change`]s, in the order they must be made; the function crates
//! apply it with [`crate::tables::Tables::apply`], the only place a plan
//! touches the store. Ordering carries meaning: a plan that must survive a
//! partial failure puts its commit point last (erasure writes its
//! tombstones first and removes the identity node last), so a retry of the
//! whole step repairs whatever was left undone.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Timestamp;
use crate::ports::{Item, Precondition, StoreError, Table};

/// A value read from a table with the version it was read at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded<T> {
    /// The value (the type's default when absent).
    pub value: T,
    /// The version read, `None` when absent.
    pub version: Option<u64>,
}

impl<T> Loaded<T> {
    /// The precondition that saving this value back must meet.
    #[must_use]
    pub const fn precondition(&self) -> Precondition {
        Precondition::expecting(self.version)
    }
}

impl<T: DeserializeOwned> Loaded<T> {
    /// A stored item as a value and the version it was read at.
    ///
    /// # Errors
    /// `Corrupt` when the item is not valid JSON of `T`.
    pub fn of(table: Table, item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            value: decode(table, &item.value)?,
            version: Some(item.version),
        })
    }
}

impl<T: DeserializeOwned + Default> Loaded<T> {
    /// A value from an item read in a batch (the type's default when
    /// absent), for batches mixing item types.
    ///
    /// # Errors
    /// `Corrupt` when the item is not valid JSON of `T`.
    pub fn from_item(table: Table, item: Option<&Item>) -> Result<Self, StoreError> {
        item.map_or_else(|| Ok(Self::default()), |item| Self::of(table, item))
    }
}

/// A stored value of `table` as `T`.
///
/// # Errors
/// `Corrupt` when the bytes are not valid JSON of `T`.
pub fn decode<T: DeserializeOwned>(table: Table, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", table.as_str())))
}

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
