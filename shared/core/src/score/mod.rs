//! The score step: a decision request → a chosen action with its
//! explanation, under policy, with a defined fallback for every failure.
//!
//! Order of work: consent and policy (may this be personalized at all?) →
//! features (present? fresh?) → inputs the purpose may not use are masked
//! to their baseline → the model → eligibility (policy) and thresholds pick
//! the action → explanation → record. Policy constrains the model before
//! and after inference; the model never overrides it. Every fallback is a
//! safe, non-personalized default, and a policy evaluation error fails closed.

mod catalog;
mod record;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, CatalogAction, CatalogError, Placement, phrase};
pub use record::{DecisionRecord, Fallback, FeatureSnapshot, ModelInfo, Shadow, Signal};

use crate::Timestamp;
use crate::consent::Ledger;
use crate::event::{ConsentAction, Purpose};
use crate::features::ProfileFeatures;
use crate::policy::Policy;
use crate::token::digest;

/// A request for a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    /// Any linked key (`user:…`, `anon:…`) or a profile id.
    pub profile: String,
    /// The purpose the decision serves.
    pub purpose: Purpose,
    /// Where it is shown.
    pub placement: String,
    /// The region the person's data belongs to.
    pub region: String,
    /// Purposes the caller's consent platform grants now.
    pub consent: Vec<Purpose>,
    /// Whether the person passed the age gate (default: yes).
    #[serde(default = "yes")]
    pub adult: bool,
    /// Free-form context, recorded with the decision.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
}

const fn yes() -> bool {
    true
}

/// A model as the score step sees it (implemented by `tailor-model`).
pub trait Model: Send + Sync {
    /// Name, version and engine.
    fn info(&self) -> ModelInfo;
    /// Input features, in order.
    fn features(&self) -> &[String];
    /// The reference values masked inputs take and explanations measure from.
    fn baseline(&self) -> &[f64];
    /// Logit-space weights per raw feature, for linear models (exact explanations).
    fn linear_weights(&self) -> Option<&[f64]>;
    /// One probability per row.
    ///
    /// # Errors
    /// A description of the failure; the step falls back to rules only.
    fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, String>;
}

/// What the function loaded for the step; a failed load is an error string.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The resolved profile id.
    pub profile_id: String,
    /// The profile's features, if any.
    pub features: Result<Option<ProfileFeatures>, String>,
    /// The profile's consent ledger.
    pub ledger: Result<Ledger, String>,
}

/// Policy answers for decisions, remembered: each depends only on its
/// arguments, so a long-lived function evaluates each combination once.
/// Bounded: the memo is emptied when it holds [`PolicyMemo::CAPACITY`] answers.
pub struct PolicyMemo<'p> {
    policy: &'p Policy,
    memo: std::sync::Mutex<std::collections::HashMap<String, crate::policy::PolicyDecision>>,
}

impl std::fmt::Debug for PolicyMemo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyMemo").finish_non_exhaustive()
    }
}

impl<'p> PolicyMemo<'p> {
    /// Most answers kept.
    pub const CAPACITY: usize = 100_000;

    /// An empty memo over `policy`.
    #[must_use]
    pub fn new(policy: &'p Policy) -> Self {
        Self {
            policy,
            memo: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn remember(
        &self,
        key: String,
        answer: impl FnOnce() -> crate::policy::PolicyDecision,
    ) -> crate::policy::PolicyDecision {
        if let Ok(memo) = self.memo.lock()
            && let Some(found) = memo.get(&key)
        {
            return found.clone();
        }
        let decision = answer();
        // Errors are not remembered: each evaluation gets its own chance.
        if decision.errors.is_empty()
            && let Ok(mut memo) = self.memo.lock()
        {
            if memo.len() >= Self::CAPACITY {
                memo.clear();
            }
            memo.insert(key, decision.clone());
        }
        decision
    }

    fn decide(
        &self,
        purpose: Purpose,
        granted: &[Purpose],
        blocked: &[Purpose],
        region: &str,
        adult: bool,
    ) -> crate::policy::PolicyDecision {
        let key = format!("decide|{purpose}|{granted:?}|{blocked:?}|{region}|{adult}");
        self.remember(key, || {
            self.policy.decide(purpose, granted, blocked, region, adult)
        })
    }

    fn use_feature(&self, purpose: Purpose, feature: &str) -> crate::policy::PolicyDecision {
        self.remember(format!("use|{purpose}|{feature}"), || {
            self.policy.use_feature(purpose, feature)
        })
    }

    fn show(
        &self,
        purpose: Purpose,
        offer: &str,
        severity: i64,
        cart_items: i64,
    ) -> crate::policy::PolicyDecision {
        let key = format!("show|{purpose}|{offer}|{severity}|{cart_items}");
        self.remember(key, || {
            self.policy.show(purpose, offer, severity, cart_items)
        })
    }
}

/// How many signals an explanation names.
pub const TOP_SIGNALS: usize = 3;

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

    // Features: present and fresh.
    let features = match &loaded.features {
        Err(_) => {
            record.fall_back(Fallback::StoreUnavailable, &placement.default);
            return record;
        }
        Ok(None) => {
            record.fall_back(Fallback::NoFeatures, &placement.default);
            return record;
        }
        Ok(Some(f)) => f,
    };
    let age_ms = now.millis_since(features.as_of);
    if age_ms > catalog.max_feature_age_days * Timestamp::DAY {
        record.fall_back(Fallback::StaleFeatures, &placement.default);
        return record;
    }
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
        rules_only(&mut record);
        return record;
    };

    // Inputs: those the purpose may not read are masked to their baseline.
    let names = model.features();
    let baseline = model.baseline();
    let mut row = Vec::with_capacity(names.len());
    let mut masked = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let use_it = policy.use_feature(request.purpose, name);
        let value = if use_it.allowed {
            number(features, name)
        } else {
            masked.push(name.clone());
            baseline.get(i).copied().unwrap_or(0.0)
        };
        row.push(value as f32);
        if !use_it.allowed {
            record.policy.push(use_it);
        }
    }
    record.snapshot = FeatureSnapshot::of(features, names, &row, &masked, now);
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

    record.signals = explain(model, &row, &masked);
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

fn number(features: &ProfileFeatures, name: &str) -> f64 {
    features
        .features
        .get(name)
        .and_then(|f| f.value.as_f64())
        .unwrap_or(0.0)
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

/// Top contributing signals. Linear models: weight × (value − baseline) in
/// logit space, exact. Others: baseline substitution, one batched call with
/// each input in turn set to its baseline. Masked inputs are never named.
fn explain(model: &dyn Model, row: &[f32], masked: &[String]) -> Vec<Signal> {
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

fn reason(action: &CatalogAction, signals: &[Signal]) -> String {
    let top = signals
        .iter()
        .find(|s| s.effect > 0.0)
        .map_or("activity", |s| phrase(&s.feature));
    action.reason.replace("{top_signal}", top)
}

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
