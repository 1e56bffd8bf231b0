//! What the score step is given: the decision request and what the
//! function loaded for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::consent::Ledger;
use crate::event::Purpose;
use crate::features::ProfileFeatures;

/// A request for a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    /// Any linked key (`user:…`, `anon:…`) or a profile id (`p_…`);
    /// any other form is refused ([`crate::identity::ID_FORMS`]).
    #[serde(deserialize_with = "person_id")]
    pub profile: String,
    /// The purpose the decision serves.
    pub purpose: Purpose,
    /// Where it is shown.
    pub placement: String,
    /// The region the person's data belongs to.
    pub region: String,
    /// Purposes the caller's consent platform grants now.
    pub consent: Vec<Purpose>,
    /// Whether the person passed the age gate. Unknown (absent) is not
    /// permitted: a request must say so.
    #[serde(default)]
    pub adult: bool,
    /// Free-form context, recorded with the decision.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
}

/// Reads a request's person id, refusing every form but
/// [`crate::identity::ID_FORMS`].
fn person_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if crate::identity::is_person_id(&id) {
        Ok(id)
    } else {
        Err(serde::de::Error::custom(format!(
            "profile must name a person: {}",
            crate::identity::ID_FORMS
        )))
    }
}

/// What the function loaded for the step; a failed load is its error.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The resolved profile id.
    pub profile_id: String,
    /// The profile's features, if any.
    pub features: Result<Option<ProfileFeatures>, crate::errors::ScoreError>,
    /// The profile's consent ledger.
    pub ledger: Result<Ledger, crate::errors::ScoreError>,
    /// The profile's slow lane, if the placement reads it and one is kept.
    pub slow: Result<Option<super::SlowLane>, crate::errors::ScoreError>,
}
