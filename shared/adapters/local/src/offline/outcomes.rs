//! Decisions joined to the outcomes that came back for
//! them, by placement, action and segment.
//!
//! The segment is `personalized`, or the fallback a decision took — so the
//! same table counts fallbacks by reason. Outcomes arrive as `outcome`
//! events through ingest and are read from the offline log.

use std::collections::BTreeMap;

use crate::LocalStore;
use serde::Serialize;
use tailor_core::event::{OutcomeKind, Properties};
use tailor_core::features::LoggedEvent;
use tailor_core::ports::Table;
use tailor_core::score::DecisionRecord;

/// Counts for one (placement, action, segment).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActionStats {
    /// Decisions made.
    pub decisions: u64,
    /// Decisions with at least one impression.
    pub impressions: u64,
    /// Decisions clicked.
    pub clicks: u64,
    /// Decisions converted.
    pub conversions: u64,
    /// Decisions dismissed.
    pub dismissals: u64,
    /// Decisions followed by an unsubscribe.
    pub unsubscribes: u64,
}

impl ActionStats {
    /// Conversions per decision.
    #[must_use]
    pub fn conversion_rate(&self) -> f64 {
        if self.decisions == 0 {
            0.0
        } else {
            self.conversions as f64 / self.decisions as f64
        }
    }
}

/// The segment of a decision: `personalized` or its fallback.
#[must_use]
pub fn segment(record: &DecisionRecord) -> String {
    record.fallback.map_or_else(
        || "personalized".to_owned(),
        |f| {
            serde_json::to_value(f)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        },
    )
}

/// The kinds of outcome reported for each decision id, each kind once.
#[must_use]
pub fn by_decision(log: &[LoggedEvent]) -> BTreeMap<&str, Vec<OutcomeKind>> {
    let mut seen: BTreeMap<&str, Vec<OutcomeKind>> = BTreeMap::new();
    for logged in log {
        if let Properties::Outcome(o) = &logged.ingested.event.properties {
            let kinds = seen.entry(o.decision_id.as_str()).or_default();
            if !kinds.contains(&o.kind) {
                kinds.push(o.kind);
            }
        }
    }
    seen
}

/// Joins decisions to outcomes. Each kind of outcome counts once per decision,
/// however often it was reported; outcomes for unknown decisions are ignored.
#[must_use]
pub fn join(
    decisions: &[DecisionRecord],
    log: &[LoggedEvent],
) -> BTreeMap<(String, String, String), ActionStats> {
    let seen = by_decision(log);
    let mut table: BTreeMap<(String, String, String), ActionStats> = BTreeMap::new();
    for record in decisions {
        let stats = table
            .entry((
                record.placement.clone(),
                record.action.clone(),
                segment(record),
            ))
            .or_default();
        stats.decisions += 1;
        for kind in seen.get(record.decision_id.as_str()).into_iter().flatten() {
            match kind {
                OutcomeKind::Impression => stats.impressions += 1,
                OutcomeKind::Click => stats.clicks += 1,
                OutcomeKind::Convert => stats.conversions += 1,
                OutcomeKind::Dismiss => stats.dismissals += 1,
                OutcomeKind::Unsubscribe => stats.unsubscribes += 1,
            }
        }
    }
    table
}

/// Every logged decision still held: one whose person was erased since
/// no longer opens, and is left out.
///
/// # Errors
/// The store cannot be read or a record is unreadable.
pub fn decisions(store: &LocalStore) -> anyhow::Result<Vec<DecisionRecord>> {
    let keys = store.scan(Table::Subjects)?;
    let keys =
        tailor_core::subject::by_id(keys.iter().map(|(k, i)| (k.as_str(), i.value.as_slice())));
    let mut out = Vec::new();
    for (_, item) in store.scan(Table::Decisions)? {
        let logged: tailor_core::score::LoggedDecision = serde_json::from_slice(&item.value)?;
        if let Some(key) = keys.get(&logged.sealed.key) {
            out.push(key.open(&logged.sealed)?);
        }
    }
    Ok(out)
}
