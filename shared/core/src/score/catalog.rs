//! The decision catalog: placements, their candidate actions in priority
//! order, score thresholds and reason templates. Under version control in
//! `shared/policy/catalog.json`; eligibility itself is policy (`show`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::Purpose;

/// The catalog shipped with Tailor.
pub(super) const SHIPPED: &str = include_str!("../../../policy/catalog.json");

/// One candidate action.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CatalogAction {
    /// The action's id (an `Offer` entity in policy).
    pub id: String,
    /// The lowest model score it is chosen at.
    pub min_score: f64,
    /// Plain-language reason; `{top_signal}` names the strongest permitted signal.
    pub reason: String,
}

/// Where a decision's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// The online features, kept per event and evaluated at the decision.
    Fast,
    /// The slow lane: long-horizon features and batch scores, written by a
    /// scheduled batch run ([`super::SlowLane`]).
    Slow,
}

fn fast_only() -> Vec<Lane> {
    vec![Lane::Fast]
}

/// Where decisions are shown.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Placement {
    /// The purpose decisions here serve.
    pub purpose: Purpose,
    /// The safe, non-personalized action.
    pub default: String,
    /// Candidates, first eligible above its threshold wins.
    pub actions: Vec<CatalogAction>,
    /// The lanes its decisions read (default: the fast lane only). A
    /// placement that reads the slow lane costs one more read per decision
    /// and gains the long-horizon features and the batch-score fallback.
    #[serde(default = "fast_only")]
    pub lanes: Vec<Lane>,
}

impl Placement {
    /// Whether its decisions read `lane`.
    #[must_use]
    pub fn reads(&self, lane: Lane) -> bool {
        self.lanes.contains(&lane)
    }
}

/// The slow lane's rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SlowLaneRules {
    /// How old the slow lane may be, from its computation: older, its
    /// features are stale and its batch scores unused.
    pub max_age_days: i64,
}

impl Default for SlowLaneRules {
    fn default() -> Self {
        Self { max_age_days: 2 }
    }
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Catalog {
    /// Catalog version, recorded in decisions.
    pub version: String,
    /// How old a feature may be, by default: one older than its maximum is
    /// treated as missing (masked with its baseline), and a decision whose
    /// inputs are mostly stale falls back (`stale_features`).
    pub max_feature_age_days: i64,
    /// Maximum ages by feature name or name prefix (the longest match wins),
    /// where the default does not fit (a 30-day window stays meaningful
    /// longer than a 7-day one).
    #[serde(default)]
    pub feature_max_age_days: BTreeMap<String, i64>,
    /// The slow lane's rules.
    #[serde(default)]
    pub slow_lane: SlowLaneRules,
    /// Placements by name.
    pub placements: BTreeMap<String, Placement>,
}

/// Why a catalog is unusable.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not valid JSON of the catalog's shape.
    #[error("catalog: {0}")]
    Parse(String),
    /// A placement's default is not among its actions.
    #[error("catalog: placement {0} has a default that is not one of its actions")]
    Default(String),
}

impl Catalog {
    /// Parses and checks a catalog.
    ///
    /// # Errors
    /// [`CatalogError`] when it does not parse or a default is not an action.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let catalog: Self =
            serde_json::from_str(text).map_err(|e| CatalogError::Parse(e.to_string()))?;
        for (name, p) in &catalog.placements {
            if !p.actions.iter().any(|a| a.id == p.default) {
                return Err(CatalogError::Default(name.clone()));
            }
        }
        Ok(catalog)
    }

    /// How old the feature `name` may be before it is stale, in milliseconds.
    #[must_use]
    pub fn max_age_ms(&self, name: &str) -> i64 {
        self.feature_max_age_days
            .iter()
            .filter(|(prefix, _)| name.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.max_feature_age_days, |(_, days)| *days)
            .saturating_mul(crate::Timestamp::DAY)
    }

    /// How old the slow lane may be before it is stale, in milliseconds.
    #[must_use]
    pub const fn slow_max_age_ms(&self) -> i64 {
        self.slow_lane
            .max_age_days
            .saturating_mul(crate::Timestamp::DAY)
    }

    /// The shipped catalog.
    ///
    /// # Errors
    /// As [`Catalog::parse`] (a test keeps the shipped one valid).
    pub fn shipped() -> Result<Self, CatalogError> {
        Self::parse(SHIPPED)
    }
}

/// A readable phrase for a feature, for reasons.
#[must_use]
pub fn phrase(feature: &str) -> &'static str {
    match feature {
        "count_7d.content_view" | "count_30d.content_view" => "reading",
        "count_7d.search" => "searches",
        "count_7d.add_to_cart"
        | "count_30d.add_to_cart"
        | "cart_open_items"
        | "cart_open_value" => "shopping",
        "count_30d.checkout" | "revenue_30d" => "orders",
        "sessions_7d" | "events_per_session_7d" => "visits",
        "support_max_severity_30d" => "support requests",
        _ => "activity",
    }
}
