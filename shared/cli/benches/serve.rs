//! `tailor serve` decisions over loopback HTTP at a fixed rate: 1,000
//! requests/s from 8 keep-alive connections for 10 s, latency measured from
//! each request's scheduled send time (so queueing counts).
//!
//!     cargo bench -p tailor-cli --bench serve
//!
//! Results are recorded in `docs/benchmarks.md`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark fails loudly"
)]

use std::time::{Duration, Instant};

use std::io::{Read, Write};
use tailor_core::batch::Record;
use tailor_core::token::TokenKey;
use tailor_gen::{GenOptions, generate};
use tailor_local::LocalPlatform;
use tailor_runtime::http::{Access, Api, Routes};
use tailor_runtime::{ClockMode, Function, RunReport, Settings};

const RATE: u64 = 1_000;
const SECONDS: u64 = 10;
const CONNECTIONS: u64 = 8;

fn client(addr: std::net::SocketAddr, users: &[String], start: Instant, offset: u64) -> Vec<f64> {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let interval = Duration::from_micros(1_000_000 * CONNECTIONS / RATE);
    let count = RATE * SECONDS / CONNECTIONS;
    let mut latencies = Vec::with_capacity(count as usize);
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..count {
        let scheduled =
            start + interval * u32::try_from(i).unwrap() + Duration::from_micros(offset * 125);
        if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let user = &users[(i as usize + offset as usize) % users.len()];
        let body = format!(
            r#"{{"profile":"{user}","purpose":"marketing","placement":"offer","region":"eu","consent":["analytics","marketing"],"adult":true}}"#
        );
        let request = format!(
            "POST /v1/decide HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut got = Vec::new();
        loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "server closed the connection");
            got.extend_from_slice(&buf[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
                assert!(head.starts_with("http/1.1 200"), "{head}");
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("content-length: ")
                            .and_then(|v| v.trim().parse().ok())
                    })
                    .unwrap();
                if got.len() >= end + 4 + length {
                    break;
                }
            }
        }
        latencies.push(scheduled.elapsed().as_secs_f64() * 1e6);
    }
    latencies
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("tailor-serve-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut settings = Settings::new(tailor_cli::commands::default_model_dir());
    settings.token_key = Some(TokenKey::new(*b"bench-key-0123456789").unwrap());
    settings.clock = ClockMode::Wall;
    let pipeline =
        LocalPlatform::open(Some(&dir.join("state.redb")), &settings, &Function::ALL).unwrap();
    let engine = pipeline.model().map_or_else(
        || "no model".to_owned(),
        |m| tailor_core::score::Model::info(m).engine,
    );
    let mut stream = Vec::new();
    generate(
        &GenOptions {
            profiles: 200,
            days: 14,
            ..GenOptions::default()
        },
        &mut stream,
    )
    .unwrap();
    let records: Vec<Record> = stream
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| Record {
            partition: None,
            id: i.to_string(),
            received_at: tailor_runtime::clock::replay_time(l)
                .unwrap_or(tailor_core::Timestamp::from_millis(0)),
            bytes: l.to_vec(),
            may_change_consent: true,
        })
        .collect();
    let mut report = RunReport::default();
    for chunk in records.chunks(100) {
        runtime.block_on(pipeline.process(chunk, &mut report));
    }
    pipeline.flush().unwrap();
    let users: Vec<String> = pipeline
        .store()
        .scan(tailor_core::ports::Table::FeatureInputs)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("user:"))
        .collect();

    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(tailor_runtime::http::serve(
        listener,
        std::sync::Arc::new(pipeline),
        // A benchmark on loopback: no keys.
        Api {
            routes: Routes::ALL,
            access: Access::open(),
        },
        std::future::pending(),
    ));
    let start = Instant::now() + Duration::from_millis(200);
    let mut latencies: Vec<f64> = std::thread::scope(|scope| {
        let users = &users;
        let threads: Vec<_> = (0..CONNECTIONS)
            .map(|c| scope.spawn(move || client(addr, users, start, c)))
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "serve/decide ({engine}): {} requests in {elapsed:.1} s ({:.0}/s) p50={:.0}µs p90={:.0}µs p99={:.0}µs max={:.0}µs",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
