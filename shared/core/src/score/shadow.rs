//! Challenger models: scored beside a made decision, never acted on.

use super::{DecisionRecord, Model, Shadow};

/// Scores a made decision with a challenger model, on the same inputs the
/// champion saw, and records the score beside it. The decision itself is
/// untouched: a challenger is never acted on. Decisions that did not reach
/// the model (fallbacks before inference) are left without a shadow.
pub fn shadow(record: &mut DecisionRecord, challenger: &dyn Model) {
    if record.snapshot.values.is_empty() {
        return;
    }
    let row: Option<Vec<f32>> = challenger
        .features()
        .iter()
        .map(|name| record.snapshot.values.get(name).map(|v| *v as f32))
        .collect();
    let score = match row {
        None => Err("the challenger reads inputs the champion did not".to_owned()),
        Some(row) => match challenger.predict(std::slice::from_ref(&row)) {
            Ok(p) if p.len() == 1 => Ok(f64::from(p[0])),
            Ok(_) => Err("unexpected output shape".to_owned()),
            Err(e) => Err(e),
        },
    };
    record.challenger = Some(Shadow {
        model: challenger.info(),
        score,
    });
}
