//! Cold start of the Cloud Run binary on this machine, per function: the
//! time from process spawn until it accepts a connection on `$PORT`, which
//! is when Cloud Run's startup probe passes and requests reach it.
//! Everything a service does at start-up counts: configuration, the
//! Pub/Sub publisher, policy bundle, catalog, and for score the model.
//! Peak RSS (`VmHWM`) is read at that moment; the process is then killed.
//!
//!     cargo build --release -p tailor-gcp --example hello_http
//!     cargo bench -p tailor-gcp --bench cold_start
//!
//! The Pub/Sub emulator is started as the tests start it (publishers
//! connect at start-up; nothing is published). The baseline, the `hello_http`
//! example (axum on tokio, nothing else), is taken from
//! `<target>/release/examples/hello_http` and skipped with a message if it has
//! not been built. Each binary runs once to warm the page cache, then
//! `TAILOR_COLD_START_RUNS` times (default 20), round-robin. Results are
//! recorded in `docs/benchmarks.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one start may take before the bench gives up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One binary, its arguments and environment.
struct Case {
    label: &'static str,
    exe: PathBuf,
    args: Vec<&'static str>,
    env: Vec<(&'static str, String)>,
}

/// Spawn until the port accepts a connection; peak RSS then, in KiB.
fn start(case: &Case) -> (Duration, u64) {
    let port = tailor_tests::cloud::free_port();
    let started = Instant::now();
    let mut child = Command::new(&case.exe)
        .args(&case.args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .envs(case.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let ready = loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break started.elapsed();
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{} exited at start-up: {status}", case.label);
        }
        assert!(
            started.elapsed() < START_TIMEOUT,
            "{} never listened",
            case.label
        );
        std::thread::sleep(Duration::from_micros(200));
    };
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    child.kill().unwrap();
    child.wait().unwrap();
    (ready, rss)
}

fn cases() -> Vec<Case> {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tailor-gcp"));
    let env = vec![
        ("GOOGLE_CLOUD_PROJECT", "cold-start".to_owned()),
        ("TAILOR_COLLECTION_PREFIX", "cold".to_owned()),
        ("TAILOR_TOKEN_KEY", "cold-start-bench-token-key".to_owned()),
        ("PUBSUB_EMULATOR_HOST", support::pubsub().to_owned()),
        ("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1".to_owned()),
        ("TAILOR_TOPIC_INGESTED", "ingested".to_owned()),
        ("TAILOR_TOPIC_ENRICHED", "enriched".to_owned()),
        ("TAILOR_TOPIC_CONSENT_CHANGES", "consent-changes".to_owned()),
        (
            "TAILOR_MODEL_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../models/conversion-v1")
                .display()
                .to_string(),
        ),
    ];
    let hello = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .expect("the bench runs from <target>/<profile>/deps")
        .join("examples/hello_http");
    let mut cases = Vec::new();
    if hello.is_file() {
        cases.push(Case {
            label: "hello_http (example)",
            exe: hello,
            args: Vec::new(),
            env: Vec::new(),
        });
    } else {
        println!(
            "skipped hello_http: {} is missing; build it first with\n    cargo build --release -p tailor-gcp --example hello_http",
            hello.display()
        );
    }
    for (label, function) in [
        ("tailor-gcp ingest", "ingest"),
        ("tailor-gcp enrich", "enrich"),
        ("tailor-gcp features", "features"),
        ("tailor-gcp consent", "consent"),
        ("tailor-gcp score", "score"),
    ] {
        cases.push(Case {
            label,
            exe: exe.clone(),
            args: vec![function],
            env: env.clone(),
        });
    }
    cases
}

fn main() {
    let runs: usize = std::env::var("TAILOR_COLD_START_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let cases = cases();
    let mut samples: Vec<Vec<(Duration, u64)>> = cases.iter().map(|_| Vec::new()).collect();
    for case in &cases {
        start(case);
    }
    for _ in 0..runs {
        for (case, samples) in cases.iter().zip(&mut samples) {
            samples.push(start(case));
        }
    }
    println!("{runs} runs each, spawn to first accepted connection\n");
    println!("| binary | p50 | p90 | max | peak RSS |");
    println!("| --- | --- | --- | --- | --- |");
    for (case, samples) in cases.iter().zip(&mut samples) {
        samples.sort_unstable();
        let at = |q: usize| samples[(samples.len() * q).div_ceil(100).max(1) - 1].0;
        let rss = samples.iter().map(|s| s.1).max().unwrap_or(0);
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB |",
            case.label,
            at(50).as_secs_f64() * 1e3,
            at(90).as_secs_f64() * 1e3,
            samples.last().unwrap().0.as_secs_f64() * 1e3,
            rss as f64 / 1024.0
        );
    }
}
