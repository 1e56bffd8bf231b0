//! An HTTP answer tells the truth: a request is acknowledged only when every
//! step it triggered is final, and one that is not is processed again when
//! it is sent again.

use serde_json::{Value, json};
use tailor_core::ports::Table;
use tailor_local::{LocalStore, Queue};
use tailor_runtime::http::{Access, Api, Backend, Routes, handle};
use tailor_runtime::{Capabilities, ExpiryClock, Functions, RunReport, TokioTimer};
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
        &tailor_local::STREAM,
        Capabilities {
            store: Intercept::new(LocalStore::in_memory().unwrap()),
            publisher: Queue::new(),
            timer: TokioTimer,
            clock: ExpiryClock::new(tailor_runtime::ClockMode::Wall),
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
