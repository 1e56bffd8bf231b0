//! The batch run's half of the slow lane: a profile's long-horizon
//! features and, per placement that reads the slow lane, the model's score
//! as of the run, built from the same input rows decisions use.

use std::collections::BTreeMap;

use super::inputs::{Inputs, number};
use super::{BatchScore, Catalog, Lane, Model, PolicyMemo, SlowLane};
use crate::Timestamp;
use crate::features::{History, ProfileFeatures};

/// A profile's slow lane as of `at`, from its whole admitted `history` and
/// its online features evaluated at `at` (`online`, absent when it has
/// none). A placement gets a batch score only when it reads the slow lane,
/// the model is approved for its purpose, most of its inputs are fresh and
/// the model answers with a finite score.
#[must_use]
pub fn slow_lane(
    profile_id: &str,
    history: &History,
    online: Option<&ProfileFeatures>,
    at: Timestamp,
    catalog: &Catalog,
    policy: &PolicyMemo<'_>,
    model: Option<&dyn Model>,
) -> SlowLane {
    let mut lane = SlowLane {
        profile_id: profile_id.to_owned(),
        computed_at: at,
        features: history.features(at),
        batch: BTreeMap::new(),
    };
    let Some(model) = model else {
        return lane;
    };
    let info = model.info();
    let mut batch = BTreeMap::new();
    for (name, placement) in &catalog.placements {
        if !placement.reads(Lane::Slow)
            || !policy
                .serve_model(&info.name, placement.purpose, model.approved_purposes())
                .allowed
        {
            continue;
        }
        let inputs = Inputs::of(
            model,
            placement.purpose,
            online,
            Some(&lane),
            catalog,
            policy,
            at,
        );
        if inputs.mostly_stale() {
            continue;
        }
        let Ok(score) = model.predict(std::slice::from_ref(&inputs.row)) else {
            continue;
        };
        let Some(score) = score
            .first()
            .map(|s| f64::from(*s))
            .filter(|s| s.is_finite())
        else {
            continue;
        };
        let severity = online.map_or(-1.0, |f| number(f, "support_max_severity_30d"));
        let cart_items = online.map_or(0.0, |f| number(f, "cart_open_items"));
        #[allow(
            clippy::cast_possible_truncation,
            reason = "severity is -1 to 3 and cart items are bounded by the contract"
        )]
        batch.insert(
            name.clone(),
            BatchScore {
                score,
                model: info.clone(),
                severity: severity.max(-1.0) as i64,
                cart_items: cart_items as i64,
            },
        );
    }
    lane.batch = batch;
    lane
}
