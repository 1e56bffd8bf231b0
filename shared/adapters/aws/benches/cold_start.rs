//! Cold start of the Lambda binaries on this machine: the time from process
//! spawn until the process asks the Runtime API for its first event
//! (`GET /2018-06-01/runtime/invocation/next`), which is when Lambda's init
//! phase ends. Everything a function does at init counts: SDK
//! configuration, policy bundle, catalog, and for score the model (once
//! with tract, once with ONNX Runtime).
//!
//! The Runtime API is a listener on loopback inside the bench that records
//! when the first `next` request arrives and never answers it; the child is
//! then killed. Peak RSS (`VmHWM`) is read at that moment. Each binary runs
//! once to warm the page cache, then `TAILOR_COLD_START_RUNS` times
//! (default 20), round-robin over the binaries.
//!
//!     cargo build --release -p tailor-aws --example hello
//!     cargo bench -p tailor-aws --bench cold_start
//!
//! `cargo bench` builds the five function binaries in the bench profile
//! (`CARGO_BIN_EXE_*`), each holding every function since one package's
//! binaries share its features. With `TAILOR_COLD_START_PACKAGES=DIR` the
//! bench starts `DIR/tailor-<function>/bootstrap` instead: what
//! `infra/aws/package.sh x86_64` unpacks under `target/lambda`, each built
//! with its own function alone, stripped, as Lambda runs it. It does not
//! build examples: the baseline, the `hello` example
//! (an echo function on the same runtime), is taken from
//! `<target>/release/examples/hello` and skipped with a message if it has
//! not been built. ONNX Runtime comes from `ORT_DYLIB_PATH`, else
//! `infra/ort/<arch>/libonnxruntime.so` (`infra/ort/fetch.sh`); without it
//! the ort row is skipped.
//!
//! Sizes: each binary as built here, and as a package would hold it:
//! stripped of symbols and deflated (`strip` and `zip`, when on PATH). Also
//! the packages `infra/aws/package.sh` wrote under `target/lambda`
//! (`tailor-<function>/bootstrap.zip`, with the architecture of the
//! `bootstrap` inside, and `ort-layer-<arch>.zip`). Results are recorded in
//! `docs/benchmarks.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one start may take before the bench gives up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One binary with its environment.
struct Case {
    label: String,
    exe: PathBuf,
    function_name: String,
    memory_mb: &'static str,
    env: Vec<(&'static str, String)>,
    /// A line the process must have logged by its first poll (the model
    /// loaded with the intended engine), checked on every run.
    expect_log: Option<String>,
}

/// One start: spawn to first poll, and peak RSS then.
struct Sample {
    to_first_poll: Duration,
    peak_rss_kib: u64,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// `<target>/<profile>`: the bench executable runs from its `deps`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .expect("the bench runs from <target>/<profile>/deps")
        .to_path_buf()
}

fn cases() -> Vec<Case> {
    // The packages' own binaries, each built with its function alone, when
    // asked for; else the bench profile's, which hold every function.
    let packaged = std::env::var_os("TAILOR_COLD_START_PACKAGES").map(PathBuf::from);
    let stream_env = |name: &'static str, stream: &str| (name, format!("tailor-{stream}"));
    // Every function reads erasure tombstones, kept under keyed tokens:
    // every one needs the tokenization key.
    let function = |bin: &str, mut env: Vec<(&'static str, String)>| Case {
        env: {
            env.push(("TAILOR_TOKEN_KEY", "cold-start-bench-token-key".to_owned()));
            env
        },
        label: bin.to_owned(),
        exe: match &packaged {
            Some(dir) => dir.join(bin).join("bootstrap"),
            None => PathBuf::from(match bin {
                "tailor-ingest" => env!("CARGO_BIN_EXE_tailor-ingest"),
                "tailor-enrich" => env!("CARGO_BIN_EXE_tailor-enrich"),
                "tailor-features" => env!("CARGO_BIN_EXE_tailor-features"),
                "tailor-consent" => env!("CARGO_BIN_EXE_tailor-consent"),
                _ => env!("CARGO_BIN_EXE_tailor-score"),
            }),
        },
        function_name: bin.to_owned(),
        memory_mb: "256",
        expect_log: None,
    };
    let model_dir = repo_root().join("shared/models/conversion-v1");
    let score = |engine: &'static str, mut env: Vec<(&'static str, String)>| {
        env.push(("TAILOR_MODEL_DIR", model_dir.display().to_string()));
        env.push(("TAILOR_ENGINE", engine.to_owned()));
        Case {
            label: format!("tailor-score ({engine})"),
            memory_mb: "512",
            expect_log: Some(format!(r#"engine: \"{engine}\""#)),
            ..function("tailor-score", env)
        }
    };

    let hello = profile_dir().join("examples/hello");
    let mut cases = Vec::new();
    if hello.is_file() {
        cases.push(Case {
            label: "hello (example)".to_owned(),
            exe: hello,
            function_name: "hello".to_owned(),
            memory_mb: "128",
            env: Vec::new(),
            expect_log: None,
        });
    } else {
        println!(
            "skipped hello: {} is missing; build it first with\n    cargo build --release -p tailor-aws --example hello",
            hello.display()
        );
    }
    cases.push(function(
        "tailor-ingest",
        vec![stream_env("TAILOR_STREAM_INGESTED", "ingested")],
    ));
    cases.push(function(
        "tailor-enrich",
        vec![
            stream_env("TAILOR_STREAM_ENRICHED", "enriched"),
            stream_env("TAILOR_STREAM_CONSENT_CHANGES", "consent-changes"),
        ],
    ));
    cases.push(function("tailor-features", Vec::new()));
    cases.push(function("tailor-consent", Vec::new()));
    cases.push(score("tract", Vec::new()));
    let ort = std::env::var_os("ORT_DYLIB_PATH").map_or_else(
        || {
            repo_root()
                .join("infra/ort")
                .join(std::env::consts::ARCH)
                .join("libonnxruntime.so")
        },
        PathBuf::from,
    );
    if ort.is_file() {
        cases.push(score(
            "ort",
            vec![("ORT_DYLIB_PATH", ort.display().to_string())],
        ));
    } else {
        println!(
            "skipped tailor-score (ort): no ONNX Runtime at {}; run infra/ort/fetch.sh",
            ort.display()
        );
    }
    cases
}

/// Accepts connections on `listener` until one asks for the next event,
/// and sends back when that request had fully arrived, with the connection
/// (kept open, so the runtime waits for an answer that never comes).
fn runtime_api(listener: &TcpListener, found: &mpsc::Sender<(Instant, TcpStream)>) {
    loop {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let at = Instant::now();
        let head = String::from_utf8_lossy(&request);
        if head.starts_with("GET /2018-06-01/runtime/invocation/next ") {
            let _ = found.send((at, stream));
            return;
        }
        // Anything else before the first poll is unexpected: say what it was.
        eprintln!(
            "runtime API: unexpected request {:?}",
            head.lines().next().unwrap_or_default()
        );
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn start_once(case: &Case) -> Sample {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || runtime_api(&listener, &tx));

    let mut command = Command::new(&case.exe);
    // The process sees only what Lambda would give it, plus the function's
    // configuration: nothing from this machine's environment.
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", &case.function_name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", case.memory_mb)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cold-start")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/25/[$LATEST]cold-start",
        )
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("TAILOR_TABLE_PREFIX", "tailor")
        .envs(case.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{}: cannot start {}: {e}", case.label, case.exe.display()));
    let (polled, connection) = loop {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(found) => break found,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let exited = child.try_wait().unwrap().is_some();
                if exited || spawned.elapsed() > START_TIMEOUT {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "{}: {} before its first poll\nstdout:\n{}\nstderr:\n{}",
                        case.label,
                        if exited { "exited" } else { "timed out" },
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("{}: the runtime API listener stopped", case.label)
            }
        }
    };
    let peak_rss_kib = peak_rss_kib(child.id());
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    drop(connection);
    if let Some(expected) = &case.expect_log {
        let logs = String::from_utf8_lossy(&out.stdout);
        assert!(
            logs.lines()
                .any(|l| l.contains("model loaded") && l.contains(expected.as_str())),
            "{}: no \"model loaded\" line with {expected}\nstdout:\n{logs}\nstderr:\n{}",
            case.label,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Sample {
        to_first_poll: polled - spawned,
        peak_rss_kib,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

/// The size of a zip holding only `file` with its symbols stripped (as
/// cargo lambda strips them), deflated at `zip`'s default level; `None`
/// without `strip` or `zip`.
fn stripped_zip_size(file: &Path) -> Option<u64> {
    let dir = std::env::temp_dir().join(format!("tailor-cold-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let stripped = dir.join("bootstrap");
    let archive = dir.join("package.zip");
    let quiet = |program: &str| {
        let mut command = Command::new(program);
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    };
    let size = quiet("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(file)
        .status()
        .is_ok_and(|s| s.success())
        .then(|| {
            quiet("zip")
                .args(["-q", "-X", "-j"])
                .arg(&archive)
                .arg(&stripped)
                .status()
                .is_ok_and(|s| s.success())
        })
        .filter(|&zipped| zipped)
        .and_then(|_| std::fs::metadata(&archive).ok())
        .map(|m| m.len());
    let _ = std::fs::remove_dir_all(&dir);
    size
}

/// The architecture of the `bootstrap` in a cargo-lambda zip, from its ELF
/// header (`unzip -p`).
fn package_arch(zip: &Path) -> &'static str {
    let Ok(mut child) = Command::new("unzip")
        .args(["-p"])
        .arg(zip)
        .arg("bootstrap")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return "?";
    };
    let mut header = [0u8; 20];
    let read = child
        .stdout
        .as_mut()
        .is_some_and(|out| out.read_exact(&mut header).is_ok());
    let _ = child.kill();
    let _ = child.wait();
    match (
        read,
        &header[..4],
        u16::from_le_bytes([header[18], header[19]]),
    ) {
        (true, b"\x7fELF", 0xB7) => "arm64",
        (true, b"\x7fELF", 0x3E) => "x86_64",
        _ => "?",
    }
}

fn main() {
    let runs: usize = std::env::var("TAILOR_COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(20);
    let cases = cases();

    for case in &cases {
        start_once(case); // warm-up: page cache, and a check that it starts
    }
    let mut samples: Vec<Vec<Sample>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (case, samples) in cases.iter().zip(&mut samples) {
            samples.push(start_once(case));
        }
    }

    println!();
    println!(
        "cold start: process spawn -> first GET .../invocation/next, {runs} runs each ({} {})",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
    println!(
        "| binary | min | median | p90 | max | peak RSS at first poll | binary size | stripped, zipped |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (case, samples) in cases.iter().zip(&samples) {
        let mut times: Vec<Duration> = samples.iter().map(|s| s.to_first_poll).collect();
        times.sort();
        let rss = samples.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0);
        let size = std::fs::metadata(&case.exe).map(|m| m.len()).unwrap_or(0);
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {} | {} |",
            case.label,
            ms(times[0]),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.9)),
            ms(times[times.len() - 1]),
            rss as f64 / 1024.0,
            mib(size),
            stripped_zip_size(&case.exe).map_or_else(|| "-".to_owned(), mib),
        );
    }

    let lambda = profile_dir()
        .parent()
        .expect("<target>/<profile>")
        .join("lambda");
    println!();
    println!("packages under {}:", lambda.display());
    let mut any = false;
    for function in ["ingest", "enrich", "features", "consent", "score"] {
        let zip = lambda.join(format!("tailor-{function}/bootstrap.zip"));
        if let Ok(meta) = std::fs::metadata(&zip) {
            any = true;
            println!(
                "  tailor-{function}/bootstrap.zip: {} bytes ({}), bootstrap for {}",
                meta.len(),
                mib(meta.len()),
                package_arch(&zip)
            );
        }
    }
    for arch in ["arm64", "x86_64"] {
        let zip = lambda.join(format!("ort-layer-{arch}.zip"));
        if let Ok(meta) = std::fs::metadata(&zip) {
            any = true;
            println!(
                "  ort-layer-{arch}.zip: {} bytes ({})",
                meta.len(),
                mib(meta.len())
            );
        }
    }
    if !any {
        println!("  none; build them with infra/aws/package.sh");
    }
}
