//! The slow lane as decisions read it: what the scheduled batch run keeps
//! per profile beside the online features ([`crate::ports::Table::SlowLane`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Catalog, ModelInfo};
use crate::Timestamp;

/// How far ahead of a decision's clock a slow lane may be dated and still
/// be read: the clock difference tolerated between the batch run and the
/// score function.
pub const MAX_AHEAD_MS: i64 = 5 * 60 * 1000;

/// A profile's slow lane: long-horizon features and the latest batch score
/// per placement, as of one batch run. Its size is bounded by the catalog:
/// [`crate::features::SLOW_FEATURES`] values and one score per placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowLane {
    /// The profile.
    pub profile_id: String,
    /// When the batch run computed it; its age is measured from here.
    pub computed_at: Timestamp,
    /// Long-horizon features by name, as of `computed_at`.
    pub features: BTreeMap<String, f64>,
    /// The latest batch score by placement; placements the model does not
    /// serve, or whose inputs were mostly stale, have none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub batch: BTreeMap<String, BatchScore>,
}

/// A placement's batch score: the model's score for the profile as of the
/// batch run, with what the eligibility rules read then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchScore {
    /// The model's score.
    pub score: f64,
    /// The model that produced it.
    pub model: ModelInfo,
    /// The highest support severity of the last 30 days then (-1: none).
    pub severity: i64,
    /// Items in the open cart then.
    pub cart_items: i64,
}

impl SlowLane {
    /// How old it is at `now`, in milliseconds.
    #[must_use]
    pub fn age_ms(&self, now: Timestamp) -> i64 {
        now.millis_since(self.computed_at)
    }

    /// Whether it is usable at `now`: no older than the catalog allows,
    /// and dated no later than [`MAX_AHEAD_MS`] after `now` (a batch run
    /// whose clock ran ahead never makes its values fresh for longer).
    #[must_use]
    pub fn fresh(&self, now: Timestamp, catalog: &Catalog) -> bool {
        (-MAX_AHEAD_MS..=catalog.slow_max_age_ms()).contains(&self.age_ms(now))
    }
}
