//! The decision record: everything needed to explain and audit a decision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Catalog, DecisionRequest, Lane, ModelInfo};
use crate::Timestamp;
use crate::event::Purpose;
use crate::policy::PolicyDecision;
use crate::subject::Sealed;

/// Why a decision fell back to its placement's safe default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The placement is not in the catalog.
    UnknownPlacement,
    /// Policy does not permit personalizing this decision (consent, age, purpose).
    NotPermitted,
    /// Policy could not be evaluated: failed closed.
    PolicyError,
    /// The profile has no features yet.
    NoFeatures,
    /// The features are older than the catalog allows.
    StaleFeatures,
    /// State could not be read.
    StoreUnavailable,
    /// The model could not be loaded or failed: rules only.
    ModelError,
    /// The model is not approved for the purpose: rules only.
    ModelNotApproved,
    /// The request's region is approved for a destination this deployment
    /// does not hold: nothing about the person is read or kept here.
    OutOfRegion,
    /// Real-time features were unavailable, missing or stale: the action
    /// was chosen by the profile's latest batch score from the slow lane,
    /// under the same policy and thresholds ([`DecisionRecord::batch_score`]
    /// says how old it was).
    BatchScore,
}

impl Fallback {
    /// Whether a batch score may decide instead: real-time features failed
    /// to read, were missing or stale (for a decision whose consent was
    /// read: the store failing on the ledger is `StoreUnavailable` too).
    #[must_use]
    pub const fn batch_score_may_replace(self) -> bool {
        matches!(
            self,
            Self::StoreUnavailable | Self::NoFeatures | Self::StaleFeatures
        )
    }
}

/// One contributing signal: positive pushes toward the personalized action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The feature.
    pub feature: String,
    /// Its effect (logit units for linear models, probability otherwise).
    pub effect: f64,
}

/// The model's inputs as used: values, each feature's age, what was masked, and a hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureSnapshot {
    /// Input values, by feature (masked ones at their baseline).
    pub values: BTreeMap<String, f64>,
    /// Age of each input at decision time, in seconds: a fast input's from
    /// its newest event, a slow one's from the batch run that computed it.
    pub age_s: BTreeMap<String, i64>,
    /// The lane each input was read from.
    #[serde(default)]
    pub lanes: BTreeMap<String, Lane>,
    /// Inputs the purpose may not read, masked before inference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
    /// Inputs older than their maximum age, treated as missing: masked
    /// with their baseline before inference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale: Vec<String>,
    /// Digest of the values.
    pub hash: String,
}

/// The batch score a decision was made by, instead of real-time features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchUse {
    /// When the batch run computed it.
    pub computed_at: Timestamp,
    /// Its age at the decision, in seconds.
    pub age_s: i64,
}

/// A challenger model's view of a decision: scored and logged, never acted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shadow {
    /// The challenger.
    pub model: ModelInfo,
    /// Its score on the same inputs, or why it has none.
    pub score: Result<f64, String>,
}

/// A decision, as logged and as returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The decision id (outcomes carry it).
    pub decision_id: String,
    /// When it was made.
    pub at: Timestamp,
    /// The resolved profile.
    pub profile_id: String,
    /// The purpose it served.
    pub purpose: Purpose,
    /// Where it is shown.
    pub placement: String,
    /// The catalog version.
    pub catalog_version: String,
    /// The chosen action.
    pub action: String,
    /// The model's score, when a model ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The model, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelInfo>,
    /// The model's inputs.
    #[serde(default)]
    pub snapshot: FeatureSnapshot,
    /// Top contributing signals, strongest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<Signal>,
    /// Plain-language reasons.
    pub reasons: Vec<String>,
    /// Every policy check made, with its effect.
    pub policy: Vec<PolicyDecision>,
    /// The fallback taken, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// The batch score used, under the `batch_score` fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_score: Option<BatchUse>,
    /// Time spent per stage, in microseconds: the stages reached (`policy`,
    /// `features`, `inputs`, `inference`, `explanation`, `choice`), `total`
    /// for the decision step, and `load` for the store reads before it (set
    /// by the function).
    #[serde(default)]
    pub latency_us: BTreeMap<String, u64>,
    /// Request context.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
    /// The challenger's score, for comparison only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger: Option<Shadow>,
}

impl DecisionRecord {
    pub(super) fn new(
        id: String,
        now: Timestamp,
        request: &DecisionRequest,
        profile_id: &str,
        catalog: &Catalog,
    ) -> Self {
        Self {
            decision_id: id,
            at: now,
            profile_id: profile_id.to_owned(),
            purpose: request.purpose,
            placement: request.placement.clone(),
            catalog_version: catalog.version.clone(),
            action: String::new(),
            score: None,
            model: None,
            snapshot: FeatureSnapshot::default(),
            signals: Vec::new(),
            reasons: Vec::new(),
            policy: Vec::new(),
            fallback: None,
            batch_score: None,
            latency_us: BTreeMap::new(),
            context: request.context.clone(),
            challenger: None,
        }
    }

    /// Falls back to `default`, non-personalized.
    pub(super) fn fall_back(&mut self, why: Fallback, default: &str) {
        self.fallback = Some(why);
        default.clone_into(&mut self.action);
        self.reasons = vec!["a standard choice, not based on your activity".to_owned()];
    }
}

/// A decision as the decision log keeps it: its id and time in the clear,
/// everything else (profile, inputs, context, explanation) sealed under
/// the profile's subject key, so that erasing the person leaves nothing of
/// theirs readable in the log ([`crate::subject`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedDecision {
    /// The decision id.
    pub decision_id: String,
    /// When it was made.
    pub at: Timestamp,
    /// The [`DecisionRecord`], sealed.
    pub sealed: Sealed,
}
