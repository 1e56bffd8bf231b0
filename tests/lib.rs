//! Helpers for Tailor's black-box tests: a pipeline or a server on the
//! local platform, each behind a typed handle, and event builders.
//!
//! Everything runs in-process on loopback; nothing here needs a cloud.
//!
//! - this file: the local pipeline and server behind typed handles, and
//!   event builders.
//! - [`cases`]: the golden conformance cases, as data any platform runs.
//! - [`cloud`]: a cloud platform's functions chained over its real store
//!   and messaging, and the checks every cloud platform runs the same way.
//! - [`cost`]: the check on the cost records a platform's functions log.
//! - [`kit`]: a store that fails or stalls chosen calls, and the full-chain
//!   comparison with the local platform.
//! - [`logs`]: what a function logs, read back.
//! - [`siege`]: slow, trickling and flooding clients against the server.
//!
//! The test binaries beside it: `blackbox/` (the pipeline and server end to
//! end), `terraform/` (the AWS module's structure) and `layout.rs` (no
//! import circles).

#![allow(
    clippy::expect_used,
    clippy::needless_pass_by_value,
    reason = "test helpers fail loudly and take owned JSON for brevity"
)]

pub mod cases;
pub mod cloud;
pub mod cost;
pub mod kit;
pub mod logs;
pub mod siege;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::batch::BatchOutcome;
use tailor_core::ports::Table;
use tailor_core::token::TokenKey;
use tailor_gen::{GenOptions, generate};
use tailor_local::LocalPlatform;
use tailor_runtime::{ClockMode, Function, Replay, RunReport, Settings};

/// A test key; production keys come from configuration.
#[must_use]
pub fn test_key() -> TokenKey {
    TokenKey::new(*b"blackbox-test-key-000").expect("16+ bytes")
}

/// The shipped default model.
#[must_use]
pub fn model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models/conversion-v1")
}

/// Settings for a test platform: the test key, decisions on the pure-Rust
/// engine, items expiring by `clock`.
#[must_use]
pub fn settings(clock: ClockMode) -> Settings {
    let mut settings = Settings::new(model_dir());
    settings.token_key = Some(test_key());
    settings.clock = clock;
    settings.model.engine = tailor_model::EngineChoice::Tract;
    settings
}

/// The local platform on an in-memory store with a replay clock.
pub struct PipelineHandle {
    /// The platform.
    pub pipeline: LocalPlatform,
    /// Totals over every batch sent.
    pub report: RunReport,
    runtime: tokio::runtime::Runtime,
    replay: Replay,
}

/// A fresh platform of `functions` built from `settings` (see [`settings`]).
#[must_use]
pub fn spawn_with(settings: &Settings, functions: &[Function]) -> PipelineHandle {
    spawn_at(None, settings, functions)
}

/// [`spawn_with`], keeping state in the file at `path` (in memory for `None`).
#[must_use]
pub fn spawn_at(
    path: Option<&std::path::Path>,
    settings: &Settings,
    functions: &[Function],
) -> PipelineHandle {
    handle(LocalPlatform::open(path, settings, functions).expect("platform opens"))
}

/// The local platform of the stream functions, in memory with a replay
/// clock, its store and queue counting what each call would bill on each
/// cloud.
#[must_use]
pub fn spawn_counting_cloud_units() -> PipelineHandle {
    spawn_counting_cloud_units_of(&Function::STREAM)
}

/// [`spawn_counting_cloud_units`] with `functions`.
#[must_use]
pub fn spawn_counting_cloud_units_of(functions: &[Function]) -> PipelineHandle {
    handle(
        LocalPlatform::open_counting_cloud_units(None, &settings(ClockMode::Arrival), functions)
            .expect("platform opens"),
    )
}

fn handle(pipeline: LocalPlatform) -> PipelineHandle {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    PipelineHandle {
        pipeline,
        report: RunReport::default(),
        runtime,
        replay: Replay::new("r"),
    }
}

/// Starts a fresh platform with the stream functions.
#[must_use]
pub fn spawn_pipeline() -> PipelineHandle {
    spawn_with(&settings(ClockMode::Arrival), &Function::STREAM)
}

/// A platform whose decisions use the shipped model on the pure-Rust engine.
#[must_use]
pub fn spawn_pipeline_with_model() -> PipelineHandle {
    let handle = spawn_with(&settings(ClockMode::Arrival), &Function::ALL);
    assert!(handle.pipeline.model().is_some(), "shipped model loads");
    handle
}

impl PipelineHandle {
    /// Sends raw records as one batch; returns ingest's dispositions.
    pub fn send_raw(&mut self, lines: &[Vec<u8>]) -> BatchOutcome {
        // A replay receives each record at its sent_at; one without a
        // readable time arrives with the records around it.
        let records = self.replay.records(lines);
        let outcome = self
            .runtime
            .block_on(self.pipeline.process(&records, &mut self.report));
        self.pipeline.flush().expect("flush");
        outcome
    }

    /// Sends events as one batch received at `received_at`, whatever
    /// their own times say: a delivery that waited, or one early.
    pub fn send_received(&mut self, events: &[Value], received_at: Timestamp) -> BatchOutcome {
        let records: Vec<tailor_core::batch::Record> = events
            .iter()
            .enumerate()
            .map(|(i, e)| tailor_core::batch::Record {
                id: format!("late:{i}"),
                bytes: serde_json::to_vec(e).expect("json"),
                received_at,
                partition: None,
                may_change_consent: true,
            })
            .collect();
        let outcome = self
            .runtime
            .block_on(self.pipeline.process(&records, &mut self.report));
        self.pipeline.flush().expect("flush");
        outcome
    }

    /// Posts `body` to the HTTP API's `path`, in process, with `key` (one
    /// of [`api_keys`]' secrets); returns the status and the JSON answer.
    /// Records it takes in are received at the wall clock's now.
    pub fn post(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        let api = tailor_runtime::http::Api {
            routes: tailor_runtime::http::Routes::ALL,
            access: tailor_runtime::http::Access::keys(api_keys()),
        };
        let request = http::Request::post(path)
            .header("Content-Type", "application/json")
            .header("Authorization", format!("Bearer {key}"))
            .body(serde_json::to_vec(body).expect("json"))
            .expect("request");
        let response =
            self.runtime
                .block_on(tailor_runtime::http::handle(&self.pipeline, &api, request));
        self.pipeline.flush().expect("flush");
        let status = response.status().as_u16();
        let answer = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        (status, answer)
    }

    /// Sends events as one batch.
    pub fn send(&mut self, events: &[Value]) -> BatchOutcome {
        let lines: Vec<Vec<u8>> = events
            .iter()
            .map(|e| serde_json::to_vec(e).expect("json"))
            .collect();
        self.send_raw(&lines)
    }

    /// Sends lines in batches of `size`.
    pub fn send_batches(&mut self, lines: &[Vec<u8>], size: usize) {
        for chunk in lines.chunks(size) {
            self.send_raw(chunk);
        }
    }

    /// Makes and logs a decision at `now`.
    pub fn decide(
        &self,
        request: &tailor_core::score::DecisionRequest,
        now: Timestamp,
    ) -> tailor_core::score::DecisionRecord {
        let (record, logged) = self
            .runtime
            .block_on(self.pipeline.decide(request, now))
            .expect("platform runs score");
        logged.expect("decision logged");
        record
    }

    /// A logged decision as the platform serves it (opened from the log).
    ///
    /// # Panics
    /// The store cannot be read.
    #[must_use]
    pub fn logged_decision(&self, id: &str) -> Option<tailor_core::score::DecisionRecord> {
        self.runtime
            .block_on(self.pipeline.decision(id))
            .expect("decision log readable")
    }

    /// Every live item of a table, as JSON.
    #[must_use]
    pub fn table(&self, table: Table) -> Vec<(String, Value)> {
        self.pipeline
            .store()
            .scan(table)
            .expect("scan")
            .into_iter()
            .map(|(k, i)| (k, serde_json::from_slice(&i.value).expect("json item")))
            .collect()
    }

    /// A profile's features, evaluated as of its newest event.
    #[must_use]
    pub fn features(&self, profile_id: &str) -> Option<Value> {
        let stored = self
            .table(Table::Features)
            .into_iter()
            .find(|(k, _)| k == profile_id)
            .map(|(_, v)| v)?;
        let state: tailor_core::features::ProfileState =
            serde_json::from_value(stored).expect("a profile's state");
        let at = state.newest()?;
        Some(serde_json::to_value(state.evaluate(at)).expect("features"))
    }

    /// The canonical feature state (see [`LocalPlatform::feature_state`]).
    #[must_use]
    pub fn feature_state(&self) -> Vec<u8> {
        self.pipeline.feature_state().expect("feature state")
    }
}

/// A generated stream's lines.
#[must_use]
pub fn generated(profiles: u32, days: u32, seed: u64) -> Vec<Vec<u8>> {
    let options = GenOptions {
        profiles,
        days,
        seed,
        ..GenOptions::default()
    };
    let mut out = Vec::new();
    generate(&options, &mut out).expect("generate");
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// A contract-valid event. `keys` holds `anonymous_id`, `user_id`, … as JSON.
#[must_use]
pub fn event(id: &str, kind: &str, at: &str, subject: Value, properties: Value) -> Value {
    json!({
        "event_id": id, "event_type": kind, "schema_version": "1.0", "occurred_at": at, "sent_at": at,
        "subject": subject, "region": "eu",
        "consent": {"purposes": ["analytics", "personalization"], "cmp_version": "v1"},
        "source": {"kind": "web", "name": "shop"}, "properties": properties
    })
}

/// A local server on an ephemeral loopback port.
pub struct ServerHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

/// The API key [`spawn_server`]'s server grants every scope.
pub const API_KEY: &str = "blackbox-api-key-all";

/// Keys of [`spawn_server`]'s server: one per scope, named by the scope
/// (the key is `key-<scope>`), and [`API_KEY`] with every scope.
#[must_use]
pub fn api_keys() -> Vec<tailor_runtime::http::ApiKey> {
    use tailor_runtime::http::access::digest_hex;
    use tailor_runtime::http::{ApiKey, Scope};
    let mut keys = vec![
        ApiKey::new(
            "all",
            &digest_hex(API_KEY),
            Scope::ALL.into_iter().collect(),
        )
        .expect("digest"),
    ];
    for scope in Scope::ALL {
        let secret = format!("key-{}", scope.as_str());
        keys.push(
            ApiKey::new(scope.as_str(), &digest_hex(&secret), [scope].into()).expect("digest"),
        );
    }
    keys
}

/// Starts `tailor serve`'s router on a fresh state file in `dir`, for
/// callers with [`api_keys`] and browsers on `https://shop.example`.
#[must_use]
pub fn spawn_server(dir: &std::path::Path) -> ServerHandle {
    spawn_server_within(dir, tailor_runtime::http::ServeLimits::default())
}

/// [`spawn_server`] within `limits`, on one worker thread (so work that
/// holds the thread holds every connection).
#[must_use]
pub fn spawn_server_within(
    dir: &std::path::Path,
    limits: tailor_runtime::http::ServeLimits,
) -> ServerHandle {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let pipeline = LocalPlatform::open(
        Some(&dir.join("state.redb")),
        &settings(ClockMode::Wall),
        &Function::ALL,
    )
    .expect("platform");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let api = tailor_runtime::http::Api {
        routes: tailor_runtime::http::Routes::ALL,
        access: tailor_runtime::http::Access::keys(api_keys())
            .with_origins(["https://shop.example".to_owned()]),
    };
    runtime.spawn(tailor_runtime::http::serve_with(
        listener,
        std::sync::Arc::new(pipeline),
        api,
        limits,
        std::future::pending(),
    ));
    ServerHandle {
        addr,
        _runtime: runtime,
    }
}

impl ServerHandle {
    /// One HTTP/1.1 request with [`API_KEY`]; returns the status and the
    /// JSON body (or `Null`).
    #[must_use]
    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let auth = format!("Bearer {API_KEY}");
        self.request_with(
            method,
            path,
            &[("Content-Type", content_type), ("Authorization", &auth)],
            body,
        )
    }

    /// One HTTP/1.1 request with exactly `headers`; returns the status and
    /// the JSON body (or `Null`).
    #[must_use]
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read");
        parse_response(&response)
    }

    /// `POST` a JSON value.
    #[must_use]
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.request(
            "POST",
            path,
            "application/json",
            &serde_json::to_vec(body).expect("json"),
        )
    }

    /// `GET` a path.
    #[must_use]
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, "application/json", b"")
    }
}

impl cases::CasePlatform for PipelineHandle {
    fn send(&mut self, batch: &[Vec<u8>]) -> Vec<tailor_core::disposition::Disposition> {
        self.send_raw(batch)
            .dispositions
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    }

    fn table(&self, table: Table) -> Vec<(String, Value)> {
        Self::table(self, table)
    }
}

/// The status and JSON body (or `Null`) of a raw HTTP/1.1 response; `0`
/// for no status line.
#[must_use]
pub fn parse_response(response: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    // Chunked or not, the JSON object is the part between the outer braces.
    let json = body
        .find('{')
        .and_then(|s| body.rfind('}').map(|e| &body[s..=e]))
        .unwrap_or("null");
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}
