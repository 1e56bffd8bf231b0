//! The score step: a decision request → a chosen action with its
//! explanation, under policy, with a defined fallback for every failure.
//!
//! Order of work: consent and policy (may this be personalized at all?) →
//! features (present? fresh?) → inputs, each read from its lane (the
//! online features, or the slow lane's long-horizon ones), masked to their
//! baseline where the purpose may not use them → the model → eligibility
//! (policy) and thresholds pick the action → explanation → record. Policy
//! constrains the model before and after inference; the model never
//! overrides it. When real-time features are unavailable or stale, the
//! profile's latest batch score from the slow lane chooses instead (the
//! `batch_score` fallback, with its age), under the same policy; without
//! one, every fallback is a safe, non-personalized default, and a policy
//! evaluation error fails closed.
//!
//! [`slow_lane`] is the batch run's half: a profile's long-horizon features
//! and batch scores, from the rows decisions use.

mod batch;
mod catalog;
mod decide;
mod explain;
mod inputs;
mod lane;
mod memo;
mod model;
mod record;
mod request;
mod shadow;

pub use batch::slow_lane;
pub use catalog::{Catalog, CatalogAction, CatalogError, Lane, Placement, SlowLaneRules, phrase};
pub use decide::{decide, decide_with, decision_id, out_of_region};
pub use explain::TOP_SIGNALS;
pub use lane::{BatchScore, MAX_AHEAD_MS, SlowLane};
pub use memo::PolicyMemo;
pub use model::{EngineChoice, Model, ModelInfo};
pub use record::{
    BatchUse, DecisionRecord, Fallback, FeatureSnapshot, LoggedDecision, Shadow, Signal,
};
pub use request::{DecisionRequest, Loaded};
pub use shadow::shadow;
