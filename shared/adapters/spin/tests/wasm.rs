//! The components as real WebAssembly: built for `wasm32-wasip2`
//! (`infra/spin/build.sh`), each holding only the functions it runs, their
//! imports exactly Spin's interfaces and the WASI ones Spin provides, and,
//! composed with the test-side provider of
//! Spin's SQLite and variables, served by `wasmtime serve` on loopback over
//! real SQLite: the golden cases give the local platform's results, a
//! generated stream gives the local platform's state, two
//! requests at once lose nothing, store errors retry exactly the records
//! they hit, and the score component's decisions are
//! the native ones.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use support::Served;
use support::api::{self, Answer, Cases, Endpoint, Native};
use tailor_core::ports::Table;
use tailor_runtime::Function;

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.."))
}

/// The built components and the tools, once per test run: `build.sh` is
/// a no-op when nothing changed.
struct Built {
    tools: PathBuf,
    out: PathBuf,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let run = |script: &str| {
            let output = Command::new(root().join(script))
                .stderr(std::process::Stdio::inherit())
                .output()
                .unwrap();
            assert!(output.status.success(), "{script} failed");
            PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
        };
        let out = run("infra/spin/build.sh");
        let out = if out.is_absolute() {
            out
        } else {
            root().join(out)
        };
        Built {
            tools: run("infra/spin/tools.sh"),
            out,
        }
    })
}

/// A component served by `wasmtime serve` over a fresh database.
struct Wasm {
    served: Served,
    port: u16,
}

impl Wasm {
    fn start(function: &str) -> Self {
        Self::on(Served::start(), function, &[])
    }

    /// The component running `function` over `served`, with `settings`
    /// over the tests' runtime variables.
    fn on(served: Served, function: &str, settings: &[(&str, &str)]) -> Self {
        let wasm = tailor_spin::platform::wasm_of(Function::named(function).unwrap());
        Self::built_as(wasm, served, function, settings)
    }

    /// The WebAssembly build `wasm` served as the component running
    /// `function`.
    fn built_as(wasm: &str, served: Served, function: &str, settings: &[(&str, &str)]) -> Self {
        let built = built();
        let port = tailor_tests::cloud::free_port();
        let mut command = Command::new("python3");
        command
            .arg(root().join("infra/spin/serve.py"))
            .arg(built.tools.join("wasmtime"))
            .arg(built.out.join(wasm.replace(".wasm", ".test.wasm")))
            .arg(port.to_string())
            .args(["-S", "cli", "--env"])
            .arg(format!("TAILOR_TEST_SQLITE={}", served.address))
            .arg("--dir")
            .arg(format!(
                "{}::/models/conversion-v1",
                tailor_tests::model_dir().display()
            ));
        let variables = api::variables(function, "/models/conversion-v1", settings);
        for (name, value) in variables {
            let spin = name.trim_start_matches("TAILOR_").to_ascii_uppercase();
            command
                .arg("--env")
                .arg(format!("SPIN_VARIABLE_{spin}={value}"));
        }
        tailor_tests::cloud::start_ready(command, "wasmtime serve");
        Self { served, port }
    }
}

impl Endpoint for Wasm {
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
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if let Some(key) = key {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        let (content_type, bytes) = body.unwrap_or(("", b""));
        if body.is_some() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(bytes).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        tailor_tests::parse_response(&response)
    }
}

/// The two WebAssembly builds: the stream's and score's.
const BUILDS: [&str; 2] = ["tailor-stream.wasm", "tailor-score.wasm"];

#[test]
fn the_components_imports_are_spins_interfaces_and_nothing_else() {
    for wasm in BUILDS {
        assert_imports_are_spins(wasm);
    }
}

fn assert_imports_are_spins(wasm: &str) {
    let built = built();
    let output = Command::new(built.tools.join("wasm-tools"))
        .args(["component", "wit"])
        .arg(built.out.join(wasm))
        .output()
        .unwrap();
    assert!(output.status.success());
    let wit = String::from_utf8(output.stdout).unwrap();
    let mut imports: Vec<&str> = wit
        .lines()
        .filter_map(|l| l.trim().strip_prefix("import "))
        .map(|l| l.trim_end_matches(';'))
        .map(|l| l.split('@').next().unwrap())
        .collect();
    imports.sort_unstable();
    let exports: Vec<&str> = wit
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .collect();
    assert_eq!(
        imports,
        [
            "fermyon:spin/sqlite",
            "fermyon:spin/variables",
            "wasi:cli/environment",
            "wasi:cli/exit",
            "wasi:cli/stderr",
            "wasi:cli/stdin",
            "wasi:cli/stdout",
            "wasi:cli/terminal-input",
            "wasi:cli/terminal-output",
            "wasi:cli/terminal-stderr",
            "wasi:cli/terminal-stdin",
            "wasi:cli/terminal-stdout",
            "wasi:clocks/monotonic-clock",
            "wasi:clocks/wall-clock",
            "wasi:filesystem/preopens",
            "wasi:filesystem/types",
            "wasi:http/types",
            "wasi:io/error",
            "wasi:io/poll",
            "wasi:io/streams",
            "wasi:random/insecure-seed",
            "wasi:random/random",
        ],
        "{wasm}: {wit}"
    );
    assert_eq!(exports, ["wasi:http/incoming-handler@0.2.0;"], "{wasm}");
}

/// Each build holds only what its components run: the stream's carries no
/// model engine's code and refuses to start score; score's refuses the
/// stream's functions. Each function starts from the build `wasm_of`
/// names (the other tests serve every function that way).
#[test]
fn each_build_holds_only_the_functions_its_components_run() {
    let built = built();
    let read = |wasm: &str| std::fs::read(built.out.join(wasm)).unwrap();
    let holds =
        |bytes: &[u8], needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    let (stream, score) = (read(BUILDS[0]), read(BUILDS[1]));
    // The engine's crates name themselves in their panic locations.
    for engine in ["tract-core", "tract-onnx"] {
        assert!(holds(&score, engine), "score's build runs {engine}");
        assert!(!holds(&stream, engine), "the stream's build holds {engine}");
    }
    assert!(
        stream.len() < score.len(),
        "{} vs {} bytes",
        stream.len(),
        score.len()
    );

    for (wasm, function) in [(BUILDS[0], "score"), (BUILDS[1], "ingest")] {
        let wrong = Wasm::built_as(wasm, Served::start(), function, &[]);
        let (status, body) = wrong.request("GET", "/healthz", Some(tailor_tests::API_KEY), None);
        assert_eq!(status, 500, "{wasm} as {function}: {body}");
    }
    for function in ["ingest", "consent", "features", "score"] {
        let right = Wasm::start(function);
        let (status, body) = right.request("GET", "/healthz", Some(tailor_tests::API_KEY), None);
        assert_eq!(status, 200, "{function}: {body}");
    }
}

#[test]
fn every_golden_case_through_the_served_component_gives_the_local_platforms_results() {
    let ingest = Wasm::start("ingest");
    tailor_tests::cloud::assert_golden_cases(|_| Cases::fresh(&ingest));
}

#[test]
fn a_generated_stream_through_the_served_component_gives_the_local_platforms_state() {
    let ingest = Wasm::start("ingest");
    let lines = tailor_tests::generated(12, 6, 17);
    let mut latest = 0;
    for batch in lines.chunks(100) {
        api::send_events(&ingest, batch);
        for line in batch {
            if let Some(t) = tailor_runtime::clock::replay_time(line) {
                latest = latest.max(t.as_millis());
            }
        }
    }
    let local = tailor_tests::kit::local_state(&lines, 100);
    let state = local
        .keys()
        .map(|table| (*table, api::table_at(&ingest.served, *table, latest)))
        .collect();
    let differences = tailor_tests::kit::differences(&local, &state);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn two_requests_at_once_to_the_served_component_lose_nothing() {
    api::assert_concurrent_requests_lose_nothing(&Wasm::start("ingest"));
}

/// The score component served as WebAssembly decides as the native one
/// over the same stored features: the same action, reasons, signals,
/// fallback, policy checks and inputs, and a score within 1e-5 of the
/// native pure-Rust engine's and of ONNX Runtime's.
#[test]
fn store_errors_at_the_served_component_retry_exactly_the_records_they_hit() {
    api::assert_store_faults_retry_exactly_the_records_they_hit(
        &Wasm::start("ingest"),
        &Wasm::start("ingest"),
    );
}

#[test]
fn the_served_score_component_decides_as_the_native_one() {
    let served = Served::start();
    // A stream ending a minute ago, so that its features are fresh now.
    let now = tailor_core::ports::Clock::now(&tailor_runtime::clock::WallClock);
    let options = tailor_gen::GenOptions {
        profiles: 8,
        days: 3,
        seed: 11,
        end: now.add_millis(-60_000),
        duplicate_rate: 0.0,
        invalid_rate: 0.0,
    };
    let mut stream = Vec::new();
    tailor_gen::generate(&options, &mut stream).unwrap();
    let lines: Vec<Vec<u8>> = stream
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let ingest = Native::on(served.clone(), "ingest");
    for batch in lines.chunks(100) {
        let (status, outcomes) = api::send_events(&ingest, batch);
        assert_eq!(status, 202, "{outcomes:?}");
    }
    let profiles: Vec<String> = api::table_at(&served, Table::Features, now.as_millis())
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert!(
        profiles.len() >= 4,
        "the stream builds features: {profiles:?}"
    );

    let wall = [("TAILOR_CLOCK", "wall")];
    let wasm = Wasm::on(served.clone(), "score", &wall);
    let native = Native::on(served.clone(), "score").with("TAILOR_CLOCK", "wall");
    let ort = ort_library().map(|library| {
        Native::on(served.clone(), "score")
            .with("TAILOR_CLOCK", "wall")
            .with("TAILOR_ENGINE", "ort")
            .with("ORT_DYLIB_PATH", &library)
    });
    let mut scored = 0;
    for profile in &profiles {
        for (purpose, placement) in [("marketing", "offer"), ("personalization", "onboarding")] {
            let request = json!({
                "profile": profile,
                "purpose": purpose,
                "placement": placement,
                "region": "eu",
                "consent": ["analytics", "marketing", "personalization"],
                "adult": true,
            });
            let from_wasm = decision(&wasm, &request);
            assert_eq!(from_wasm["model"]["engine"], "tract", "{from_wasm}");
            let from_native = decision(&native, &request);
            assert_same_decision(&from_wasm, &from_native);
            if let Some(ort) = &ort {
                let from_ort = decision(ort, &request);
                assert_eq!(from_ort["model"]["engine"], "ort", "{from_ort}");
                assert_same_decision(&from_wasm, &from_ort);
            }
            scored += usize::from(from_wasm.get("score").is_some());
        }
    }
    assert!(
        scored >= profiles.len(),
        "the model ran for most decisions: {scored}"
    );
}

/// ONNX Runtime's library, which `infra/ort/fetch.sh` installs (CI runs
/// it): required under CI, else its comparison is skipped with a message.
fn ort_library() -> Option<String> {
    let library = std::env::var("ORT_DYLIB_PATH").unwrap_or_else(|_| {
        root()
            .join("infra/ort")
            .join(std::env::consts::ARCH)
            .join("libonnxruntime.so")
            .display()
            .to_string()
    });
    if std::path::Path::new(&library).exists() {
        Some(library)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{library} is missing under CI"
        );
        eprintln!(
            "skipping the ONNX Runtime comparison: {library} not found (run infra/ort/fetch.sh)"
        );
        None
    }
}

/// The whole logged record of a decision `request` makes at `endpoint`.
fn decision<E: Endpoint>(endpoint: &E, request: &Value) -> Value {
    let (status, answer) = api::decide(endpoint, request);
    assert_eq!(status, 200, "{answer}");
    let id = answer["decision_id"].as_str().unwrap();
    let (status, record) = endpoint.request(
        "GET",
        &format!("/v1/decisions/{id}"),
        Some(tailor_tests::API_KEY),
        None,
    );
    assert_eq!(status, 200, "{record}");
    record
}

/// Two records of one request made at nearly the same time: equal but for
/// their ids, times, latencies, engine names and the inputs' ages, and with
/// scores within 1e-5.
fn assert_same_decision(a: &Value, b: &Value) {
    let strip = |record: &Value| {
        let mut record = record.clone();
        let o = record.as_object_mut().unwrap();
        for field in ["decision_id", "at", "latency_us", "score"] {
            o.remove(field);
        }
        if let Some(model) = o.get_mut("model").and_then(Value::as_object_mut) {
            model.remove("engine");
        }
        strip_ages(&mut record);
        record
    };
    assert_eq!(strip(a), strip(b));
    match (a["score"].as_f64(), b["score"].as_f64()) {
        (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-5, "{x} vs {y}"),
        (x, y) => assert_eq!(x, y, "both scored or neither"),
    }
}

/// Removes every `age_s` field, at any depth.
fn strip_ages(value: &mut Value) {
    match value {
        Value::Object(o) => {
            o.remove("age_s");
            o.values_mut().for_each(strip_ages);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_ages),
        _ => {}
    }
}
