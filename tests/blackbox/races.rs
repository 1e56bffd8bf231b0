//! Erasure against the steps running beside it: consent erasing a person
//! while enrich is part-way through a late event of theirs, in each order
//! the two can interleave. Both run for real over one store; a store call
//! held by the test ([`Intercept::pause`]) opens the gap the other runs
//! in, without sleeps. Whatever the order, nothing of the person remains
//! and the late event goes no further.

use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::identity::profile_of_user;
use tailor_core::ports::{Clock, Table, Topic};
use tailor_local::{LocalStore, Queue};
use tailor_runtime::{
    Capabilities, ClockMode, Function, Functions, Inbox, Replay, RunReport, Stage, TokioTimer,
};
use tailor_tests::event;
use tailor_tests::kit::{Call, Intercept};

const USER: &str = "racer0zq";

fn anon(device: usize) -> String {
    format!("anon0x{device}zq")
}

fn at(minute: i64) -> String {
    Timestamp::parse("2026-11-20T08:00:00Z")
        .unwrap()
        .add_millis(minute * Timestamp::MINUTE)
        .to_string()
}

fn login(id: &str, minute: i64, device: usize) -> Value {
    event(
        id,
        "login",
        &at(minute),
        json!({"anonymous_id": anon(device), "user_id": USER}),
        json!({"method": "password"}),
    )
}

fn erase(id: &str, minute: i64, subject: Value) -> Value {
    let mut e = event(
        id,
        "consent_change",
        &at(minute),
        subject,
        json!({"action": "erase", "purposes": [], "source": "settings", "policy_version": "v2"}),
    );
    e["consent"]["purposes"] = json!([]);
    e
}

/// The stream functions over an in-memory store whose calls can be held.
struct Racing {
    runtime: tokio::runtime::Runtime,
    functions: Functions<Intercept<LocalStore>, Queue, TokioTimer>,
    replay: Replay,
}

impl Racing {
    fn new() -> Self {
        let functions = Functions::build(
            &tailor_tests::settings(ClockMode::Arrival),
            &Function::STREAM,
            Capabilities {
                store: Intercept::new(LocalStore::in_memory().unwrap()),
                publisher: Queue::new(),
                timer: TokioTimer,
            },
        )
        .unwrap();
        Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            functions,
            replay: Replay::new(""),
        }
    }

    fn invoke(&self, stage: Stage, records: &[Record]) -> BatchOutcome {
        let outcome = self.runtime.block_on(self.functions.invoke(stage, records));
        assert!(outcome.retries().is_empty(), "{:?}", outcome.report);
        outcome
    }

    fn take(&self, topic: Topic) -> Vec<Record> {
        let now = self.functions.clock().now();
        self.runtime
            .block_on(self.functions.publisher().take(topic, now))
    }

    /// `events` through every function.
    fn send(&mut self, events: &[Value]) {
        let records = self.lines(events);
        self.runtime
            .block_on(self.functions.chain(&records, &mut RunReport::default()));
    }

    /// An erasure request through ingest and enrich: consent's record of it.
    fn erasure(&mut self, request: &Value) -> Vec<Record> {
        let records = self.lines(std::slice::from_ref(request));
        self.invoke(Stage::Ingest, &records);
        let ingested = self.take(Topic::Ingested);
        self.invoke(Stage::Enrich, &ingested);
        let erasure = self.take(Topic::ConsentChanges);
        assert_eq!(erasure.len(), 1);
        erasure
    }

    /// An event through ingest: enrich's record of it.
    fn ingested(&mut self, event: &Value) -> Vec<Record> {
        let records = self.lines(std::slice::from_ref(event));
        self.invoke(Stage::Ingest, &records);
        self.take(Topic::Ingested)
    }

    fn lines(&mut self, events: &[Value]) -> Vec<Record> {
        let lines: Vec<Vec<u8>> = events
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap())
            .collect();
        self.replay.records(&lines)
    }

    /// `first` over `records`, held at its first `call` on `table` while
    /// `second` runs over `others`: both outcomes.
    fn interleave(
        &self,
        (first, records): (Stage, &[Record]),
        (call, table): (Call, Table),
        (second, others): (Stage, &[Record]),
    ) -> (BatchOutcome, BatchOutcome) {
        let held = self.functions.store().inner().pause(call, table, 1);
        let race = async {
            tokio::join!(self.functions.invoke(first, records), async {
                held.reached().await;
                let outcome = self.functions.invoke(second, others).await;
                held.resume();
                outcome
            })
        };
        self.runtime
            .block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(60), race).await
            })
            .expect("the held call is reached")
    }

    /// What is kept under the person's keys and profile: identity nodes,
    /// feature state, consent ledgers, subject keys.
    fn traces(&self) -> Vec<String> {
        let store = &self.functions.store().inner().inner;
        let profile = profile_of_user(USER);
        [
            Table::Identity,
            Table::FeatureInputs,
            Table::Features,
            Table::Consent,
            Table::Subjects,
        ]
        .into_iter()
        .flat_map(|t| store.scan(t).unwrap())
        .map(|(key, _)| key)
        .filter(|key| key.contains(USER) || key.contains("anon0x") || key.contains(&profile))
        .collect()
    }

    /// Enrich's outcome accepted the late event but sent nothing on, and
    /// once the rest of the chain has run, nothing of the person remains.
    fn assert_erased(&self, enriched: &BatchOutcome, erased: &BatchOutcome) {
        assert_eq!(erased.report.accepted, 1, "{:?}", erased.report);
        assert_eq!(enriched.report.accepted, 1, "{:?}", enriched.report);
        self.runtime
            .block_on(self.functions.drain(&mut RunReport::default()));
        assert_eq!(self.traces(), Vec::<String>::new(), "the person remains");
    }
}

/// Enrich takes a late sign-in of the person's, from before their erasure
/// and on a second device, and is held at its first identity write while
/// the erasure (of `subject`) runs whole.
fn enrich_around_an_erasure(p: &mut Racing, subject: Value) {
    let erasure = p.erasure(&erase("evt-race-erase", 10, subject));
    let late = p.ingested(&login("evt-race-late", 5, 1));
    let (enriched, erased) = p.interleave(
        (Stage::Enrich, &late),
        (Call::Put, Table::Identity),
        (Stage::Consent, &erasure),
    );
    assert!(p.take(Topic::Enriched).is_empty(), "the late event went on");
    p.assert_erased(&enriched, &erased);
}

/// The erasure lands between enrich's read of the person's nodes and its
/// write of them: the write meets the deleted node and loses its race, and
/// the retry must read the erasure too rather than the batch's first read.
#[test]
fn an_erasure_landing_while_enrich_resolves_is_not_undone() {
    let mut p = Racing::new();
    p.send(&[login("evt-race-login", 1, 0)]);
    assert!(
        p.traces().contains(&format!("user:{USER}")),
        "{:?}",
        p.traces()
    );
    enrich_around_an_erasure(&mut p, json!({"user_id": USER, "anonymous_id": anon(0)}));
}

/// The erasure runs whole between enrich's read and its first write, for a
/// person it found no node of (their first sign-in arrives late): enrich's
/// writes create nodes and meet nothing, so it must read the tombstones
/// again once it has created one, and take its writes back.
#[test]
fn a_late_first_sign_in_enriched_around_an_erasure_is_taken_back() {
    enrich_around_an_erasure(&mut Racing::new(), json!({"user_id": USER}));
}

/// Enrich runs whole between the erasure's first reads and its first
/// write: a plan from those reads knows nothing of the nodes enrich
/// creates, and enrich reads no tombstone yet, so the erasure must write
/// the tombstones first and read what to erase after them.
#[test]
fn nodes_created_while_an_erasure_plans_are_erased_with_the_person() {
    let mut p = Racing::new();
    let erasure = p.erasure(&erase("evt-race-erase", 10, json!({"user_id": USER})));
    let late = p.ingested(&login("evt-race-late", 5, 1));
    let (erased, enriched) = p.interleave(
        (Stage::Consent, &erasure),
        (Call::Put, Table::ErasureIndex),
        (Stage::Enrich, &late),
    );
    let sent = p.take(Topic::Enriched);
    assert_eq!(sent.len(), 1, "enrich saw no erasure yet and sent it on");
    p.invoke(Stage::Features, &sent);
    p.assert_erased(&enriched, &erased);
}

/// Features folds a late event of the person's, enriched before the
/// erasure, while the erasure runs whole in the gap between its reads and
/// its first write.
fn features_around_an_erasure(p: &mut Racing, request: &Value) {
    let erasure = p.erasure(request);
    let late = p.ingested(&login("evt-race-late", 5, 1));
    p.invoke(Stage::Enrich, &late);
    let enriched = p.take(Topic::Enriched);
    assert_eq!(enriched.len(), 1);
    let (folded, erased) = p.interleave(
        (Stage::Features, &enriched),
        (Call::Put, Table::Features),
        (Stage::Consent, &erasure),
    );
    p.assert_erased(&folded, &erased);
}

/// The person's inputs existed when features read them: its write meets
/// the erasure's delete and loses the race, and the retry must read the
/// erasure too.
#[test]
fn features_racing_an_erasure_does_not_write_the_person_back() {
    let mut p = Racing::new();
    p.send(&[login("evt-race-login", 1, 0)]);
    features_around_an_erasure(
        &mut p,
        &erase(
            "evt-race-erase",
            10,
            json!({"user_id": USER, "anonymous_id": anon(0)}),
        ),
    );
}

/// The person had no inputs yet: features' first write of them meets
/// nothing, so it must read the tombstones again once it has created one.
#[test]
fn features_first_inputs_of_a_person_erased_meanwhile_are_taken_back() {
    let mut p = Racing::new();
    features_around_an_erasure(
        &mut p,
        &erase("evt-race-erase", 10, json!({"user_id": USER})),
    );
}

/// A late grant of the person's, enriched before their erasure and handed
/// to consent after it: consent must not start a ledger (nor an audit
/// record's subject key) for the person again.
#[test]
fn a_consent_change_enriched_before_an_erasure_and_applied_after_it_is_dropped() {
    let mut p = Racing::new();
    p.send(&[login("evt-race-login", 1, 0)]);
    let erasure = p.erasure(&erase(
        "evt-race-erase",
        10,
        json!({"user_id": USER, "anonymous_id": anon(0)}),
    ));
    let mut grant = erase(
        "evt-race-grant",
        5,
        json!({"user_id": USER, "anonymous_id": anon(0)}),
    );
    grant["properties"]["action"] = json!("grant");
    grant["properties"]["purposes"] = json!(["personalization"]);
    let grant = p.erasure(&grant);
    let erased = p.invoke(Stage::Consent, &erasure);
    let granted = p.invoke(Stage::Consent, &grant);
    p.assert_erased(&granted, &erased);
}
