//! Labelled feature rows for training a model.
//!
//! Two datasets, for the two stages of a model's life:
//!
//! - **Backfilled** ([`training_rows`]), for a first model before any
//!   decisions exist: each profile's features are computed as of a cutoff
//!   from the events before it, with exactly the functions the online path
//!   uses; the label is whether the profile checked out within the window
//!   after the cutoff. Only events the consent gate admits are used, for
//!   features and labels alike.
//! - **Logged decisions** ([`decision_rows`]), for the models after it: one
//!   row per decision that reached the model's inputs, with the feature
//!   snapshot the decision logged (the values as they were when it was made,
//!   so nothing from after the decision leaks in), the action taken, and one
//!   label per outcome kind that came back for it through ingest.

use std::collections::BTreeSet;
use std::io::Write;

use tailor_core::Timestamp;
use tailor_core::event::{EventType, OutcomeKind};
use tailor_core::features::{self, Admissible, LoggedEvent};
use tailor_core::policy::Policy;

use tailor_core::score::DecisionRecord;

use super::backfill::FinalState;
use super::outcomes;

/// The features the shipped model reads, in its input order.
pub const MODEL_FEATURES: [&str; 12] = [
    "count_7d.content_view",
    "count_30d.content_view",
    "count_7d.search",
    "count_7d.add_to_cart",
    "count_30d.add_to_cart",
    "count_30d.checkout",
    "sessions_7d",
    "events_per_session_7d",
    "cart_open_items",
    "cart_open_value",
    "revenue_30d",
    "support_max_severity_30d",
];

/// One labelled example.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The profile.
    pub profile_id: String,
    /// Feature values in [`MODEL_FEATURES`] order.
    pub values: Vec<f64>,
    /// Whether the profile converted within the window.
    pub label: bool,
}

/// Rows for every profile with features at `cutoff`, labelled by a checkout
/// in `(cutoff, cutoff + window_ms]`.
#[must_use]
pub fn training_rows(
    events: &[LoggedEvent],
    state: &FinalState,
    policy: &Policy,
    cutoff: Timestamp,
    window_ms: i64,
) -> Vec<Row> {
    let end = cutoff.add_millis(window_ms);
    let events: Vec<Admissible> = events.iter().map(Admissible::from).collect();
    let members = features::replay(
        &events,
        |k| state.profile_of(k),
        &state.ledgers,
        policy,
        |e| e.occurred_at <= cutoff,
    );
    let empty = tailor_core::consent::Ledger::default();
    let converted: BTreeSet<String> = events
        .iter()
        .filter(|e| {
            let at = e.occurred_at;
            at > cutoff && at <= end && e.event_type == EventType::Checkout
        })
        .filter_map(|e| {
            let profile = state.profile_of(&e.key)?;
            let ledger = state.ledgers.get(&profile).unwrap_or(&empty);
            e.gate(ledger, policy).allowed.then_some(profile)
        })
        .collect();
    let mut rows = Vec::new();
    for (profile, inputs) in members {
        let Some(f) = features::compute(&profile, &inputs, Some(cutoff)) else {
            continue;
        };
        let values = MODEL_FEATURES
            .iter()
            .map(|name| {
                f.features
                    .get(*name)
                    .and_then(|v| v.value.as_f64())
                    .unwrap_or(0.0)
            })
            .collect();
        rows.push(Row {
            label: converted.contains(&profile),
            profile_id: profile,
            values,
        });
    }
    rows
}

/// One logged decision with the outcomes that came back for it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// The decision.
    pub decision_id: String,
    /// Its profile.
    pub profile_id: String,
    /// Where it was shown.
    pub placement: String,
    /// The action taken.
    pub action: String,
    /// `personalized`, or the fallback taken (e.g. `model_error`).
    pub segment: String,
    /// The model's score, when a model ran.
    pub score: Option<f64>,
    /// Snapshot values in [`MODEL_FEATURES`] order (masked inputs at their baseline).
    pub values: Vec<f64>,
    /// Whether each kind in [`OUTCOME_KINDS`] was reported.
    pub outcomes: [bool; 5],
}

impl DecisionRow {
    /// Whether an outcome of `kind` was reported for the decision.
    #[must_use]
    pub fn reported(&self, kind: OutcomeKind) -> bool {
        OUTCOME_KINDS
            .iter()
            .position(|k| *k == kind)
            .is_some_and(|i| self.outcomes[i])
    }
}

/// The outcome label columns of [`DecisionRow`], in order.
pub const OUTCOME_KINDS: [OutcomeKind; 5] = [
    OutcomeKind::Impression,
    OutcomeKind::Click,
    OutcomeKind::Convert,
    OutcomeKind::Dismiss,
    OutcomeKind::Unsubscribe,
];

const OUTCOME_COLUMNS: [&str; 5] = ["impression", "click", "convert", "dismiss", "unsubscribe"];

/// Rows for every logged decision that reached the model's inputs (those
/// that fell back before, with no snapshot, are not training data), joined
/// to the outcomes in `log`, in decision-id order.
#[must_use]
pub fn decision_rows(decisions: &[DecisionRecord], log: &[LoggedEvent]) -> Vec<DecisionRow> {
    let seen = outcomes::by_decision(log);
    let mut rows: Vec<DecisionRow> = decisions
        .iter()
        .filter(|d| !d.snapshot.values.is_empty())
        .map(|d| {
            let kinds = seen.get(d.decision_id.as_str());
            DecisionRow {
                decision_id: d.decision_id.clone(),
                profile_id: d.profile_id.clone(),
                placement: d.placement.clone(),
                action: d.action.clone(),
                segment: outcomes::segment(d),
                score: d.score,
                values: MODEL_FEATURES
                    .iter()
                    .map(|name| d.snapshot.values.get(*name).copied().unwrap_or(0.0))
                    .collect(),
                outcomes: OUTCOME_KINDS.map(|k| kinds.is_some_and(|ks| ks.contains(&k))),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.decision_id.cmp(&b.decision_id));
    rows
}

/// Writes decision rows as CSV with a header.
///
/// # Errors
/// Writing fails.
pub fn write_decisions_csv(rows: &[DecisionRow], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "decision_id,profile_id,placement,action,segment,score,{},{}",
        MODEL_FEATURES.join(","),
        OUTCOME_COLUMNS.join(",")
    )?;
    for row in rows {
        let values: Vec<String> = row.values.iter().map(ToString::to_string).collect();
        let labels: Vec<&str> = row
            .outcomes
            .iter()
            .map(|&o| if o { "1" } else { "0" })
            .collect();
        writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            row.decision_id,
            row.profile_id,
            row.placement,
            row.action,
            row.segment,
            row.score.map(|s| s.to_string()).unwrap_or_default(),
            values.join(","),
            labels.join(",")
        )?;
    }
    Ok(())
}

/// Writes rows as CSV with a header.
///
/// # Errors
/// Writing fails.
pub fn write_csv(rows: &[Row], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "profile_id,{},label", MODEL_FEATURES.join(","))?;
    for row in rows {
        let values: Vec<String> = row.values.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "{},{},{}",
            row.profile_id,
            values.join(","),
            u8::from(row.label)
        )?;
    }
    Ok(())
}
