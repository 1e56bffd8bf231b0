//! The slow lane on the local platform: the batch run keeps each profile's
//! long-horizon features and batch scores; a decision whose real-time
//! features cannot be read is made by the batch score, and without one by
//! the static default; a revocation or an erasure takes the lane away, and
//! a lane written for a person already erased does not stay.

use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::batch::Record;
use tailor_core::event::Purpose;
use tailor_core::identity::profile_of_user;
use tailor_core::ports::{Table, Topic};
use tailor_core::score::{DecisionRecord, DecisionRequest, Fallback, SlowLane};
use tailor_local::offline::slow;
use tailor_local::{LocalStore, Queue};
use tailor_runtime::http::{Access, Api, Backend, Routes, handle};
use tailor_runtime::{Capabilities, Function, Functions, RunReport, TokioTimer};
use tailor_tests::event;
use tailor_tests::kit::{Call, Fault, Intercept};

type Local = Functions<Intercept<LocalStore>, Queue, TokioTimer>;

/// The functions behind the HTTP API.
struct Serving<'a>(&'a Local);

impl Backend for Serving<'_> {
    type Store = Intercept<LocalStore>;
    type Publisher = Queue;
    type Timer = TokioTimer;

    fn functions(&self) -> &Local {
        self.0
    }

    async fn accept(&self, records: Vec<Record>) -> tailor_core::batch::BatchOutcome {
        self.0.take_in(&records, &mut RunReport::default()).await
    }
}

/// `GET path` with a key of every scope.
async fn get(f: &Local, path: &str) -> (u16, Value) {
    let api = Api {
        routes: Routes::ALL,
        access: Access::keys(tailor_tests::api_keys()),
    };
    let request = http::Request::get(path)
        .header("authorization", format!("Bearer {}", tailor_tests::API_KEY))
        .body(Vec::new())
        .unwrap();
    let response = handle(&Serving(f), &api, request).await;
    let status = response.status().as_u16();
    (status, serde_json::from_slice(response.body()).unwrap())
}

/// Every function over a store whose calls can be made to fail, its
/// enriched events archived to the offline log in `dir`.
fn platform(dir: &tempfile::TempDir) -> Local {
    let functions = Functions::build(
        &tailor_tests::settings(tailor_runtime::ClockMode::Arrival),
        &Function::ALL,
        Capabilities {
            store: Intercept::new(LocalStore::in_memory().unwrap()),
            publisher: Queue::new(),
            timer: TokioTimer,
        },
    )
    .unwrap();
    functions
        .publisher()
        .archive(Topic::Enriched, &dir.path().join("enriched.jsonl"), true)
        .unwrap();
    functions
}

async fn send(f: &Local, events: &[Value]) {
    let records: Vec<Record> = events
        .iter()
        .enumerate()
        .map(|(i, e)| Record {
            id: format!("r{i}"),
            bytes: serde_json::to_vec(e).unwrap(),
            received_at: Timestamp::parse(e["occurred_at"].as_str().unwrap()).unwrap(),
            partition: None,
            may_change_consent: true,
        })
        .collect();
    f.chain(&records, &mut RunReport::default()).await;
    f.publisher().flush().unwrap();
}

fn at(t: &str) -> Timestamp {
    Timestamp::parse(t).unwrap()
}

/// A shopper who ordered once and has two items in the cart.
fn shopper() -> Vec<Value> {
    let subject = json!({"anonymous_id": "a-s", "user_id": "u-s", "session_id": "s-s"});
    let mut events = vec![event(
        "evt-slow-login",
        "login",
        "2026-11-20T09:00:00Z",
        subject.clone(),
        json!({"method": "password"}),
    )];
    for i in 0..6 {
        events.push(event(
            &format!("evt-slow-view{i}"),
            "content_view",
            &format!("2026-11-20T09:1{i}:00Z"),
            subject.clone(),
            json!({"content_id": "c-1", "category": "guides"}),
        ));
    }
    events.push(event(
        "evt-slow-order",
        "checkout",
        "2026-11-20T09:20:00Z",
        subject.clone(),
        json!({"order_id": "o-1", "total": 80.0, "currency": "EUR", "items": 2}),
    ));
    events.push(event("evt-slow-cart", "add_to_cart", "2026-11-20T09:30:00Z", subject, json!({"cart_id": "k", "product_id": "p", "quantity": 2, "unit_price": 40.0, "currency": "EUR"})));
    events
}

fn consent(id: &str, action: &str, t: &str) -> Value {
    let mut e = event(
        id,
        "consent_change",
        t,
        json!({"user_id": "u-s"}),
        json!({"action": action, "purposes": ["personalization"], "source": "settings", "policy_version": "v2"}),
    );
    if action == "erase" {
        e["properties"]["purposes"] = json!([]);
        e["consent"]["purposes"] = json!([]);
    }
    e
}

fn offer() -> DecisionRequest {
    DecisionRequest {
        profile: "user:u-s".into(),
        purpose: Purpose::Marketing,
        placement: "offer".into(),
        region: "eu".into(),
        consent: Purpose::ALL.to_vec(),
        adult: true,
        context: Default::default(),
    }
}

async fn decide(f: &Local, now: &str) -> DecisionRecord {
    let (record, logged) = f.score().unwrap().decide(&offer(), at(now)).await;
    logged.unwrap();
    record
}

fn lanes(f: &Local) -> Vec<(String, SlowLane)> {
    f.store()
        .inner()
        .inner
        .scan(Table::SlowLane)
        .unwrap()
        .into_iter()
        .map(|(k, i)| (k, serde_json::from_slice(&i.value).unwrap()))
        .collect()
}

async fn run_slow_lane(
    f: &Local,
    dir: &tempfile::TempDir,
    t: &str,
) -> tailor_runtime::slow_lane::SlowRun {
    slow::run_over(&dir.path().join("enriched.jsonl"), f, at(t))
        .await
        .unwrap()
}

/// Makes the next reads of the online features fail.
fn features_fail(f: &Local) {
    f.store().inner().on(
        Call::Get,
        Table::Features,
        &(1..=50).collect::<Vec<_>>(),
        Fault::Fail,
    );
}

#[tokio::test]
async fn a_decision_without_readable_features_is_made_by_the_batch_score() {
    let dir = tempfile::tempdir().unwrap();
    let f = platform(&dir);
    send(&f, &shopper()).await;
    // Before any batch run: the safe default.
    features_fail(&f);
    let r = decide(&f, "2026-11-21T10:00:00Z").await;
    assert_eq!(
        (r.fallback, r.action.as_str()),
        (Some(Fallback::StoreUnavailable), "no_offer")
    );
    f.store().inner().clear();

    let run = run_slow_lane(&f, &dir, "2026-11-20T10:00:00Z").await;
    assert_eq!((run.profiles, run.kept, run.erased), (1, 1, 0));
    let kept = lanes(&f);
    assert_eq!(kept.len(), 1);
    let (id, lane) = &kept[0];
    assert_eq!(*id, profile_of_user("u-s"));
    assert_eq!(lane.features["value_lifetime"], 80.0);
    assert_eq!(lane.features["orders_lifetime"], 1.0);
    assert_eq!(lane.computed_at, at("2026-11-20T10:00:00Z"));
    let batch = lane.batch.get("offer").expect("the model serves marketing");
    assert_eq!(batch.cart_items, 2);
    // The person's profile shows what the batch run keeps about them.
    let (status, view) = get(&f, "/v1/profiles/user:u-s").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["slow_lane"]["features"]["value_lifetime"], 80.0);
    assert_eq!(view["slow_lane"]["computed_at"], "2026-11-20T10:00:00.000Z");

    // With fresh features the decision is live, and the lane is not read.
    let live = decide(&f, "2026-11-20T10:05:00Z").await;
    assert_eq!(live.fallback, None);
    assert!(live.batch_score.is_none());

    features_fail(&f);
    let r = decide(&f, "2026-11-21T10:00:00Z").await;
    assert_eq!(r.fallback, Some(Fallback::BatchScore));
    assert_eq!(r.score, Some(batch.score));
    assert_eq!(r.batch_score.as_ref().map(|b| b.age_s), Some(24 * 3600));
    assert_eq!(
        r.model.as_ref().map(|m| m.name.as_str()),
        Some("conversion")
    );
    assert_ne!(r.action, "", "an action was chosen");
    // Past the catalog's two days, the batch score is not used.
    let r = decide(&f, "2026-11-23T10:00:00Z").await;
    assert_eq!(
        (r.fallback, r.action.as_str()),
        (Some(Fallback::StoreUnavailable), "no_offer")
    );
}

#[tokio::test]
async fn a_revocation_and_an_erasure_take_the_slow_lane_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let f = platform(&dir);
    send(&f, &shopper()).await;
    run_slow_lane(&f, &dir, "2026-11-20T10:00:00Z").await;
    assert_eq!(lanes(&f).len(), 1);
    send(
        &f,
        &[consent("evt-slow-revoke", "revoke", "2026-11-20T11:00:00Z")],
    )
    .await;
    assert!(lanes(&f).is_empty(), "revoked: the lane went");
    let completion = f
        .store()
        .inner()
        .inner
        .scan(Table::Audit)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "consent/evt-slow-revoke")
        .map(|(_, i)| serde_json::from_slice::<Value>(&i.value).unwrap())
        .expect("the revocation's completion");
    assert_eq!(completion["steps"]["slow_lanes_deleted"], 1);
    // Events after the revocation feed the lane again when the run comes.
    send(
        &f,
        &[event(
            "evt-slow-later",
            "content_view",
            "2026-11-20T12:00:00Z",
            json!({"user_id": "u-s"}),
            json!({"content_id": "c-2", "category": "guides"}),
        )],
    )
    .await;
    run_slow_lane(&f, &dir, "2026-11-20T13:00:00Z").await;
    let kept = lanes(&f);
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].1.features["orders_lifetime"], 0.0,
        "the order before the revocation is gone"
    );

    send(
        &f,
        &[consent("evt-slow-erase", "erase", "2026-11-20T14:00:00Z")],
    )
    .await;
    assert!(lanes(&f).is_empty(), "erased: the lane went");
    // A batch run that read the log before the erasure writes its lane
    // after it: the lane is deleted again at once.
    let stale = SlowLane {
        features: Default::default(),
        batch: Default::default(),
        ..kept[0].1.clone()
    };
    let tables = f.score().unwrap().tables;
    let members = ["user:u-s".to_owned(), "anon:a-s".to_owned()];
    assert!(!tables.keep_slow_lane(&stale, &members).await.unwrap());
    assert!(lanes(&f).is_empty());
    // And the next run keeps nothing of the person.
    let run = run_slow_lane(&f, &dir, "2026-11-20T15:00:00Z").await;
    assert_eq!(run.kept, 0);
    assert!(lanes(&f).is_empty());
}
