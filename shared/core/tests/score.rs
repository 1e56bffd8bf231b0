//! The score step: personalized decisions under policy, exact explanations,
//! and a tested fallback for every failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers in test binaries fail loudly"
)]

use crate::common;

use std::collections::BTreeMap;

use tailor_core::Timestamp;
use tailor_core::consent::{Ledger, LedgerEntry};
use tailor_core::event::{ConsentAction, ConsentSource, Purpose};
use tailor_core::features::{Feature, History, ProfileFeatures};
use tailor_core::policy::{Policy, shipped};
use tailor_core::score::{
    BatchScore, Catalog, DecisionRecord, DecisionRequest, Fallback, Lane, Loaded, Model, ModelInfo,
    PolicyMemo, SlowLane, decide, slow_lane,
};

const FEATURES: [&str; 4] = [
    "count_7d.content_view",
    "cart_open_items",
    "count_30d.checkout",
    "support_max_severity_30d",
];

/// A linear model written out by hand: the expected values below follow from it.
struct Linear {
    names: Vec<String>,
    weights: Vec<f64>,
    baseline: Vec<f64>,
    bias: f64,
    fail: bool,
    /// Predict sigmoid(x0·x1 + x2 − 4) instead, and offer no weights.
    nonlinear: bool,
    /// The purposes its approval lists.
    approved: Vec<String>,
}

impl Linear {
    fn new() -> Self {
        Self {
            names: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            weights: vec![0.2, 0.5, 0.8, -0.4],
            baseline: vec![5.0, 1.0, 1.0, 0.0],
            bias: -3.0,
            fail: false,
            nonlinear: false,
            approved: vec!["personalization".into(), "marketing".into()],
        }
    }
}

impl Model for Linear {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            name: "hand".into(),
            version: "1".into(),
            engine: "test".into(),
        }
    }
    fn features(&self) -> &[String] {
        &self.names
    }
    fn baseline(&self) -> &[f64] {
        &self.baseline
    }
    fn linear_weights(&self) -> Option<&[f64]> {
        (!self.nonlinear).then_some(self.weights.as_slice())
    }
    fn approved_purposes(&self) -> &[String] {
        &self.approved
    }
    fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, String> {
        if self.fail {
            return Err("engine down".into());
        }
        Ok(rows
            .iter()
            .map(|r| {
                if self.nonlinear {
                    let z = f64::from(r[0] * r[1] + r[2]) - 4.0;
                    return (1.0 / (1.0 + (-z).exp())) as f32;
                }
                let z = self.bias
                    + r.iter()
                        .zip(&self.weights)
                        .map(|(v, w)| f64::from(*v) * w)
                        .sum::<f64>();
                (1.0 / (1.0 + (-z).exp())) as f32
            })
            .collect())
    }
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-20T12:00:00Z").unwrap()
}

fn features(values: [f64; 4], as_of: Timestamp) -> ProfileFeatures {
    let features = FEATURES
        .iter()
        .zip(values)
        .map(|(n, v)| {
            (
                (*n).to_owned(),
                Feature {
                    value: serde_json::json!(v),
                    updated_at: as_of,
                },
            )
        })
        .collect::<BTreeMap<_, _>>();
    ProfileFeatures {
        profile_id: "p_1".into(),
        as_of,
        features,
        inputs_hash: String::new(),
    }
}

fn loaded(values: [f64; 4]) -> Loaded {
    Loaded {
        profile_id: "p_1".into(),
        features: Ok(Some(features(values, now()))),
        ledger: Ok(Ledger::default()),
        slow: Ok(None),
    }
}

/// A ledger whose only entry revokes marketing at `at`.
fn marketing_revoked(at: Timestamp) -> Ledger {
    let mut ledger = Ledger::default();
    ledger.record(LedgerEntry {
        at,
        event_id: "evt-revoke".into(),
        action: ConsentAction::Revoke,
        purposes: vec![Purpose::Marketing],
        region: "eu".into(),
        source: ConsentSource::Settings,
        policy_version: "v1".into(),
    });
    ledger
}

fn request(purpose: Purpose, placement: &str) -> DecisionRequest {
    DecisionRequest {
        profile: "user:u-1".into(),
        purpose,
        placement: placement.into(),
        region: "eu".into(),
        consent: vec![
            Purpose::Analytics,
            Purpose::Personalization,
            Purpose::Marketing,
        ],
        adult: true,
        context: BTreeMap::new(),
    }
}

fn run(req: &DecisionRequest, loaded: &Loaded, model: Option<&dyn Model>) -> DecisionRecord {
    let policy = common::policy();
    decide(
        "dec_test".into(),
        now(),
        req,
        loaded,
        &Catalog::shipped().unwrap(),
        policy,
        model,
    )
}

#[test]
fn a_shopper_with_a_cart_gets_free_shipping_with_exact_signals() {
    // z = -3 + 0.2·10 + 0.5·3 + 0.8·2 - 0.4·0 = 2.1 → p = 0.8909
    let r = run(
        &request(Purpose::Marketing, "offer"),
        &loaded([10.0, 3.0, 2.0, 0.0]),
        Some(&Linear::new()),
    );
    assert_eq!(r.fallback, None);
    assert!((r.score.unwrap() - 0.890_903).abs() < 1e-4, "{:?}", r.score);
    assert_eq!(r.action, "free_shipping");
    // Contributions w·(v − baseline): views 0.2·5 = 1.0, cart 0.5·2 = 1.0, orders 0.8·1 = 0.8.
    let signals: Vec<(&str, f64)> = r
        .signals
        .iter()
        .map(|s| (s.feature.as_str(), s.effect))
        .collect();
    assert_eq!(signals.len(), 3);
    assert_eq!(signals[2].0, "count_30d.checkout");
    assert!((signals[2].1 - 0.8).abs() < 1e-9);
    assert!(signals[..2].iter().all(|(_, e)| (e - 1.0).abs() < 1e-9));
    assert_eq!(
        r.reasons,
        vec!["you have items waiting in your cart".to_owned()]
    );
    assert!(
        r.policy
            .iter()
            .any(|p| p.policies.contains(&"decide-with-consent".to_owned()))
    );
    assert!(!r.snapshot.hash.is_empty() && r.latency_us.contains_key("inference"));
}

#[test]
fn marketing_never_reads_support_history() {
    let r = run(
        &request(Purpose::Marketing, "offer"),
        &loaded([10.0, 0.0, 0.0, 3.0]),
        Some(&Linear::new()),
    );
    assert_eq!(
        r.snapshot.masked,
        vec!["support_max_severity_30d".to_owned()]
    );
    assert_eq!(
        r.snapshot.values["support_max_severity_30d"], 0.0,
        "masked to its baseline"
    );
    assert!(
        r.signals
            .iter()
            .all(|s| s.feature != "support_max_severity_30d")
    );
}

#[test]
fn policy_overrides_the_model_after_inference() {
    // A high score, but an open cart is required for free shipping and a
    // serious escalation rules out selling a discount.
    let r = run(
        &request(Purpose::Marketing, "offer"),
        &loaded([30.0, 0.0, 4.0, 0.0]),
        Some(&Linear::new()),
    );
    assert!(r.score.unwrap() > 0.5);
    assert_eq!(r.action, "discount_10");
    let r = run(
        &request(Purpose::Personalization, "onboarding"),
        &loaded([30.0, 0.0, 4.0, 3.0]),
        Some(&Linear::new()),
    );
    assert_eq!(
        r.action, "human_assisted",
        "escalated customers get a person"
    );
}

#[test]
fn without_consent_for_the_purpose_the_decision_is_not_personalized() {
    let mut req = request(Purpose::Marketing, "offer");
    req.consent = vec![Purpose::Analytics];
    let r = run(&req, &loaded([10.0, 3.0, 2.0, 0.0]), Some(&Linear::new()));
    assert_eq!(r.fallback, Some(Fallback::NotPermitted));
    assert_eq!(r.action, "no_offer");
    assert!(r.score.is_none() && r.signals.is_empty());
}

#[test]
fn a_revocation_in_the_ledger_wins_over_the_callers_consent() {
    let l = Loaded {
        ledger: Ok(marketing_revoked(now())),
        ..loaded([10.0, 3.0, 2.0, 0.0])
    };
    let r = run(
        &request(Purpose::Marketing, "offer"),
        &l,
        Some(&Linear::new()),
    );
    assert_eq!(r.fallback, Some(Fallback::NotPermitted));
    assert!(
        r.policy[0]
            .policies
            .contains(&"decide-not-after-revocation".to_owned())
    );
}

#[test]
fn minors_get_no_personalization() {
    let mut req = request(Purpose::Personalization, "onboarding");
    req.adult = false;
    assert_eq!(
        run(&req, &loaded([1.0; 4]), Some(&Linear::new())).fallback,
        Some(Fallback::NotPermitted)
    );
}

#[test]
fn a_request_that_does_not_say_the_person_is_an_adult_is_not_personalized() {
    let req: DecisionRequest = serde_json::from_value(serde_json::json!({
        "profile": "user:u-1", "purpose": "personalization", "placement": "onboarding",
        "region": "eu", "consent": ["personalization"]
    }))
    .unwrap();
    assert!(!req.adult, "unknown age is not adult");
    let r = run(&req, &loaded([1.0, 0.0, 2.0, 90.0]), None);
    assert_eq!(r.fallback, Some(Fallback::NotPermitted));
}

#[test]
fn an_input_past_its_maximum_age_is_masked_and_named() {
    let req = request(Purpose::Personalization, "onboarding");
    let model = Linear::new();
    let mut f = features([3.0, 2.0, 1.0, 0.0], now());
    // 20 days: past the default 14 for a 7-day count, within 30 for the rest.
    f.features
        .get_mut("count_7d.content_view")
        .unwrap()
        .updated_at = now().add_millis(-20 * Timestamp::DAY);
    let loaded = Loaded {
        features: Ok(Some(f)),
        ..loaded([0.0; 4])
    };
    let r = run(&req, &loaded, Some(&model));
    assert_eq!(r.fallback, None);
    assert_eq!(r.snapshot.stale, vec!["count_7d.content_view".to_owned()]);
    assert_eq!(
        r.snapshot.values["count_7d.content_view"],
        model.baseline()[0]
    );
    assert_eq!(r.snapshot.values["cart_open_items"], 2.0);
    assert!(
        r.signals
            .iter()
            .all(|s| s.feature != "count_7d.content_view")
    );
}

#[test]
fn every_failure_has_its_fallback() {
    let req = request(Purpose::Personalization, "onboarding");
    let model = Linear::new();
    let none = Loaded {
        features: Ok(None),
        ..loaded([0.0; 4])
    };
    assert_eq!(
        run(&req, &none, Some(&model)).fallback,
        Some(Fallback::NoFeatures)
    );
    // Older than every input's maximum age (the 30-day features' too).
    let old = now().add_millis(-40 * Timestamp::DAY);
    let stale = Loaded {
        features: Ok(Some(features([1.0; 4], old))),
        ..loaded([0.0; 4])
    };
    assert_eq!(
        run(&req, &stale, Some(&model)).fallback,
        Some(Fallback::StaleFeatures)
    );
    let down = Loaded {
        features: Err(tailor_core::errors::ScoreError::OverBudget { ms: 50 }),
        ..loaded([0.0; 4])
    };
    let r = run(&req, &down, Some(&model));
    assert_eq!(
        (r.fallback, r.action.as_str()),
        (Some(Fallback::StoreUnavailable), "standard_onboarding")
    );
    let broken = Linear {
        fail: true,
        ..Linear::new()
    };
    let r = run(&req, &loaded([1.0; 4]), Some(&broken));
    assert_eq!(r.fallback, Some(Fallback::ModelError));
    assert_eq!(
        r.action, "standard_onboarding",
        "rules only: the first eligible action without a threshold"
    );
    assert_eq!(
        run(&req, &loaded([1.0; 4]), None).fallback,
        Some(Fallback::ModelError)
    );
}

#[test]
fn a_policy_evaluation_error_fails_closed() {
    // A bundle whose entities lack the purposes: the engine cannot evaluate `decide`.
    let entities: Vec<serde_json::Value> = serde_json::from_str(shipped::ENTITIES).unwrap();
    let entities: Vec<serde_json::Value> = entities
        .into_iter()
        .filter(|e| e["uid"]["type"] != "Tailor::Purpose")
        .collect();
    let policy = Policy::load(
        shipped::SCHEMA,
        shipped::POLICIES,
        &serde_json::to_string(&entities).unwrap(),
    )
    .unwrap();
    let r = decide(
        "dec_x".into(),
        now(),
        &request(Purpose::Personalization, "onboarding"),
        &loaded([1.0; 4]),
        &Catalog::shipped().unwrap(),
        &policy,
        Some(&Linear::new()),
    );
    assert_eq!(r.fallback, Some(Fallback::PolicyError));
    assert_eq!(r.action, "standard_onboarding");
    assert!(r.score.is_none());
}

#[test]
fn models_without_weights_are_explained_by_baseline_substitution() {
    // p = sigmoid(x0·x1 + x2 − 4) at (2, 3, 1, 0) with a zero baseline:
    // p = sigmoid(3) = 0.952574; x0 → 0 or x1 → 0 gives sigmoid(−3), an
    // effect of 0.905148 each; x2 → 0 gives sigmoid(2), an effect of 0.071777.
    let model = Linear {
        nonlinear: true,
        baseline: vec![0.0; 4],
        ..Linear::new()
    };
    let r = run(
        &request(Purpose::Personalization, "onboarding"),
        &loaded([2.0, 3.0, 1.0, 0.0]),
        Some(&model),
    );
    let effects: Vec<(&str, f64)> = r
        .signals
        .iter()
        .map(|s| (s.feature.as_str(), s.effect))
        .collect();
    assert_eq!(effects.len(), 3, "{effects:?}");
    assert_eq!(effects[0].0, "cart_open_items");
    assert_eq!(effects[1].0, "count_7d.content_view");
    assert_eq!(effects[2].0, "count_30d.checkout");
    for ((_, got), want) in effects.iter().zip([0.905148, 0.905148, 0.071777]) {
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}

#[test]
fn a_challenger_is_scored_and_logged_but_never_acted_on() {
    let req = request(Purpose::Marketing, "offer");
    let mut r = run(&req, &loaded([10.0, 3.0, 2.0, 0.0]), Some(&Linear::new()));
    let action = r.action.clone();
    // The challenger's bias is 2 lower: z = 0.1, p = 0.524979.
    let challenger = Linear {
        bias: -5.0,
        ..Linear::new()
    };
    tailor_core::score::shadow(&mut r, &challenger);
    let shadow = r.challenger.clone().unwrap();
    assert!((shadow.score.unwrap() - 0.524_979).abs() < 1e-5);
    assert_eq!(r.action, action, "the champion's choice stands");
    assert!((r.score.unwrap() - 0.890_903).abs() < 1e-4);
    // A decision that never reached the model gets no shadow.
    let mut fallback = run(
        &req,
        &Loaded {
            features: Ok(None),
            ..loaded([0.0; 4])
        },
        Some(&Linear::new()),
    );
    tailor_core::score::shadow(&mut fallback, &challenger);
    assert!(fallback.challenger.is_none());
}

#[test]
fn a_model_serves_only_the_purposes_its_approval_lists() {
    let mut model = Linear::new();
    model.approved = vec!["personalization".into()];
    let r = run(
        &request(Purpose::Marketing, "offer"),
        &loaded([10.0, 3.0, 2.0, 0.0]),
        Some(&model),
    );
    assert_eq!(r.fallback, Some(Fallback::ModelNotApproved));
    assert_eq!(r.score, None, "the model did not run");
    assert!(r.snapshot.values.is_empty(), "nor read its inputs");
    let serve = r
        .policy
        .iter()
        .find(|p| p.action == "serve_model")
        .expect("the check is recorded");
    assert!(!serve.allowed);
    // Approved for it, the same request is scored, naming the permit.
    let r = run(
        &request(Purpose::Marketing, "offer"),
        &loaded([10.0, 3.0, 2.0, 0.0]),
        Some(&Linear::new()),
    );
    assert!(r.score.is_some());
    assert!(r.policy.iter().any(|p| {
        p.policies
            .contains(&"models-serve-only-approved-purposes".to_owned())
    }));
}

// --- The slow lane ----------------------------------------------------------

/// A slow lane computed `hours` before [`now`], with a batch score for the
/// offer placement.
fn slow(hours: i64, offer: Option<BatchScore>) -> SlowLane {
    SlowLane {
        profile_id: "p_1".into(),
        computed_at: now().add_millis(-hours * Timestamp::HOUR),
        features: BTreeMap::from([("value_90d".to_owned(), 120.0)]),
        batch: offer.into_iter().map(|b| ("offer".to_owned(), b)).collect(),
    }
}

fn batch(score: f64, cart_items: i64) -> BatchScore {
    BatchScore {
        score,
        model: Linear::new().info(),
        severity: -1,
        cart_items,
    }
}

/// [`run`] under the shipped catalog changed so that the request's
/// placement reads the fast lane only.
fn decide_fast_only(req: &DecisionRequest, loaded: &Loaded, model: &dyn Model) -> DecisionRecord {
    let mut catalog: serde_json::Value =
        serde_json::from_str(include_str!("../../policy/catalog.json")).unwrap();
    catalog["placements"][&req.placement]["lanes"] = serde_json::json!(["fast"]);
    let catalog = Catalog::parse(&catalog.to_string()).unwrap();
    decide(
        "dec_test".into(),
        now(),
        req,
        loaded,
        &catalog,
        common::policy(),
        Some(model),
    )
}

/// What a decision loads when real-time features failed to read.
fn features_down(slow: Option<SlowLane>) -> Loaded {
    Loaded {
        features: Err(tailor_core::errors::ScoreError::OverBudget { ms: 50 }),
        slow: Ok(slow),
        ..loaded([0.0; 4])
    }
}

#[test]
fn without_real_time_features_the_latest_batch_score_decides() {
    let req = request(Purpose::Marketing, "offer");
    let model = Linear::new();
    let r = run(
        &req,
        &features_down(Some(slow(24, Some(batch(0.6, 2))))),
        Some(&model),
    );
    assert_eq!(r.fallback, Some(Fallback::BatchScore));
    assert_eq!(
        r.action, "free_shipping",
        "0.6 clears free shipping's 0.5 with a cart"
    );
    assert_eq!(r.score, Some(0.6));
    assert_eq!(r.model.as_ref().map(|m| m.name.as_str()), Some("hand"));
    let used = r
        .batch_score
        .as_ref()
        .expect("the batch score's age is recorded");
    assert_eq!(used.age_s, 24 * 3600);
    assert_eq!(used.computed_at, now().add_millis(-24 * Timestamp::HOUR));
    // The same thresholds and eligibility as a live score: no cart, no free shipping.
    let r = run(
        &req,
        &features_down(Some(slow(1, Some(batch(0.6, 0))))),
        Some(&model),
    );
    assert_eq!(
        (r.fallback, r.action.as_str()),
        (Some(Fallback::BatchScore), "discount_10")
    );
    assert!(
        r.policy.iter().any(|p| p
            .policies
            .contains(&"free-shipping-needs-a-cart".to_owned())),
        "eligibility was checked: {:?}",
        r.policy
    );
    // No features at all, or only stale ones: the batch score too.
    let none = Loaded {
        features: Ok(None),
        ..features_down(Some(slow(1, Some(batch(0.3, 0)))))
    };
    assert_eq!(
        run(&req, &none, Some(&model)).fallback,
        Some(Fallback::BatchScore)
    );
    let stale = Loaded {
        features: Ok(Some(features(
            [1.0; 4],
            now().add_millis(-40 * Timestamp::DAY),
        ))),
        ..features_down(Some(slow(1, Some(batch(0.3, 0)))))
    };
    let r = run(&req, &stale, Some(&model));
    assert_eq!(
        (r.fallback, r.action.as_str()),
        (Some(Fallback::BatchScore), "discount_10")
    );
    assert_eq!(
        r.snapshot.stale.len(),
        4,
        "the stale inputs are still named"
    );
    // Fresh features decide live; the batch score is not used.
    let live = Loaded {
        slow: Ok(Some(slow(1, Some(batch(0.01, 0))))),
        ..loaded([10.0, 3.0, 2.0, 0.0])
    };
    let r = run(&req, &live, Some(&model));
    assert_eq!((r.fallback, r.action.as_str()), (None, "free_shipping"));
    assert!(r.batch_score.is_none());
}

#[test]
fn without_a_usable_batch_score_the_static_default_stands() {
    let req = request(Purpose::Marketing, "offer");
    let model = Linear::new();
    let default = |loaded: &Loaded, model: Option<&dyn Model>| {
        let r = run(&req, loaded, model);
        assert!(r.batch_score.is_none() && r.score.is_none());
        (r.fallback, r.action)
    };
    let unavailable = (Some(Fallback::StoreUnavailable), "no_offer".to_owned());
    assert_eq!(
        default(&features_down(None), Some(&model)),
        unavailable,
        "no slow lane"
    );
    assert_eq!(
        default(&features_down(Some(slow(1, None))), Some(&model)),
        unavailable,
        "no score for the placement"
    );
    assert_eq!(
        default(
            &features_down(Some(slow(49, Some(batch(0.6, 2))))),
            Some(&model)
        ),
        unavailable,
        "older than the catalog's two days"
    );
    assert_eq!(
        default(
            &features_down(Some(slow(-1, Some(batch(0.6, 2))))),
            Some(&model)
        ),
        unavailable,
        "dated an hour after the decision"
    );
    let mut elsewhere = batch(0.6, 2);
    elsewhere.model.name = "retired".into();
    assert_eq!(
        default(&features_down(Some(slow(1, Some(elsewhere)))), Some(&model)),
        unavailable,
        "from a model not serving now"
    );
    assert_eq!(
        default(&features_down(Some(slow(1, Some(batch(0.6, 2))))), None),
        unavailable,
        "rules only"
    );
    let unapproved = Linear {
        approved: vec!["personalization".into()],
        ..Linear::new()
    };
    assert_eq!(
        default(
            &features_down(Some(slow(1, Some(batch(0.6, 2))))),
            Some(&unapproved)
        ),
        unavailable,
        "the model is not approved for marketing"
    );
    assert_eq!(
        default(
            &Loaded {
                features: Ok(None),
                ..features_down(Some(slow(1, None)))
            },
            Some(&model)
        ),
        (Some(Fallback::NoFeatures), "no_offer".to_owned())
    );
    // A placement that does not read the slow lane never uses it.
    let r = decide_fast_only(
        &req,
        &features_down(Some(slow(1, Some(batch(0.6, 2))))),
        &model,
    );
    assert_eq!(r.fallback, Some(Fallback::StoreUnavailable));
}

#[test]
fn a_batch_score_never_decides_what_consent_forbids() {
    let req = request(Purpose::Marketing, "offer");
    let revoked = Loaded {
        ledger: Ok(marketing_revoked(now().add_millis(-Timestamp::HOUR))),
        ..features_down(Some(slow(2, Some(batch(0.9, 2)))))
    };
    let r = run(&req, &revoked, Some(&Linear::new()));
    assert_eq!(
        (r.fallback, r.action.as_str()),
        (Some(Fallback::NotPermitted), "no_offer")
    );
    // Consent that cannot be read fails closed before any score.
    let unknown = Loaded {
        ledger: Err(tailor_core::errors::ScoreError::OverBudget { ms: 50 }),
        ..features_down(Some(slow(2, Some(batch(0.9, 2)))))
    };
    let r = run(&req, &unknown, Some(&Linear::new()));
    assert_eq!(
        (r.fallback, r.batch_score),
        (Some(Fallback::StoreUnavailable), None)
    );
}

/// The hand model with the slow lane's 90-day value as its last input.
fn with_slow_input() -> Linear {
    let mut model = Linear::new();
    model.names[3] = "value_90d".into();
    model.weights[3] = 0.01;
    model.baseline[3] = 20.0;
    model
}

#[test]
fn each_input_records_its_lane_and_age() {
    let req = request(Purpose::Personalization, "onboarding");
    let model = with_slow_input();
    let mut fresh = loaded([10.0, 3.0, 2.0, 0.0]);
    fresh.slow = Ok(Some(slow(6, None)));
    let r = run(&req, &fresh, Some(&model));
    assert_eq!(r.fallback, None);
    assert_eq!(r.snapshot.values["value_90d"], 120.0);
    assert_eq!(r.snapshot.lanes["value_90d"], Lane::Slow);
    assert_eq!(r.snapshot.lanes["cart_open_items"], Lane::Fast);
    assert_eq!(r.snapshot.lanes.len(), 4, "every input has its lane");
    assert_eq!(r.snapshot.age_s["value_90d"], 6 * 3600);
    assert_eq!(r.snapshot.age_s["cart_open_items"], 0);
    // z = -3 + 0.2·10 + 0.5·3 + 0.8·2 + 0.01·120 = 3.3
    assert!((r.score.unwrap() - 0.964_428).abs() < 1e-4, "{:?}", r.score);
    // A slow lane past its age, or none: the input is stale, at its baseline.
    for gone in [Some(slow(72, None)), None] {
        let mut l = loaded([10.0, 3.0, 2.0, 0.0]);
        l.slow = Ok(gone);
        let r = run(&req, &l, Some(&model));
        assert_eq!(r.snapshot.stale, vec!["value_90d".to_owned()]);
        assert_eq!(r.snapshot.values["value_90d"], 20.0);
        assert_eq!(r.snapshot.lanes["value_90d"], Lane::Slow);
    }
    // A placement that reads only the fast lane does not see it.
    let r = decide_fast_only(&req, &fresh, &model);
    assert_eq!(r.snapshot.stale, vec!["value_90d".to_owned()]);
}

#[test]
fn the_batch_run_scores_each_placement_from_the_rows_decisions_use() {
    let catalog = Catalog::shipped().unwrap();
    let memo = PolicyMemo::new(common::policy());
    let online = features([10.0, 3.0, 2.0, 3.0], now());
    let lane = slow_lane(
        "p_1",
        &History::default(),
        Some(&online),
        now(),
        &catalog,
        &memo,
        Some(&Linear::new()),
    );
    assert_eq!(lane.computed_at, now());
    assert_eq!(lane.features["orders_lifetime"], 0.0);
    // Marketing may not read support history: masked to its baseline 0,
    // z = -3 + 2 + 1.5 + 1.6 = 2.1. Personalization reads severity 3: z = 0.9.
    let offer = &lane.batch["offer"];
    assert!((offer.score - 0.890_903).abs() < 1e-4, "{}", offer.score);
    let onboarding = &lane.batch["onboarding"];
    assert!(
        (onboarding.score - 0.710_950).abs() < 1e-4,
        "{}",
        onboarding.score
    );
    assert_eq!((offer.severity, offer.cart_items), (3, 3));
    // A decision made from it later picks as a live one at the run would.
    let r = run(
        &request(Purpose::Personalization, "onboarding"),
        &features_down(Some(lane.clone())),
        Some(&Linear::new()),
    );
    assert_eq!(
        (r.fallback, r.action.as_str()),
        (Some(Fallback::BatchScore), "human_assisted")
    );
    // No placement the model is not approved for; none from mostly stale inputs.
    let unapproved = Linear {
        approved: vec!["personalization".into()],
        ..Linear::new()
    };
    let lane = slow_lane(
        "p_1",
        &History::default(),
        Some(&online),
        now(),
        &catalog,
        &memo,
        Some(&unapproved),
    );
    assert_eq!(lane.batch.keys().collect::<Vec<_>>(), ["onboarding"]);
    let lane = slow_lane(
        "p_1",
        &History::default(),
        None,
        now(),
        &catalog,
        &memo,
        Some(&Linear::new()),
    );
    assert!(lane.batch.is_empty());
    let lane = slow_lane(
        "p_1",
        &History::default(),
        Some(&online),
        now(),
        &catalog,
        &memo,
        None,
    );
    assert!(lane.batch.is_empty() && lane.features.len() == 4);
}
