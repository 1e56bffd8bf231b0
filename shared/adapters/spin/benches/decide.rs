//! The score component run natively, as `infra/spin/bench.py` times it
//! served as WebAssembly: the same generated stream taken in through the
//! ingest component, then decisions one request at a time (a fresh
//! platform per request, as Spin starts a fresh instance, the model loaded,
//! the store read over HTTP from the same SQLite server, the decision
//! logged), on one thread and then on two.
//!
//! `cargo bench -p tailor-spin --bench decide [-- DECISIONS]`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark: fails loudly and prints its results"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Served;
use support::api::{self, Endpoint, Native};

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let served = Served::start();
    let now = tailor_core::ports::Clock::now(&tailor_runtime::clock::WallClock);
    let options = tailor_gen::GenOptions {
        profiles: 200,
        days: 14,
        end: now.add_millis(-60_000),
        ..tailor_gen::GenOptions::default()
    };
    let mut stream = Vec::new();
    tailor_gen::generate(&options, &mut stream).unwrap();
    let lines: Vec<Vec<u8>> = stream
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let ingest = Native::on(served.clone(), "ingest");
    for batch in lines.chunks(500) {
        let (status, _) = api::send_events(&ingest, batch);
        assert!(status == 202 || status == 422, "ingest answered {status}");
    }
    let mut people: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter_map(|e| e["subject"]["user_id"].as_str().map(str::to_owned))
        .collect();
    people.sort_unstable();
    people.dedup();
    let requests: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            let (purpose, placement) =
                [("marketing", "offer"), ("personalization", "onboarding")][i % 2];
            serde_json::to_vec(&json!({
                "profile": format!("user:{}", people[i % people.len()]),
                "purpose": purpose,
                "placement": placement,
                "region": "eu",
                "consent": ["analytics", "marketing", "personalization"],
                "adult": true,
            }))
            .unwrap()
        })
        .collect();
    let score = Native::on(served, "score").with("TAILOR_CLOCK", "wall");

    let first = decide_all(&score, &requests[..1]);
    let start = Instant::now();
    let serial = decide_all(&score, &requests);
    let serial_s = start.elapsed();
    let start = Instant::now();
    let halves: Vec<Vec<(Duration, String)>> = std::thread::scope(|s| {
        let a = s.spawn(|| {
            decide_all(
                &score,
                &requests.iter().step_by(2).cloned().collect::<Vec<_>>(),
            )
        });
        let b = s.spawn(|| {
            decide_all(
                &score,
                &requests
                    .iter()
                    .skip(1)
                    .step_by(2)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        });
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let parallel_s = start.elapsed();

    let (mut steps, mut loads, mut scored) = (Vec::new(), Vec::new(), 0);
    for (_, id) in serial.iter().step_by((count / 200).max(1)) {
        let (status, record) = score.request(
            "GET",
            &format!("/v1/decisions/{id}"),
            Some(tailor_tests::API_KEY),
            None,
        );
        assert_eq!(status, 200);
        steps.push(Duration::from_micros(
            record["latency_us"]["total"].as_u64().unwrap(),
        ));
        loads.push(Duration::from_micros(
            record["latency_us"]["load"].as_u64().unwrap(),
        ));
        scored += usize::from(record.get("score").is_some());
    }

    println!("first decision: {}", ms(first[0].0));
    println!();
    println!("| run | decisions | per second | p50 | p90 | p99 | max |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let parallel: Vec<(Duration, String)> = halves.into_iter().flatten().collect();
    for (name, runs, seconds) in [
        ("one thread", &serial, serial_s),
        ("two threads", &parallel, parallel_s),
    ] {
        let mut times: Vec<Duration> = runs.iter().map(|(t, _)| *t).collect();
        times.sort_unstable();
        println!(
            "| {name} | {} | {:.0} | {} | {} | {} | {} |",
            times.len(),
            times.len() as f64 / seconds.as_secs_f64(),
            ms(pct(&times, 0.5)),
            ms(pct(&times, 0.9)),
            ms(pct(&times, 0.99)),
            ms(times[times.len() - 1]),
        );
    }
    println!();
    println!(
        "Inside the component, over {} decisions ({scored} scored by the model):",
        steps.len()
    );
    println!();
    println!("| part | p50 | p90 | p99 | max |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, mut values) in [
        ("decision step (`latency_us.total`)", steps),
        ("store reads (`load`)", loads),
    ] {
        values.sort_unstable();
        println!(
            "| {name} | {} | {} | {} | {} |",
            ms(pct(&values, 0.5)),
            ms(pct(&values, 0.9)),
            ms(pct(&values, 0.99)),
            ms(values[values.len() - 1]),
        );
    }
}

/// Each request's time and the decision id it was answered with.
fn decide_all(score: &Native, requests: &[Vec<u8>]) -> Vec<(Duration, String)> {
    requests
        .iter()
        .map(|body| {
            let start = Instant::now();
            let (status, answer) = score.request(
                "POST",
                "/v1/decide",
                Some(tailor_tests::API_KEY),
                Some(("application/json", body)),
            );
            let took = start.elapsed();
            assert_eq!(status, 200, "{answer}");
            (took, answer["decision_id"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "an index into a short list"
    )]
    let i = ((sorted.len() as f64) * p) as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
