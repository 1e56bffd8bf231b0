//! `tailor export-training`: labelled feature rows for training a model.
//!
//! Each profile's features are computed as of a cutoff from the events
//! before it, with exactly the functions the online path uses; the label is
//! whether the profile checked out within the window after the cutoff. Only
//! events the consent gate admits are used, for features and labels alike.

use std::collections::BTreeSet;
use std::io::Write;

use tailor_core::Timestamp;
use tailor_core::event::EventType;
use tailor_core::features::{self, LoggedEvent};
use tailor_core::policy::Policy;

use super::backfill::FinalState;

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
    let members = features::replay(
        events,
        |k| state.profile_of(k),
        &state.ledgers,
        policy,
        |e| e.ingested.occurred_at <= cutoff,
    );
    let empty = tailor_core::consent::Ledger::default();
    let converted: BTreeSet<String> = events
        .iter()
        .filter(|e| {
            let at = e.ingested.occurred_at;
            at > cutoff && at <= end && e.ingested.event.event_type == EventType::Checkout
        })
        .filter_map(|e| {
            let profile = state.profile_of(&e.key)?;
            let ledger = state.ledgers.get(&profile).unwrap_or(&empty);
            features::gate(&e.ingested, ledger, policy)
                .allowed
                .then_some(profile)
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
