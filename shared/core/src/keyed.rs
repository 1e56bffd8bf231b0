//! Maps stored as lists: JSON object keys must be strings, and the maps in
//! Tailor's state are keyed by `(time, id)`. Each value knows its own key, so
//! the map is written as the list of its values (in key order) and rebuilt on
//! reading.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that carries its own map key.
pub trait Keyed {
    /// The key type.
    type Key: Ord;
    /// This value's key.
    fn key(&self) -> Self::Key;
}

/// Serializes the map's values as a list.
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer, V: Keyed + Serialize>(
    map: &BTreeMap<V::Key, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(map.values())
}

/// Rebuilds the map from a list of values.
///
/// # Errors
/// The deserializer's.
pub fn deserialize<'de, D: Deserializer<'de>, V: Keyed + DeserializeOwned>(
    d: D,
) -> Result<BTreeMap<V::Key, V>, D::Error> {
    let values = Vec::<V>::deserialize(d)?;
    Ok(values.into_iter().map(|v| (v.key(), v)).collect())
}
