//! An HTTP answer tells the truth: a request is acknowledged only when every
//! step it triggered is final, and one that is not is processed again when
//! it is sent again, alone when it alone failed.

use serde_json::{Value, json};
use tailor_core::ports::Table;
use tailor_local::{LocalStore, Queue};
use tailor_runtime::http::{Access, Api, Backend, Routes, handle};
use tailor_runtime::{Capabilities, Functions, RunReport, TokioTimer};
use tailor_tests::kit::{Call, Fault, Intercept};
use tailor_tests::{API_KEY, api_keys, event, settings};

type Local = Functions<Intercept<LocalStore>, Queue, TokioTimer>;

/// The whole pipeline over a store whose calls can be made to fail.
struct Faulty(Local);

impl Backend for Faulty {
    type Store = Intercept<LocalStore>;
    type Publisher = Queue;
    type Timer = TokioTimer;

    fn functions(&self) -> &Local {
        &self.0
    }

    async fn accept(
        &self,
        records: Vec<tailor_core::batch::Record>,
    ) -> tailor_core::batch::BatchOutcome {
        self.0.take_in(&records, &mut RunReport::default()).await
    }
}

fn faulty() -> Faulty {
    let settings = settings(tailor_runtime::ClockMode::Wall);
    let functions = Functions::build(
        &settings,
        &tailor_runtime::Function::STREAM,
        Capabilities {
            store: Intercept::new(LocalStore::in_memory().unwrap()),
            publisher: Queue::new(),
            timer: TokioTimer,
        },
    )
    .unwrap();
    Faulty(functions)
}

async fn post(backend: &Faulty, path: &str, body: &Value) -> (u16, Value) {
    let api = Api {
        routes: Routes::ALL,
        access: Access::keys(api_keys()),
    };
    let request = http::Request::post(path)
        .header("authorization", format!("Bearer {API_KEY}"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .unwrap();
    let response = handle(backend, &api, request).await;
    let status = response.status().as_u16();
    (status, serde_json::from_slice(response.body()).unwrap())
}

async fn post_lines(backend: &Faulty, lines: &[Vec<u8>]) -> (u16, Vec<Value>) {
    let api = Api {
        routes: Routes::ALL,
        access: Access::keys(api_keys()),
    };
    let request = http::Request::post("/v1/events")
        .header("authorization", format!("Bearer {API_KEY}"))
        .header("content-type", "application/x-ndjson")
        .body(lines.join(&b'\n'))
        .unwrap();
    let response = handle(backend, &api, request).await;
    let status = response.status().as_u16();
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    let outcomes = body["records"]
        .as_array()
        .unwrap_or_else(|| panic!("{status} {body}"))
        .iter()
        .map(|r| r["outcome"].clone())
        .collect();
    (status, outcomes)
}

fn erase() -> Value {
    use tailor_core::ports::Clock;
    let now = tailor_runtime::WallClock.now().to_string();
    let mut e = event(
        "evt-answer-erase-01",
        "consent_change",
        &now,
        json!({"user_id": "u-answer"}),
        json!({"action": "erase", "purposes": [], "source": "settings", "policy_version": "v2"}),
    );
    e["consent"]["purposes"] = json!([]);
    e
}

#[tokio::test]
async fn an_erasure_whose_propagation_failed_is_503_and_its_resend_is_carried_out() {
    let backend = faulty();
    let store = backend.0.store().inner();
    // Every audit write fails: consent cannot record its completion.
    store.on(
        Call::Put,
        Table::Audit,
        &(1..=20).collect::<Vec<_>>(),
        Fault::Fail,
    );
    let erase = erase();
    let (status, body) = post(&backend, "/v1/consent", &erase).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["completion"], Value::Null);
    store.clear();
    // The resend is not a repeat: the erasure runs and is recorded.
    let (status, body) = post(&backend, "/v1/consent", &erase).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["completion"]["action"], "erase", "{body}");
    // And from then on it is a repeat.
    let (status, body) = post(&backend, "/v1/consent", &erase).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["records"][0]["outcome"],
        json!({"disposition": "accepted", "duplicate": true}),
        "{body}"
    );
}

#[tokio::test]
async fn a_lone_record_a_later_step_set_aside_is_answered_with_its_reason() {
    let backend = faulty();
    let first = erase();
    assert_eq!(post(&backend, "/v1/consent", &first).await.0, 202);
    // Another request under the same id, from another kind of producer:
    // ingest takes it, consent refuses it as a conflict.
    let mut other = first;
    other["source"]["kind"] = json!("support");
    other["subject"] = json!({"user_id": "u-someone-else"});
    let (status, body) = post(&backend, "/v1/consent", &other).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["records"][0]["outcome"]["reason"], "event_id_reused",
        "{body}"
    );
    assert_eq!(body["completion"], Value::Null, "{body}");
}

#[tokio::test]
async fn a_store_error_on_one_records_ledger_entry_asks_again_for_that_record_alone() {
    let backend = faulty();
    let store = backend.0.store().inner();
    // The second event's ledger entry cannot be written.
    store.on(Call::Put, Table::Dedup, &[2], Fault::Fail);
    let lines = tailor_tests::cloud::three_users_views();
    let (status, outcomes) = post_lines(&backend, &lines).await;
    assert_eq!(status, 503, "{outcomes:?}");
    let retry = json!({"disposition": "retry"});
    let accepted = json!({"disposition": "accepted", "duplicate": false});
    for (i, outcome) in outcomes.iter().enumerate() {
        let expected = if i == 1 { &retry } else { &accepted };
        assert_eq!(outcome, expected, "record {i}: {outcomes:?}");
    }
    store.clear();
    // Sent again, the batch: that record is taken, the rest are repeats.
    let (status, outcomes) = post_lines(&backend, &lines).await;
    assert_eq!(status, 202, "{outcomes:?}");
    let repeat = json!({"disposition": "accepted", "duplicate": true});
    for (i, outcome) in outcomes.iter().enumerate() {
        let expected = if i == 1 { &accepted } else { &repeat };
        assert_eq!(outcome, expected, "record {i}: {outcomes:?}");
    }
}
