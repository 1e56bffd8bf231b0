//! A Lambda Runtime API server on loopback, and function processes that
//! poll it: the function binaries run exactly as Lambda runs them.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify, oneshot};

type Answer = Result<Value, Value>;

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<(String, Value)>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
}

/// The Runtime API server.
pub struct Runtime {
    addr: SocketAddr,
    shared: Arc<Shared>,
    ids: AtomicU64,
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    loop {
        let notified = s.queued.notified();
        if let Some((id, event)) = s.queue.lock().await.pop_front() {
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 60_000;
            let mut headers = HeaderMap::new();
            headers.insert(
                "Lambda-Runtime-Aws-Request-Id",
                HeaderValue::from_str(&id).unwrap(),
            );
            headers.insert(
                "Lambda-Runtime-Deadline-Ms",
                HeaderValue::from_str(&deadline.to_string()).unwrap(),
            );
            headers.insert(
                "Lambda-Runtime-Invoked-Function-Arn",
                HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:tailor"),
            );
            headers.insert(
                "Lambda-Runtime-Trace-Id",
                HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
            );
            return (headers, event.to_string()).into_response();
        }
        notified.await;
    }
}

async fn respond(s: &Shared, id: &str, answer: Answer) -> StatusCode {
    match s.waiting.lock().await.remove(id) {
        Some(tx) => {
            let _ = tx.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    respond(&s, &id, Ok(value)).await
}

async fn error(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: String) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    respond(&s, &id, Err(value)).await
}

/// An init error is accepted; the process then exits, and the tests read
/// why from its stderr.
async fn init_error() -> StatusCode {
    StatusCode::ACCEPTED
}

impl Runtime {
    /// Starts a server on a free loopback port.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            shared,
            ids: AtomicU64::new(0),
        }
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Delivers `event` to the next poll and waits for the function's answer.
    pub async fn invoke(&self, event: Value) -> Answer {
        let id = format!("req-{}", self.ids.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().await.insert(id.clone(), tx);
        self.shared.queue.lock().await.push_back((id, event));
        self.shared.queued.notify_waiters();
        tokio::time::timeout(Duration::from_secs(120), rx)
            .await
            .expect("the function answers")
            .expect("answer delivered")
    }
}

/// A function process, killed when dropped, and what it writes to stdout.
pub struct Function {
    child: Child,
    /// Its stdout, line by line.
    pub stdout: tailor_tests::logs::Stdout,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the function binary `exe` against `runtime` with `env`.
pub fn spawn(exe: &str, runtime: &Runtime, env: &[(&str, String)]) -> Function {
    let name = std::path::Path::new(exe)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let child = Command::new(exe)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("TAILOR_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("function binary starts");
    let mut child = child;
    let stdout = tailor_tests::logs::Stdout::of(&mut child);
    Function { child, stdout }
}

/// A Kinesis event as Lambda delivers it: `(sequence number, partition key,
/// data, arrival ms)` per record.
pub fn kinesis_event(stream: &str, records: &[(String, String, Vec<u8>, i64)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(seq, key, data, at)| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": key,
                    "sequenceNumber": seq,
                    "data": base64::engine::general_purpose::STANDARD.encode(data),
                    "approximateArrivalTimestamp": *at as f64 / 1000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/tailor",
                "awsRegion": "us-east-1",
                "eventSourceARN": format!("arn:aws:kinesis:us-east-1:123456789012:stream/{stream}"),
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The sequence numbers a Kinesis response asks to retry.
pub fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
