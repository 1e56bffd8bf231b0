//! Messages per second through one ingest service, by push and by pull:
//! the `tailor-gcp ingest` binary (release build) behind a push
//! subscription of the Pub/Sub emulator, as the Terraform module subscribes
//! it (ordered by person, retried with backoff, dead-lettered after five
//! attempts), then pulling the same kind of subscription in batches
//! (`TAILOR_PULL_SUBSCRIPTION`, batches of 100), state in the Firestore
//! emulator. Each run publishes N valid events for P people and times
//! first publish to the last message out on the `ingested` topic, read
//! from a pull subscription.
//!
//!     cargo bench -p tailor-gcp --bench delivery -- N P
//!
//! (defaults 2000 50). The emulator's delivery is part of what is timed,
//! as Pub/Sub's is in production. Results are recorded in
//! `docs/benchmarks.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    reason = "a benchmark fails loudly and prints ratios"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::Deployment;
use support::services::{Service, service_env, subscribe, subscribe_pull};

/// N events for `people` people.
fn events(n: usize, people: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let e = tailor_tests::event(
                &format!("evt-delivery-{i:06}"),
                "content_view",
                &format!("2026-11-20T10:{:02}:{:02}Z", (i / 60) % 60, i % 60),
                json!({"user_id": format!("u-{}", i % people)}),
                json!({"content_id": format!("c-{}", i % 40), "category": "guides"}),
            );
            serde_json::to_vec(&e).unwrap()
        })
        .collect()
}

/// Seconds from the first publish until every event is out of ingest.
async fn through_ingest(events: &[Vec<u8>], pull: bool) -> f64 {
    let d = Deployment::create(if pull { "pull-bench" } else { "push-bench" }).await;
    d.create_topic("events").await;
    let mut env = service_env(&d);
    env.push(("TAILOR_LOG", "warn".into()));
    let ingest = if pull {
        subscribe_pull(&d, "ingest", "events").await;
        env.push(("TAILOR_PULL_SUBSCRIPTION", "ingest".into()));
        Service::start("ingest", &env)
    } else {
        let ingest = Service::start("ingest", &env);
        subscribe(&d, "ingest", "events", &ingest).await;
        ingest
    };
    let started = Instant::now();
    for chunk in events.chunks(1000) {
        d.publish("events", chunk).await;
    }
    let mut out = 0;
    let limit = Instant::now() + Duration::from_secs(600);
    while out < events.len() && Instant::now() < limit {
        out += d.pull("ingested-tap").await.len();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(out, events.len(), "every event reached the ingested topic");
    drop(ingest);
    elapsed
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (n, people) = (
        args.first().copied().unwrap_or(2000),
        args.get(1).copied().unwrap_or(50),
    );
    let events = events(n, people);
    tailor_tests::cloud::runtime().block_on(async {
        println!("{n} events for {people} people through one ingest service\n");
        println!("| delivery | all out after | messages / s |");
        println!("| --- | --- | --- |");
        for (name, pull) in [("push", false), ("pull", true)] {
            let seconds = through_ingest(&events, pull).await;
            println!("| {name} | {seconds:.1} s | {:.0} |", n as f64 / seconds);
        }
    });
}
