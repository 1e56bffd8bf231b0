//! `tailor export-training`: labelled feature rows for training a model.
//!
//! Each profile's features are computed as of a cutoff from the events
//! before it, with exactly the functions the online path uses; the label is
//! whether the profile checked out within the window after the cutoff. Only
//! events the consent gate admits are used, for features and labels alike.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use tailor_core::Timestamp;
use tailor_core::event::EventType;
use tailor_core::features::{self, KeyInputs, LoggedEvent, Summary};
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
    let empty = tailor_core::consent::Ledger::default();
    let mut inputs: BTreeMap<String, KeyInputs> = BTreeMap::new();
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut converted: BTreeSet<String> = BTreeSet::new();
    let end = cutoff.add_millis(window_ms);
    for logged in events {
        let Some(profile) = state.profile_of(&logged.key) else {
            continue;
        };
        let ledger = state.ledgers.get(&profile).unwrap_or(&empty);
        if !features::gate(&logged.ingested, ledger, policy).allowed {
            continue;
        }
        let at = logged.ingested.occurred_at;
        if at <= cutoff {
            if let Some(summary) = Summary::of(&logged.ingested) {
                inputs.entry(logged.key.clone()).or_default().apply(summary);
                members
                    .entry(profile)
                    .or_default()
                    .insert(logged.key.clone());
            }
        } else if at <= end && logged.ingested.event.event_type == EventType::Checkout {
            converted.insert(profile);
        }
    }
    let mut rows = Vec::new();
    for (profile, keys) in members {
        let of_profile: Vec<KeyInputs> =
            keys.iter().filter_map(|k| inputs.get(k).cloned()).collect();
        let Some(f) = features::compute(&profile, &of_profile, Some(cutoff)) else {
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
