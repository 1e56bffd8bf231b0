//! A model's input row for one purpose: each input read from its lane,
//! masked to its baseline where the purpose may not read it, and at its
//! baseline where it is stale. Decisions and the batch run build rows the
//! same way.

use std::collections::BTreeMap;

use super::{Catalog, FeatureSnapshot, Lane, Model, PolicyMemo, SlowLane};
use crate::Timestamp;
use crate::event::Purpose;
use crate::features::{ProfileFeatures, is_slow};
use crate::policy::PolicyDecision;

/// A model's inputs as used, with where each came from.
#[derive(Debug, Clone, Default)]
pub(super) struct Inputs {
    /// The model's input names, in order.
    pub names: Vec<String>,
    /// The values given to the model, in order.
    pub row: Vec<f32>,
    /// Inputs the purpose may not read.
    pub masked: Vec<String>,
    /// Inputs missing or past their maximum age.
    pub stale: Vec<String>,
    /// The lane of every input.
    pub lanes: BTreeMap<String, Lane>,
    /// The age of every input found, in seconds.
    pub age_s: BTreeMap<String, i64>,
    /// The policy decisions that masked inputs.
    pub denied: Vec<PolicyDecision>,
}

impl Inputs {
    /// The row `model` is given for `purpose` at `now`, from the online
    /// features (`fast`) and the slow lane (`slow`), either possibly absent.
    pub(super) fn of(
        model: &dyn Model,
        purpose: Purpose,
        fast: Option<&ProfileFeatures>,
        slow: Option<&SlowLane>,
        catalog: &Catalog,
        policy: &PolicyMemo<'_>,
        now: Timestamp,
    ) -> Self {
        let names = model.features();
        let baseline = model.baseline();
        let mut inputs = Self {
            names: names.to_vec(),
            ..Self::default()
        };
        for (i, name) in names.iter().enumerate() {
            let lane = if is_slow(name) {
                Lane::Slow
            } else {
                Lane::Fast
            };
            // The value and its age, where the lane has it.
            let found = match lane {
                Lane::Fast => fast.and_then(|f| f.features.get(name)).map(|f| {
                    (
                        f.value.as_f64().unwrap_or(0.0),
                        now.millis_since(f.updated_at),
                    )
                }),
                Lane::Slow => slow.and_then(|s| s.features.get(name).map(|v| (*v, s.age_ms(now)))),
            };
            let stale = match (lane, found) {
                (_, None) => true,
                (Lane::Fast, Some((_, age))) => age > catalog.max_age_ms(name),
                (Lane::Slow, Some(_)) => slow.is_none_or(|s| !s.fresh(now, catalog)),
            };
            let use_it = policy.use_feature(purpose, name);
            let base = baseline.get(i).copied().unwrap_or(0.0);
            let value = match found {
                Some((v, _)) if use_it.allowed && !stale => v,
                _ => base,
            };
            inputs.row.push(value as f32);
            inputs.lanes.insert(name.clone(), lane);
            if let Some((_, age)) = found {
                inputs.age_s.insert(name.clone(), age / 1000);
            }
            if stale {
                inputs.stale.push(name.clone());
            }
            if !use_it.allowed {
                inputs.masked.push(name.clone());
                inputs.denied.push(use_it);
            }
        }
        inputs
    }

    /// Whether most inputs are stale: such a row makes no decision.
    pub(super) fn mostly_stale(&self) -> bool {
        self.stale.len() * 2 > self.names.len()
    }

    /// The inputs as a decision records them, with a digest of the values.
    pub(super) fn snapshot(&self) -> FeatureSnapshot {
        let values: BTreeMap<String, f64> = self
            .names
            .iter()
            .cloned()
            .zip(self.row.iter().map(|v| f64::from(*v)))
            .collect();
        let text = serde_json::to_string(&values).unwrap_or_default();
        FeatureSnapshot {
            values,
            age_s: self.age_s.clone(),
            lanes: self.lanes.clone(),
            masked: self.masked.clone(),
            stale: self.stale.clone(),
            hash: crate::token::digest(&[&text], 16),
        }
    }
}

/// A numeric online feature, 0 when absent or not a number.
pub(super) fn number(features: &ProfileFeatures, name: &str) -> f64 {
    features
        .features
        .get(name)
        .and_then(|f| f.value.as_f64())
        .unwrap_or(0.0)
}
