//! Messages between functions, as published on the platform's streams.

use serde::{Deserialize, Serialize};

use crate::consent::LedgerEntry;
use crate::event::{ConsentAction, Purpose};
use crate::ingest::Ingested;

/// Enrich's output: an ingested event resolved to a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enriched {
    /// The event.
    pub ingested: Ingested,
    /// The profile it belongs to.
    pub profile_id: String,
    /// The identity key its feature inputs are kept under.
    pub key: String,
    /// The profile's member keys at enrich time, on consent changes only
    /// (an erasure must find every key of the person); other events carry
    /// the profile id, so a message does not grow with a person's keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Profiles whose membership this event changed, with their members now
    /// (features recomputes them; no members means the profile is gone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_profiles: Vec<(String, Vec<String>)>,
    /// The profile's consent state at enrich time.
    pub consent: ConsentSnapshot,
}

/// The consent state enrich attaches: what the event claims, and on a
/// consent change what the ledger says (other events' readers read the
/// profile's ledger themselves, so enrich does not read it for them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentSnapshot {
    /// Purposes the event's own claim grants.
    pub claimed: Vec<Purpose>,
    /// The latest ledger action per purpose (consent changes only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ledger: Vec<(Purpose, ConsentAction)>,
    /// Purposes blocked for data from the event's time (consent changes only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<Purpose>,
}

impl Enriched {
    /// The ledger entry, when the event is a consent change.
    #[must_use]
    pub fn ledger_entry(&self) -> Option<LedgerEntry> {
        LedgerEntry::from_ingested(&self.ingested)
    }
}
