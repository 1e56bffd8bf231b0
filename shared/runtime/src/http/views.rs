//! What the read routes show, read through the store port.

use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::consent::Ledger;
use tailor_core::ports::{Store, StoreError, Table};
use tailor_core::score::DecisionRecord;
use tailor_core::tables::Tables;

/// A profile's features as of `now`, its consent state, the age of its
/// newest event and its slow lane; `None` when it has no features.
///
/// # Errors
/// The store's error, or `Corrupt` for unreadable features.
pub(super) async fn profile(
    tables: Tables<'_, impl Store>,
    id: &str,
    now: Timestamp,
) -> Result<Option<Value>, StoreError> {
    let Some((profile_id, keys)) = tables.resolve_person(id).await? else {
        return Ok(None);
    };
    let Some(item) = tables.store().get(Table::Features, &profile_id).await? else {
        return Ok(None);
    };
    let stored: tailor_core::features::ProfileState =
        serde_json::from_slice(&item.value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let ledger: Ledger = tables.ledger_of(&keys).await?;
    // Evaluated as of the request: windows measured back from now.
    let age_s = stored.newest().map(|t| now.millis_since(t) / 1000);
    let features = stored.evaluate(now);
    // What the batch run keeps about them too, if anything.
    let slow_lane = tables.slow_lane(&profile_id).await?;
    Ok(Some(json!({
        "profile_id": profile_id,
        "keys": keys.len(),
        "consent": ledger.current(),
        "features_age_s": age_s,
        "features": features,
        "slow_lane": slow_lane,
    })))
}

/// The completion record of the consent change `event`, once it has been
/// carried out: only the record of this very request, never that of
/// another request that reused its event id.
///
/// # Errors
/// The store's error.
pub(super) async fn completion(
    store: &impl Store,
    event: &tailor_core::event::Event,
) -> Result<Option<Value>, StoreError> {
    let Some(item) = store
        .get(Table::Audit, &format!("consent/{}", event.event_id))
        .await?
    else {
        return Ok(None);
    };
    let Ok(done) = serde_json::from_slice::<tailor_core::consent::Completion>(&item.value) else {
        return Ok(None);
    };
    let ours =
        done.request.is_empty() || done.request == tailor_core::consent::request_digest(event);
    Ok(ours.then(|| serde_json::to_value(&done).unwrap_or(Value::Null)))
}

/// What `POST /v1/decide` answers: what its caller needs to act on the
/// decision and explain it (the id its outcomes carry, the action, the
/// reasons, the top signals by name, any fallback, the model, a summary
/// of the policy checks), never the person's feature values, age or
/// score. The whole record is read with `decisions:read`.
pub(super) fn decision_answer(record: &DecisionRecord) -> Value {
    let denied: Vec<Value> = record
        .policy
        .iter()
        .filter(|p| !p.allowed)
        .map(|p| json!({"action": p.action, "resource": p.resource, "policies": p.policies}))
        .collect();
    json!({
        "decision_id": record.decision_id,
        "at": record.at,
        "purpose": record.purpose,
        "placement": record.placement,
        "catalog_version": record.catalog_version,
        "action": record.action,
        "reasons": record.reasons,
        "signals": record.signals.iter().map(|s| s.feature.as_str()).collect::<Vec<_>>(),
        "fallback": record.fallback,
        "model": record.model,
        "policy": {
            "checks": record.policy.len(),
            "allowed": record.policy.len() - denied.len(),
            "denied": denied,
        },
    })
}
