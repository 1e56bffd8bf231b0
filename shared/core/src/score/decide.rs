//! The decision step: consent and policy, features, masked inputs, the
//! model, then the action by eligibility and threshold, or by rules alone.

use std::collections::BTreeMap;
use std::time::Instant;

use super::explain::{explain, reason};
use super::inputs::{Inputs, number};
use super::{
    BatchUse, Catalog, DecisionRecord, DecisionRequest, Fallback, Lane, Loaded, Model, Placement,
    PolicyMemo, SlowLane,
};
use crate::Timestamp;
use crate::event::{ConsentAction, Purpose};
use crate::policy::{Policy, PolicyDecision};
use crate::token::digest;

/// Makes one decision. Pure but for reading the monotonic clock for the
/// latency breakdown.
#[must_use]
pub fn decide(
    id: String,
    now: Timestamp,
    request: &DecisionRequest,
    loaded: &Loaded,
    catalog: &Catalog,
    policy: &Policy,
    model: Option<&dyn Model>,
) -> DecisionRecord {
    decide_with(
        id,
        now,
        request,
        loaded,
        catalog,
        &PolicyMemo::new(policy),
        model,
    )
}

/// The decision for a request whose region this deployment does not hold
/// (`check` says why): the placement's default, made without reading
/// anything about the person, whose data is held in their own region.
#[must_use]
pub fn out_of_region(
    id: String,
    now: Timestamp,
    request: &DecisionRequest,
    catalog: &Catalog,
    check: PolicyDecision,
) -> DecisionRecord {
    let mut record = DecisionRecord::new(id, now, request, "", catalog);
    let default = catalog
        .placements
        .get(&request.placement)
        .map_or("unknown", |p| p.default.as_str());
    record.fall_back(Fallback::OutOfRegion, default);
    record.policy.push(check);
    record
}

/// [`decide`] with a memo of policy answers kept across decisions (what a
/// long-lived score function uses).
#[must_use]
pub fn decide_with(
    id: String,
    now: Timestamp,
    request: &DecisionRequest,
    loaded: &Loaded,
    catalog: &Catalog,
    policy: &PolicyMemo<'_>,
    model: Option<&dyn Model>,
) -> DecisionRecord {
    let started = Instant::now();
    let mut record = decide_inner(id, now, request, loaded, catalog, policy, model);
    let total = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    record.latency_us.insert("total".into(), total);
    record
}

fn decide_inner(
    id: String,
    now: Timestamp,
    request: &DecisionRequest,
    loaded: &Loaded,
    catalog: &Catalog,
    policy: &PolicyMemo<'_>,
    model: Option<&dyn Model>,
) -> DecisionRecord {
    let started = Instant::now();
    let mut latency = BTreeMap::new();
    let mut lap = |name: &str, since: &mut Instant| {
        latency.insert(
            name.to_owned(),
            u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX),
        );
        *since = Instant::now();
    };
    let mut clock = started;
    let mut record = DecisionRecord::new(id, now, request, &loaded.profile_id, catalog);
    let Some(placement) = catalog.placements.get(&request.placement) else {
        record.fall_back(Fallback::UnknownPlacement, "unknown");
        return record;
    };
    record.action = placement.default.clone();

    // Consent and policy: fail closed on anything but an explicit permit.
    let Ok(ledger) = &loaded.ledger else {
        record.fall_back(Fallback::StoreUnavailable, &placement.default);
        return record;
    };
    let blocked: Vec<Purpose> = ledger
        .current()
        .into_iter()
        .filter(|(_, a)| *a != ConsentAction::Grant)
        .map(|(p, _)| p)
        .collect();
    let permit = policy.decide(
        request.purpose,
        &request.consent,
        &blocked,
        &request.region,
        request.adult,
    );
    let permitted = permit.allowed;
    let failed = !permit.errors.is_empty();
    record.policy.push(permit);
    lap("policy", &mut clock);
    if failed {
        record.fall_back(Fallback::PolicyError, &placement.default);
        return record;
    }
    if !permitted || placement.purpose != request.purpose {
        record.fall_back(Fallback::NotPermitted, &placement.default);
        return record;
    }

    // Features: present and fresh; else the batch score, else the default.
    let slow = loaded
        .slow
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .filter(|_| placement.reads(Lane::Slow));
    let features = match &loaded.features {
        Err(_) => {
            by_batch_score(
                &mut record,
                Fallback::StoreUnavailable,
                placement,
                slow,
                now,
                catalog,
                policy,
                model,
            );
            return record;
        }
        Ok(None) => {
            by_batch_score(
                &mut record,
                Fallback::NoFeatures,
                placement,
                slow,
                now,
                catalog,
                policy,
                model,
            );
            return record;
        }
        Ok(Some(f)) => f,
    };
    // Every feature is as fresh as the newest event behind it; one past
    // its maximum age is treated as missing.
    let stale_feature = |name: &str| {
        features
            .features
            .get(name)
            .is_none_or(|f| now.millis_since(f.updated_at) > catalog.max_age_ms(name))
    };
    lap("features", &mut clock);

    let severity = number(features, "support_max_severity_30d").max(-1.0) as i64;
    let cart_items = number(features, "cart_open_items") as i64;
    let rules_only = |record: &mut DecisionRecord| {
        choose_by_rules(
            record,
            placement,
            policy,
            request.purpose,
            severity,
            cart_items,
        );
    };
    let Some(model) = model else {
        // The rules read the cart and support severity: stale, they do not decide.
        if ["cart_open_items", "support_max_severity_30d"]
            .iter()
            .all(|n| stale_feature(n))
        {
            record.fall_back(Fallback::StaleFeatures, &placement.default);
            return record;
        }
        rules_only(&mut record);
        return record;
    };
    let serve = policy.serve_model(
        &model.info().name,
        request.purpose,
        model.approved_purposes(),
    );
    let approved = serve.allowed;
    record.policy.push(serve);
    if !approved {
        rules_only(&mut record);
        record.fallback = Some(Fallback::ModelNotApproved);
        return record;
    }

    // Inputs: each from its lane; those the purpose may not read, and
    // those past their maximum age, are masked to their baseline; mostly
    // stale inputs make no decision from this moment's features.
    let inputs = Inputs::of(
        model,
        request.purpose,
        Some(features),
        slow,
        catalog,
        policy,
        now,
    );
    if inputs.mostly_stale() {
        record.snapshot.stale.clone_from(&inputs.stale);
        by_batch_score(
            &mut record,
            Fallback::StaleFeatures,
            placement,
            slow,
            now,
            catalog,
            policy,
            Some(model),
        );
        return record;
    }
    let row = inputs.row.clone();
    record.policy.extend(inputs.denied.iter().cloned());
    record.snapshot = inputs.snapshot();
    let hidden: Vec<String> = inputs.masked.iter().chain(&inputs.stale).cloned().collect();
    lap("inputs", &mut clock);

    let score = match model.predict(std::slice::from_ref(&row)) {
        Ok(p) if p.len() == 1 && p[0].is_finite() => f64::from(p[0]),
        _ => {
            record.model = Some(model.info());
            rules_only(&mut record);
            return record;
        }
    };
    record.model = Some(model.info());
    record.score = Some(score);
    lap("inference", &mut clock);

    record.signals = explain(model, &row, &hidden);
    lap("explanation", &mut clock);

    // Policy after inference: the first eligible action above its threshold.
    for action in &placement.actions {
        let show = policy.show(request.purpose, &action.id, severity, cart_items);
        let eligible = show.allowed;
        record.policy.push(show);
        if eligible && score >= action.min_score {
            record.action.clone_from(&action.id);
            record.reasons = vec![reason(action, &record.signals)];
            break;
        }
    }
    lap("choice", &mut clock);
    record.latency_us = latency;
    record
}

/// Decides by the placement's latest batch score from the slow lane, when
/// one is kept, fresh, and from the model serving now under its approval
/// for the purpose; otherwise falls back to the default for `why`. The
/// action is chosen as from a live score: the first eligible action at or
/// above its threshold, eligibility read from the batch run's inputs.
#[allow(
    clippy::too_many_arguments,
    reason = "the decision step's own state, passed through"
)]
fn by_batch_score(
    record: &mut DecisionRecord,
    why: Fallback,
    placement: &Placement,
    slow: Option<&SlowLane>,
    now: Timestamp,
    catalog: &Catalog,
    policy: &PolicyMemo<'_>,
    model: Option<&dyn Model>,
) {
    let usable = slow.filter(|s| s.fresh(now, catalog)).and_then(|s| {
        let batch = s.batch.get(&record.placement)?;
        let model = model.filter(|m| m.info().name == batch.model.name)?;
        Some((s, batch, model))
    });
    let Some((slow, batch, model)) = usable else {
        record.fall_back(why, &placement.default);
        return;
    };
    let serve = policy.serve_model(
        &batch.model.name,
        placement.purpose,
        model.approved_purposes(),
    );
    let approved = serve.allowed;
    record.policy.push(serve);
    if !approved {
        record.fall_back(why, &placement.default);
        return;
    }
    record.fallback = Some(Fallback::BatchScore);
    record.score = Some(batch.score);
    record.model = Some(batch.model.clone());
    record.batch_score = Some(BatchUse {
        computed_at: slow.computed_at,
        age_s: slow.age_ms(now) / 1000,
    });
    record.action.clone_from(&placement.default);
    record.reasons = vec!["a standard choice, not based on your activity".to_owned()];
    for action in &placement.actions {
        let show = policy.show(
            placement.purpose,
            &action.id,
            batch.severity,
            batch.cart_items,
        );
        let eligible = show.allowed;
        record.policy.push(show);
        if eligible && batch.score >= action.min_score {
            record.action.clone_from(&action.id);
            record.reasons = vec![action.reason.replace("{top_signal}", "activity over time")];
            break;
        }
    }
}

/// Without a model, or when it fails: the first eligible action with no
/// score threshold, recorded as the `model_error` fallback.
fn choose_by_rules(
    record: &mut DecisionRecord,
    placement: &Placement,
    policy: &PolicyMemo<'_>,
    purpose: Purpose,
    severity: i64,
    cart_items: i64,
) {
    record.fallback = Some(Fallback::ModelError);
    record.action.clone_from(&placement.default);
    for action in placement.actions.iter().filter(|a| a.min_score <= 0.0) {
        let show = policy.show(purpose, &action.id, severity, cart_items);
        let eligible = show.allowed;
        record.policy.push(show);
        if eligible {
            record.action.clone_from(&action.id);
            record.reasons = vec![action.reason.replace("{top_signal}", "activity")];
            return;
        }
    }
}

/// A decision id: unique per profile, placement and instant, plus a nonce.
#[must_use]
pub fn decision_id(profile_id: &str, placement: &str, now: Timestamp, nonce: u64) -> String {
    format!(
        "dec_{}",
        digest(
            &[
                profile_id,
                placement,
                &now.as_millis().to_string(),
                &nonce.to_string()
            ],
            12
        )
    )
}
