//! The score step: a decision request → a chosen action with its
//! explanation, under policy, with a defined fallback for every failure.
//!
//! Order of work: consent and policy (may this be personalized at all?) →
//! features (present? fresh?) → inputs the purpose may not use are masked
//! to their baseline → the model → eligibility (policy) and thresholds pick
//! the action → explanation → record. Policy constrains the model before
//! and after inference; the model never overrides it. Every fallback is a
//! safe, non-personalized default, and a policy evaluation error fails closed.

mod catalog;
mod decide;
mod explain;
mod memo;
mod record;
mod request;
mod shadow;

pub use catalog::{Catalog, CatalogAction, CatalogError, Placement, phrase};
pub use decide::{decide, decide_with, decision_id, out_of_region};
pub use explain::TOP_SIGNALS;
pub use memo::PolicyMemo;
pub use record::{
    DecisionRecord, Fallback, FeatureSnapshot, LoggedDecision, ModelInfo, Shadow, Signal,
};
pub use request::{DecisionRequest, EngineChoice, Loaded, Model};
pub use shadow::shadow;
