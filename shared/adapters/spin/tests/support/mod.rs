//! What the Spin tests share: the SQLite database they reach (served on
//! loopback by `infra/spin/sqlite_server.py`, real SQLite), a [`Database`]
//! over it for the store tested natively, and the platform's settings.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    reason = "test support, also included by the benches, each using part of it; a failure fails the test loudly"
)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tailor_spin::{Database, SqlError, SqlValue};

/// A SQLite database served on loopback, fresh for a test.
#[derive(Debug, Clone)]
pub struct Served {
    /// Its address, `127.0.0.1:PORT`.
    pub address: String,
}

impl Served {
    /// Starts a fresh, in-memory database server.
    #[must_use]
    pub fn start() -> Self {
        let port = tailor_tests::cloud::free_port();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../infra/spin/sqlite_server.py"
        );
        let mut command = Command::new("python3");
        command.arg(script).arg(port.to_string());
        tailor_tests::cloud::start_ready(command, "the SQLite server");
        Self {
            address: format!("127.0.0.1:{port}"),
        }
    }

    /// A connection to it.
    #[must_use]
    pub fn connect(&self) -> HttpDatabase {
        HttpDatabase {
            address: self.address.clone(),
            stream: Mutex::new(None),
        }
    }

    /// Empties the database and clears its faults.
    pub fn reset(&self) {
        let answer = self.connect().call("/reset", &json!({}));
        assert!(answer.get("ok").is_some(), "{answer}");
    }

    /// Makes every later statement naming one of `keys` fail.
    pub fn fail_keys(&self, keys: &[&str]) {
        let answer = self.connect().call("/faults", &json!({ "keys": keys }));
        assert!(answer.get("ok").is_some(), "{answer}");
    }

    /// Makes every later write naming one of `keys` fail; reads succeed.
    pub fn fail_writes(&self, keys: &[&str]) {
        let answer = self
            .connect()
            .call("/faults", &json!({ "keys": keys, "writes": true }));
        assert!(answer.get("ok").is_some(), "{answer}");
    }
}

/// How long a statement's answer may take before the caller fails.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Statements sent to a [`Served`] database over one kept-alive connection.
#[derive(Debug)]
pub struct HttpDatabase {
    address: String,
    stream: Mutex<Option<BufReader<TcpStream>>>,
}

impl HttpDatabase {
    /// POSTs `body` to `path`; the JSON answer.
    pub fn call(&self, path: &str, body: &Value) -> Value {
        let body = serde_json::to_vec(body).unwrap();
        let mut guard = self.stream.lock().unwrap();
        for attempt in 0..2 {
            if guard.is_none() {
                let stream = TcpStream::connect(&self.address).unwrap();
                stream.set_nodelay(true).unwrap();
                // A lost answer fails the caller loudly rather than hanging it.
                stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
                *guard = Some(BufReader::new(stream));
            }
            let reader = guard.as_mut().unwrap();
            match exchange(reader, &self.address, path, &body) {
                Ok(answer) => return answer,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    panic!("the SQLite server did not answer {path} within {ANSWER_TIMEOUT:?}")
                }
                Err(e) if attempt == 0 => {
                    // The server closed a kept-alive connection: open another.
                    let _ = e;
                    *guard = None;
                }
                Err(e) => panic!("the SQLite server: {e}"),
            }
        }
        unreachable!("two attempts")
    }
}

fn exchange(
    reader: &mut BufReader<TcpStream>,
    address: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<Value> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let stream = reader.get_mut();
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if line.is_empty() {
        return Err(std::io::Error::other("connection closed"));
    }
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut answer = vec![0; length];
    reader.read_exact(&mut answer)?;
    Ok(serde_json::from_slice(&answer).unwrap())
}

fn to_json(value: &SqlValue) -> Value {
    match value {
        SqlValue::Integer(i) => json!({ "integer": i }),
        SqlValue::Real(r) => json!({ "real": r }),
        SqlValue::Text(t) => json!({ "text": t }),
        SqlValue::Blob(b) => json!({ "blob": base64::engine::general_purpose::STANDARD.encode(b) }),
        SqlValue::Null => json!("null"),
    }
}

fn from_json(value: &Value) -> SqlValue {
    if value == "null" {
        return SqlValue::Null;
    }
    let (kind, v) = value.as_object().unwrap().iter().next().unwrap();
    match kind.as_str() {
        "integer" => SqlValue::Integer(v.as_i64().unwrap()),
        "real" => SqlValue::Real(v.as_f64().unwrap()),
        "text" => SqlValue::Text(v.as_str().unwrap().to_owned()),
        "blob" => SqlValue::Blob(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap(),
        ),
        other => panic!("unknown value kind {other}"),
    }
}

impl Database for HttpDatabase {
    fn execute(
        &self,
        statement: &str,
        parameters: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, SqlError> {
        let answer = self.call(
            "/execute",
            &json!({
                "statement": statement,
                "parameters": parameters.iter().map(to_json).collect::<Vec<_>>(),
            }),
        );
        if let Some(reason) = answer.get("err") {
            return Err(SqlError(reason.as_str().unwrap_or_default().to_owned()));
        }
        Ok(answer["ok"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row.as_array().unwrap().iter().map(from_json).collect())
            .collect())
    }
}

/// The stream functions over a fresh database, as the runtime chains them
/// in the `ingest` component, driven by the test kit.
pub mod pipeline {
    use std::sync::Arc;

    use serde_json::Value;
    use tailor_core::ports::{Clock, PublishError, Publisher, Table, Topic};
    use tailor_runtime::{Inbox, Mailbox, WallClock};
    use tailor_spin::SqlStore;
    use tailor_tests::cloud::{self, CloudPipeline};

    use super::{HttpDatabase, Served};

    /// One test's database, and the mailbox the stages publish to.
    pub struct Deployment {
        /// The database.
        pub served: Served,
        mailbox: Arc<Mailbox>,
    }

    /// The mailbox, shared with the deployment that reads it back.
    pub struct Shared(Arc<Mailbox>);

    impl Publisher for Shared {
        async fn publish(
            &self,
            topic: Topic,
            key: &str,
            payload: Vec<u8>,
        ) -> Result<(), PublishError> {
            self.0.publish(topic, key, payload).await
        }
    }

    impl cloud::Deployment for Deployment {
        type Store = SqlStore<HttpDatabase>;

        fn store(&self) -> Self::Store {
            SqlStore::open(self.served.connect(), Arc::new(WallClock) as Arc<dyn Clock>).unwrap()
        }

        async fn published(&self, topic: Topic) -> Vec<(String, Vec<u8>)> {
            // The receipt time is the platform's to give; only ids and bytes are read.
            let records = Inbox::take(
                &*self.mailbox,
                topic,
                tailor_core::Timestamp::from_millis(0),
            )
            .await;
            records.into_iter().map(|r| (r.id, r.bytes)).collect()
        }

        async fn items(&self, store: &Self::Store, table: Table) -> Vec<(String, Value)> {
            store
                .scan(table)
                .unwrap()
                .into_iter()
                .map(|(key, item)| (key, serde_json::from_slice(&item.value).unwrap()))
                .collect()
        }
    }

    /// The pipeline over a fresh database.
    pub type SpinPipeline = CloudPipeline<Deployment, Shared>;

    /// A pipeline over a fresh database.
    #[must_use]
    pub fn spin(_test: &str) -> SpinPipeline {
        let deployment = Deployment {
            served: Served::start(),
            mailbox: Arc::new(Mailbox::new()),
        };
        CloudPipeline::assemble(cloud::runtime(), deployment, async |d| {
            (
                SqlStore::open(d.served.connect(), Arc::new(WallClock)).unwrap(),
                Shared(Arc::clone(&d.mailbox)),
            )
        })
    }
}

/// The HTTP API of a component, natively or served as WebAssembly, and the
/// checks both run.
pub mod api {
    use std::sync::Arc;

    use serde_json::Value;
    use tailor_core::disposition::Disposition;
    use tailor_core::ports::{Clock, Table};
    use tailor_runtime::Env;
    use tailor_runtime::clock::replay_time;
    use tailor_spin::{SpinPlatform, SqlStore};
    use tailor_tests::cases::CasePlatform;
    use tailor_tests::cloud::At;

    use super::Served;

    /// A component's answer: status and JSON body.
    pub type Answer = (u16, Value);

    /// Where a component answers requests.
    pub trait Endpoint: Sync {
        /// The component's database.
        fn served(&self) -> &Served;

        /// Sends a request (`body` with `content_type`, or none) as the
        /// caller holding `key`.
        fn request(
            &self,
            method: &str,
            path: &str,
            key: Option<&str>,
            body: Option<(&str, &[u8])>,
        ) -> Answer;
    }

    /// The runtime variables of a component running `function` in the
    /// tests: the test keys and tokenization key, the replay clock, and the
    /// pure-Rust engine over the shipped model at `model_dir`; then
    /// `settings`, each replacing the variable of its name.
    #[must_use]
    pub fn variables(
        function: &str,
        model_dir: &str,
        settings: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        use tailor_runtime::http::Scope;
        use tailor_runtime::http::access::digest_hex;
        let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        let mut keys = vec![format!(
            "all {} {}",
            digest_hex(tailor_tests::API_KEY),
            scopes.join(",")
        )];
        for scope in Scope::ALL {
            let name = scope.as_str();
            keys.push(format!(
                "{name} {} {name}",
                digest_hex(&format!("key-{name}"))
            ));
        }
        let keys = keys.join("\n");
        let mut variables: Vec<(String, String)> = [
            ("TAILOR_FUNCTION", function),
            ("TAILOR_API_KEYS", keys.as_str()),
            ("TAILOR_TOKEN_KEY", "blackbox-test-key-000"),
            ("TAILOR_CLOCK", "arrival"),
            ("TAILOR_ENGINE", "tract"),
            ("TAILOR_MODEL_DIR", model_dir),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        for (name, value) in settings {
            variables.retain(|(n, _)| n != name);
            variables.push(((*name).to_owned(), (*value).to_owned()));
        }
        variables
    }

    /// A component run natively: a fresh platform per request, as Spin
    /// starts a fresh instance per request.
    pub struct Native {
        served: Served,
        function: String,
        settings: Vec<(&'static str, String)>,
    }

    impl Native {
        /// The component running `function` over a fresh database.
        #[must_use]
        pub fn start(function: &str) -> Self {
            Self::on(Served::start(), function)
        }

        /// The component running `function` over `served`.
        #[must_use]
        pub fn on(served: Served, function: &str) -> Self {
            Self {
                served,
                function: function.to_owned(),
                settings: Vec::new(),
            }
        }

        /// The same, with the runtime variable `name` set to `value`.
        #[must_use]
        pub fn with(mut self, name: &'static str, value: &str) -> Self {
            self.settings.push((name, value.to_owned()));
            self
        }
    }

    impl Endpoint for Native {
        fn served(&self) -> &Served {
            &self.served
        }

        fn request(
            &self,
            method: &str,
            path: &str,
            key: Option<&str>,
            body: Option<(&str, &[u8])>,
        ) -> Answer {
            let model = tailor_tests::model_dir();
            let settings: Vec<(&str, &str)> = self
                .settings
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            let pairs = variables(&self.function, model.to_str().unwrap(), &settings);
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let platform = SpinPlatform::open(&Env::of(&pairs), self.served.connect()).unwrap();
            let mut request = http::Request::builder().method(method).uri(path);
            if let Some(key) = key {
                request = request.header("authorization", format!("Bearer {key}"));
            }
            let (content_type, bytes) = body.unwrap_or(("application/json", b""));
            if body.is_some() {
                request = request.header("content-type", content_type);
            }
            let response = run(platform.serve(request.body(bytes.to_vec()).unwrap()));
            let status = response.status().as_u16();
            (
                status,
                serde_json::from_slice(response.body()).unwrap_or(Value::Null),
            )
        }
    }

    /// Runs a future on this thread alone, as a Spin instance does: every
    /// store call blocks, so requests on two threads run at once.
    fn run<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::yield_now();
        }
    }

    /// Posts a decision `request` to `/v1/decide` with every scope: the
    /// status and the answer.
    pub fn decide<E: Endpoint + ?Sized>(endpoint: &E, request: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(request).unwrap();
        endpoint.request(
            "POST",
            "/v1/decide",
            Some(tailor_tests::API_KEY),
            Some(("application/json", &body)),
        )
    }

    /// Posts `lines` as JSON Lines to `/v1/events` with every scope; each
    /// record's outcome, in order.
    pub fn send_events<E: Endpoint + ?Sized>(
        endpoint: &E,
        lines: &[Vec<u8>],
    ) -> (u16, Vec<Disposition>) {
        let body = lines.join(&b'\n');
        let (status, answer) = endpoint.request(
            "POST",
            "/v1/events",
            Some(tailor_tests::API_KEY),
            Some(("application/x-ndjson", &body)),
        );
        let records = answer["records"]
            .as_array()
            .unwrap_or_else(|| panic!("{status} {answer}"));
        let outcomes = records
            .iter()
            .map(|r| serde_json::from_value(r["outcome"].clone()).unwrap())
            .collect();
        (status, outcomes)
    }

    /// Every live item of `table` at `now`, as JSON, by key.
    pub fn table_at(served: &Served, table: Table, now: i64) -> Vec<(String, Value)> {
        SqlStore::open(served.connect(), Arc::new(At(now)) as Arc<dyn Clock>)
            .unwrap()
            .scan(table)
            .unwrap()
            .into_iter()
            .map(|(key, item)| (key, serde_json::from_slice(&item.value).unwrap()))
            .collect()
    }

    /// Two requests at once, each with twenty views of one person's, then
    /// both again at once: every view counted once, each request's answer
    /// saying so. Writes to the person's inputs and features race; the
    /// versioned writes make the loser read again, so nothing is lost.
    pub fn assert_concurrent_requests_lose_nothing<E: Endpoint>(endpoint: &E) {
        let views = |from: usize| -> Vec<Vec<u8>> {
            (from..from + 20)
                .map(|i| {
                    let event = tailor_tests::event(
                        &format!("evt-race-{i}"),
                        "content_view",
                        &format!("2026-11-20T10:{:02}:{:02}Z", i / 60, i % 60),
                        serde_json::json!({"user_id": "u-race", "anonymous_id": "a-race"}),
                        serde_json::json!({"content_id": format!("c{i}"), "category": "guides"}),
                    );
                    serde_json::to_vec(&event).unwrap()
                })
                .collect()
        };
        let (first, second) = (views(0), views(20));
        let both = |expected: Disposition| {
            std::thread::scope(|s| {
                let a = s.spawn(|| send_events(endpoint, &first));
                let b = s.spawn(|| send_events(endpoint, &second));
                for (status, outcomes) in [a.join().unwrap(), b.join().unwrap()] {
                    assert_eq!(status, 202, "{outcomes:?}");
                    assert!(outcomes.iter().all(|d| *d == expected), "{outcomes:?}");
                }
            });
        };
        both(Disposition::ACCEPTED);
        let now = tailor_core::Timestamp::parse("2026-11-20T10:00:39Z")
            .unwrap()
            .as_millis();
        let features = table_at(endpoint.served(), Table::Features, now);
        assert_eq!(features.len(), 1, "one profile: {features:?}");
        let state: tailor_core::features::ProfileState =
            serde_json::from_value(features[0].1.clone()).unwrap();
        let read = state.evaluate(state.newest().unwrap());
        assert_eq!(
            read.features["count_7d.content_view"].value.as_f64(),
            Some(40.0),
            "every view counted once"
        );
        assert_eq!(table_at(endpoint.served(), Table::Dedup, now).len(), 40);
        both(Disposition::DUPLICATE);
        assert_eq!(table_at(endpoint.served(), Table::Features, now), features);
    }

    /// Writes of two events' ledger entries fail: the request is answered
    /// 503 and exactly those two records are to be sent again; sent again
    /// once the store recovers, they are accepted, the whole batch after
    /// them is a duplicate, and every table holds what a clean run of the
    /// batch on `clean` leaves.
    pub fn assert_store_faults_retry_exactly_the_records_they_hit<E: Endpoint>(
        endpoint: &E,
        clean: &E,
    ) {
        let lines = tailor_tests::cloud::three_users_views();
        endpoint
            .served()
            .fail_writes(&["web/evt-fault-0002", "web/evt-fault-0005"]);
        let (status, outcomes) = send_events(endpoint, &lines);
        assert_eq!(status, 503, "{outcomes:?}");
        let retried: Vec<usize> = (0..outcomes.len())
            .filter(|i| outcomes[*i] == Disposition::Retry)
            .collect();
        assert_eq!(retried, [1, 4], "{outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|d| *d == Disposition::Retry || *d == Disposition::ACCEPTED),
            "{outcomes:?}"
        );
        endpoint.served().fail_writes(&[]);
        let again = [lines[1].clone(), lines[4].clone()];
        assert_eq!(
            send_events(endpoint, &again),
            (202, vec![Disposition::ACCEPTED; 2])
        );
        assert_eq!(
            send_events(endpoint, &lines),
            (202, vec![Disposition::DUPLICATE; 6])
        );

        let (status, outcomes) = send_events(clean, &lines);
        assert_eq!((status, outcomes), (202, vec![Disposition::ACCEPTED; 6]));
        let now = tailor_core::Timestamp::parse("2026-11-20T10:06:00Z")
            .unwrap()
            .as_millis();
        for table in [
            Table::Features,
            Table::FeatureInputs,
            Table::Identity,
            Table::Dedup,
        ] {
            assert_eq!(
                table_at(endpoint.served(), table, now),
                table_at(clean.served(), table, now),
                "{table:?}"
            );
        }
        assert_eq!(table_at(endpoint.served(), Table::Features, now).len(), 3);
    }

    /// The golden cases' view of an ingest component: batches posted to
    /// `/v1/events`, tables read at the latest time a record was sent.
    pub struct Cases<'a, E: ?Sized> {
        /// The component.
        pub endpoint: &'a E,
        latest: i64,
    }

    impl<'a, E: Endpoint + ?Sized> Cases<'a, E> {
        /// The component, its database emptied first.
        pub fn fresh(endpoint: &'a E) -> Self {
            endpoint.served().reset();
            Self {
                endpoint,
                latest: 0,
            }
        }
    }

    impl<E: Endpoint + ?Sized> CasePlatform for Cases<'_, E> {
        fn send(&mut self, batch: &[Vec<u8>]) -> Vec<Disposition> {
            for line in batch {
                if let Some(t) = replay_time(line) {
                    self.latest = self.latest.max(t.as_millis());
                }
            }
            send_events(self.endpoint, batch).1
        }

        fn table(&self, table: Table) -> Vec<(String, Value)> {
            table_at(self.endpoint.served(), table, self.latest)
        }
    }
}
