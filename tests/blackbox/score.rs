//! Decisions on the local platform: from events to a logged, explained
//! decision with the shipped model; outcomes carrying the decision id flow
//! back through ingest.

use serde_json::json;
use tailor_core::Timestamp;
use tailor_core::event::Purpose;
use tailor_core::identity::profile_of_user;
use tailor_core::ports::Table;
use tailor_core::score::{DecisionRequest, Fallback};
use tailor_tests::{event, spawn_pipeline_with_model, spawn_server};

fn request(profile: &str, purpose: Purpose, placement: &str) -> DecisionRequest {
    DecisionRequest {
        profile: profile.into(),
        purpose,
        placement: placement.into(),
        region: "eu".into(),
        consent: Purpose::ALL.to_vec(),
        adult: true,
        context: Default::default(),
    }
}

fn shopper_events() -> Vec<serde_json::Value> {
    let subject = json!({"anonymous_id": "a-d", "user_id": "u-d", "session_id": "s-d"});
    let mut events = vec![event(
        "evt-dec-login",
        "login",
        "2026-11-20T09:00:00Z",
        subject.clone(),
        json!({"method": "password"}),
    )];
    for i in 0..6 {
        events.push(event(
            &format!("evt-dec-view{i}"),
            "content_view",
            &format!("2026-11-20T09:1{i}:00Z"),
            subject.clone(),
            json!({"content_id": "c-1", "category": "guides"}),
        ));
    }
    events.push(event("evt-dec-cart1", "add_to_cart", "2026-11-20T09:30:00Z", subject, json!({"cart_id": "k", "product_id": "p", "quantity": 2, "unit_price": 40.0, "currency": "EUR"})));
    events
}

#[test]
fn a_decision_is_made_from_the_profiles_features_logged_and_explained() {
    let mut p = spawn_pipeline_with_model();
    p.send(&shopper_events());
    let now = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
    let record = p.decide(&request("anon:a-d", Purpose::Marketing, "offer"), now);
    assert_eq!(
        record.profile_id,
        profile_of_user("u-d"),
        "any linked key resolves"
    );
    assert_eq!(record.fallback, None);
    let model = record.model.clone().unwrap();
    assert_eq!(
        (model.name.as_str(), model.engine.as_str()),
        ("conversion", "tract")
    );
    assert!(record.score.is_some_and(|s| (0.0..=1.0).contains(&s)));
    assert_eq!(record.snapshot.values["cart_open_items"], 2.0);
    assert_eq!(
        record.snapshot.masked,
        vec!["support_max_severity_30d".to_owned()]
    );
    assert!(!record.signals.is_empty() && !record.reasons.is_empty());
    let logged = p.table(Table::Decisions);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].0, record.decision_id);
    assert_eq!(
        p.logged_decision(&record.decision_id).as_ref(),
        Some(&record)
    );
}

#[test]
fn a_new_profile_gets_the_safe_default() {
    let p = spawn_pipeline_with_model();
    let record = p.decide(
        &request("user:nobody", Purpose::Personalization, "onboarding"),
        Timestamp::parse("2026-11-20T10:00:00Z").unwrap(),
    );
    assert_eq!(record.fallback, Some(Fallback::NoFeatures));
    assert_eq!(record.action, "standard_onboarding");
}

#[test]
fn decisions_stop_being_personalized_after_a_revocation() {
    let mut p = spawn_pipeline_with_model();
    p.send(&shopper_events());
    let mut revoke = event(
        "evt-dec-revoke",
        "consent_change",
        "2026-11-20T09:45:00Z",
        json!({"user_id": "u-d"}),
        json!({"action": "revoke", "purposes": ["marketing"], "source": "settings", "policy_version": "v1"}),
    );
    revoke["consent"]["purposes"] = json!([]);
    p.send(&[revoke]);
    let record = p.decide(
        &request("user:u-d", Purpose::Marketing, "offer"),
        Timestamp::parse("2026-11-20T10:00:00Z").unwrap(),
    );
    assert_eq!(record.fallback, Some(Fallback::NotPermitted));
    assert_eq!(record.action, "no_offer");
}

#[test]
fn outcomes_carrying_the_decision_id_are_accepted_back_through_ingest() {
    let mut p = spawn_pipeline_with_model();
    p.send(&shopper_events());
    let record = p.decide(
        &request("user:u-d", Purpose::Marketing, "offer"),
        Timestamp::parse("2026-11-20T10:00:00Z").unwrap(),
    );
    let outcome = event(
        "evt-dec-click",
        "outcome",
        "2026-11-20T10:01:00Z",
        json!({"user_id": "u-d"}),
        json!({"decision_id": record.decision_id, "kind": "click", "placement": "offer", "action": record.action}),
    );
    let result = p.send(&[outcome]);
    assert_eq!(
        result.dispositions[0].1,
        tailor_core::disposition::Disposition::ACCEPTED
    );
}

#[test]
fn the_server_decides_and_returns_logged_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server(dir.path());
    for e in shopper_events() {
        assert_eq!(server.post("/v1/events", &e).0, 202);
    }
    let (status, answer) = server.post(
        "/v1/decide",
        &serde_json::to_value(request("user:u-d", Purpose::Personalization, "onboarding")).unwrap(),
    );
    assert_eq!(status, 200, "{answer}");
    let id = answer["decision_id"].as_str().unwrap();
    let (status, fetched) = server.get(&format!("/v1/decisions/{id}"));
    assert_eq!(status, 200);
    // The answer is the logged decision as its caller acts on it.
    for field in [
        "decision_id",
        "at",
        "purpose",
        "placement",
        "action",
        "reasons",
        "model",
        "fallback",
    ] {
        assert_eq!(answer[field], fetched[field], "{field}");
    }
    assert!(fetched["snapshot"].is_object(), "{fetched}");
    assert_eq!(server.get("/v1/decisions/dec_missing").0, 404);
    assert_eq!(
        server.post("/v1/decide", &json!({"profile": "user:u-d"})).0,
        422
    );
}

/// A pipeline whose enriched events are archived to a log, with three
/// offer decisions made: two personalized for a shopper, one fallback.
struct Decided {
    _dir: tempfile::TempDir,
    log: std::path::PathBuf,
    p: tailor_tests::PipelineHandle,
    shown: tailor_core::score::DecisionRecord,
    other: tailor_core::score::DecisionRecord,
    fallback: tailor_core::score::DecisionRecord,
}

fn decided() -> Decided {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("enriched.jsonl");
    let mut p = spawn_pipeline_with_model();
    p.pipeline.archive_enriched(&log, true).unwrap();
    p.send(&shopper_events());
    let now = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
    let shown = p.decide(&request("user:u-d", Purpose::Marketing, "offer"), now);
    let other = p.decide(&request("user:u-d", Purpose::Marketing, "offer"), now);
    let fallback = p.decide(&request("user:nobody", Purpose::Marketing, "offer"), now);
    Decided {
        _dir: dir,
        log,
        p,
        shown,
        other,
        fallback,
    }
}

/// An outcome event for a decision.
fn outcome(id: &str, decision: &str, kind: &str) -> serde_json::Value {
    event(
        id,
        "outcome",
        "2026-11-20T10:05:00Z",
        json!({"user_id": "u-d"}),
        json!({"decision_id": decision, "kind": kind}),
    )
}

#[test]
fn outcomes_join_their_decisions_by_action_and_segment() {
    let Decided {
        _dir,
        log,
        mut p,
        shown,
        other,
        fallback,
    } = decided();
    p.send(&[
        outcome("evt-out-0001", &shown.decision_id, "click"),
        outcome("evt-out-0002", &shown.decision_id, "convert"),
        outcome("evt-out-0003", &shown.decision_id, "convert"),
        outcome("evt-out-0004", &other.decision_id, "dismiss"),
        outcome("evt-out-0005", "dec_unknown", "convert"),
    ]);
    p.pipeline.flush().unwrap();
    let decisions = tailor_local::offline::outcomes::decisions(p.pipeline.store()).unwrap();
    let events = tailor_local::offline::backfill::read_log(&log).unwrap();
    let table = tailor_local::offline::outcomes::join(&decisions, &events);
    let personalized = table[&(
        "offer".to_owned(),
        shown.action.clone(),
        "personalized".to_owned(),
    )];
    assert_eq!(personalized.decisions, 2);
    assert_eq!(
        (
            personalized.clicks,
            personalized.conversions,
            personalized.dismissals
        ),
        (1, 1, 1),
        "each kind once per decision"
    );
    assert!((personalized.conversion_rate() - 0.5).abs() < 1e-9);
    let no_features = table[&(
        "offer".to_owned(),
        fallback.action.clone(),
        "no_features".to_owned(),
    )];
    assert_eq!((no_features.decisions, no_features.conversions), (1, 0));
}

#[test]
fn a_configured_challenger_is_logged_with_every_scored_decision() {
    let mut settings = tailor_tests::settings(tailor_runtime::ClockMode::Arrival);
    settings.model.challenger = Some(tailor_tests::model_dir());
    let mut p = tailor_tests::spawn_with(&settings, &tailor_runtime::Function::ALL);
    p.send(&shopper_events());
    let record = p.decide(
        &request("user:u-d", Purpose::Marketing, "offer"),
        Timestamp::parse("2026-11-20T10:00:00Z").unwrap(),
    );
    let shadow = record.challenger.clone().expect("challenger scored");
    // The same model on the same inputs: the same score, and it changed nothing.
    assert!((shadow.score.unwrap() - record.score.unwrap()).abs() < 1e-6);
    let logged = p.logged_decision(&record.decision_id).unwrap();
    assert_eq!(logged.challenger.unwrap().model.name, "conversion");
}

#[test]
fn the_decision_export_labels_each_decision_with_its_outcomes() {
    use tailor_core::event::OutcomeKind;
    use tailor_local::offline::export::{MODEL_FEATURES, decision_rows};

    let Decided {
        _dir,
        log,
        mut p,
        shown,
        other,
        fallback,
    } = decided();
    assert_eq!(fallback.fallback, Some(Fallback::NoFeatures));
    p.send(&[
        outcome("evt-out-0101", &shown.decision_id, "impression"),
        outcome("evt-out-0102", &shown.decision_id, "convert"),
        outcome("evt-out-0103", &other.decision_id, "unsubscribe"),
        outcome("evt-out-0104", &fallback.decision_id, "click"),
    ]);
    p.pipeline.flush().unwrap();
    let decisions = tailor_local::offline::outcomes::decisions(p.pipeline.store()).unwrap();
    let events = tailor_local::offline::backfill::read_log(&log).unwrap();
    let rows = decision_rows(&decisions, &events);

    assert_eq!(rows.len(), 2, "the fallback without inputs is not a row");
    let row = |id: &str| rows.iter().find(|r| r.decision_id == id).unwrap();
    let first = row(&shown.decision_id);
    assert_eq!(first.action, shown.action);
    assert_eq!(first.segment, "personalized");
    assert_eq!(first.score, shown.score);
    let logged: Vec<f64> = MODEL_FEATURES
        .iter()
        .map(|f| shown.snapshot.values[*f])
        .collect();
    assert_eq!(first.values, logged, "features as the decision saw them");
    assert!(first.reported(OutcomeKind::Impression) && first.reported(OutcomeKind::Convert));
    assert!(!first.reported(OutcomeKind::Click) && !first.reported(OutcomeKind::Unsubscribe));
    let second = row(&other.decision_id);
    assert!(second.reported(OutcomeKind::Unsubscribe));
    assert!(!second.reported(OutcomeKind::Convert));

    let mut csv = Vec::new();
    tailor_local::offline::export::write_decisions_csv(&rows, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with(&shown.decision_id))
        .unwrap();
    assert!(line.ends_with(",1,0,1,0,0"), "{line}");
}

#[test]
fn a_decision_made_before_an_erasure_no_longer_names_the_person() {
    let mut p = spawn_pipeline_with_model();
    p.send(&shopper_events());
    let now = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
    let record = p.decide(&request("user:u-d", Purpose::Marketing, "offer"), now);
    let id = record.decision_id.clone();
    assert_eq!(
        p.logged_decision(&id).as_ref(),
        Some(&record),
        "readable while held"
    );
    // The log keeps none of it in the clear.
    let (_, logged) = p
        .table(Table::Decisions)
        .into_iter()
        .find(|(k, _)| *k == id)
        .unwrap();
    let text = logged.to_string();
    assert!(!text.contains(&record.profile_id), "{text}");
    assert!(!text.contains("count_7d"), "{text}");
    let mut erase = event(
        "evt-dec-erase",
        "consent_change",
        "2026-11-20T11:00:00Z",
        json!({"user_id": "u-d"}),
        json!({"action": "erase", "purposes": [], "source": "settings", "policy_version": "v2"}),
    );
    erase["consent"]["purposes"] = json!([]);
    p.send(&[erase]);
    assert_eq!(
        p.logged_decision(&id),
        None,
        "an erased person's decision is no longer held"
    );
    assert!(
        p.table(Table::Subjects).is_empty(),
        "{:?}",
        p.table(Table::Subjects)
    );
    let audit = p.table(Table::Audit);
    let (_, completion) = audit
        .iter()
        .find(|(k, _)| k == "consent/evt-dec-erase")
        .unwrap();
    assert_eq!(completion["steps"]["subject_keys_deleted"], json!(1));
}

/// Training and serving read the same thing: a training row exported at
/// time T holds exactly the inputs a decision at T reads, for every
/// profile, with windows measured back from T in both.
#[test]
fn a_training_row_at_t_holds_what_a_decision_at_t_reads() {
    use tailor_local::offline::backfill::{FinalState, read_log};
    use tailor_local::offline::export::{MODEL_FEATURES, training_rows};

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("enriched.jsonl");
    let mut p = spawn_pipeline_with_model();
    p.pipeline.archive_enriched(&log, true).unwrap();
    p.send_batches(&tailor_tests::generated(40, 14, 33), 100);
    p.pipeline.flush().unwrap();
    let events = read_log(&log).unwrap();
    let newest = events.iter().map(|e| e.ingested.occurred_at).max().unwrap();
    // Five hours after the last event: the hour windows have emptied.
    let t = newest.add_millis(5 * Timestamp::HOUR);
    let state = FinalState::read(p.pipeline.store(), p.pipeline.functions().tokens()).unwrap();
    let rows = training_rows(&events, &state, p.pipeline.policy(), t, 7 * Timestamp::DAY);
    assert!(rows.len() > 10, "{} rows", rows.len());
    let mut compared = 0;
    for row in &rows {
        let record = p.decide(
            &request(&row.profile_id, Purpose::Personalization, "onboarding"),
            t,
        );
        if record.snapshot.values.is_empty() {
            // Fell back before reading features (not permitted, stale).
            continue;
        }
        for (name, exported) in MODEL_FEATURES.iter().zip(&row.values) {
            if record.snapshot.masked.iter().any(|m| m == name)
                || record.snapshot.stale.iter().any(|m| m == name)
            {
                continue;
            }
            let read = record.snapshot.values[*name];
            assert!(
                (read - exported).abs() <= 1e-3 * exported.abs().max(1.0),
                "{} {name}: decision read {read}, export holds {exported}",
                row.profile_id
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "only {compared} inputs compared");
}
