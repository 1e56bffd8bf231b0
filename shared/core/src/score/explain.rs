//! Explanations: the signals that contributed most to a score, and the
//! reason shown for the chosen action.

use super::{CatalogAction, Model, Signal, phrase};

/// How many signals an explanation names.
pub const TOP_SIGNALS: usize = 3;

/// Top contributing signals. Linear models: weight × (value − baseline) in
/// logit space, exact. Others: baseline substitution, one batched call with
/// each input in turn set to its baseline. Masked inputs are never named.
pub(super) fn explain(model: &dyn Model, row: &[f32], masked: &[String]) -> Vec<Signal> {
    let names = model.features();
    let baseline = model.baseline();
    let effects: Vec<f64> = if let Some(weights) = model.linear_weights() {
        weights
            .iter()
            .zip(baseline)
            .zip(row)
            .map(|((w, b), v)| w * (f64::from(*v) - b))
            .collect()
    } else {
        let mut rows = vec![row.to_vec()];
        for (i, b) in baseline.iter().enumerate() {
            let mut r = row.to_vec();
            r[i] = *b as f32;
            rows.push(r);
        }
        match model.predict(&rows) {
            Ok(p) if p.len() == rows.len() => p[1..].iter().map(|q| f64::from(p[0] - q)).collect(),
            _ => return Vec::new(),
        }
    };
    let mut signals: Vec<Signal> = names
        .iter()
        .zip(effects)
        .filter(|(name, effect)| !masked.contains(name) && effect.abs() > 1e-9)
        .map(|(name, effect)| Signal {
            feature: name.clone(),
            effect,
        })
        .collect();
    signals.sort_by(|a, b| {
        b.effect
            .abs()
            .total_cmp(&a.effect.abs())
            .then_with(|| a.feature.cmp(&b.feature))
    });
    signals.truncate(TOP_SIGNALS);
    signals
}

pub(super) fn reason(action: &CatalogAction, signals: &[Signal]) -> String {
    let top = signals
        .iter()
        .find(|s| s.effect > 0.0)
        .map_or("activity", |s| phrase(&s.feature));
    action.reason.replace("{top_signal}", top)
}
