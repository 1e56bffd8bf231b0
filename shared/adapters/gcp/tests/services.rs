//! The Cloud Run binary itself, run as Cloud Run runs it: one process per
//! function listening on its `PORT`, fed by real push subscriptions in the
//! Pub/Sub emulator, its state in the Firestore emulator. Tests publish
//! events to the input topic as a producer does and check what comes out:
//! the documents, the next topics and the dead-letter topics.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::Deployment;
use support::services::{
    EXE, Service, service_env, settle, subscribe, subscribe_pull, subscribe_with,
};
use tailor_core::ports::Table;
use tailor_runtime::cost::Platform;

/// The tables the local platform's state is compared on.
async fn compared_state(d: &Deployment) -> BTreeMap<Table, Vec<(String, Value)>> {
    let mut state = BTreeMap::new();
    for table in [Table::FeatureInputs, Table::Features, Table::Identity] {
        state.insert(table, d.table(table).await);
    }
    state
}

/// A generated stream that ends at today's start: Pub/Sub stamps messages
/// with the time they are published, and the services expire state by it,
/// so the events must be as recent as a live stream's.
fn recent_stream() -> Vec<Vec<u8>> {
    const DAY: i64 = 86_400_000;
    let today = tailor_core::ports::Clock::now(&tailor_runtime::WallClock).as_millis() / DAY * DAY;
    let options = tailor_gen::GenOptions {
        profiles: 6,
        days: 3,
        seed: 23,
        end: tailor_core::Timestamp::from_millis(today),
        ..tailor_gen::GenOptions::default()
    };
    let mut out = Vec::new();
    tailor_gen::generate(&options, &mut out).unwrap();
    // Pub/Sub stamps each message with when it was published, long after
    // the stream's `sent_at`: from a client SDK that gap would be taken as
    // clock skew. Sent by a server-side producer, whose clock is trusted,
    // the events keep their own times on both platforms.
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| match serde_json::from_slice::<Value>(line) {
            // Only a client's kind is changed: a line that breaks the
            // contract keeps breaking it.
            Ok(mut event)
                if matches!(
                    event["source"]["kind"].as_str(),
                    Some("web" | "ios" | "android")
                ) =>
            {
                event["source"]["kind"] = json!("server");
                serde_json::to_vec(&event).unwrap()
            }
            _ => line.to_vec(),
        })
        .collect()
}

/// How the stream functions get their messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Push subscriptions to each service's `/push`.
    Push,
    /// Each service pulls its own subscription (`TAILOR_PULL_SUBSCRIPTION`).
    Pull,
}

/// `function`'s service on `d`, subscribed to `topic` by `delivery`.
async fn stage_service(
    d: &Deployment,
    env: &[(&'static str, String)],
    function: &str,
    topic: &str,
    delivery: Delivery,
) -> Service {
    match delivery {
        Delivery::Push => {
            let service = Service::start(function, env);
            subscribe(d, function, topic, &service).await;
            service
        }
        Delivery::Pull => {
            subscribe_pull(d, function, topic).await;
            let mut env = env.to_vec();
            env.push(("TAILOR_PULL_SUBSCRIPTION", function.to_owned()));
            env.push(("TAILOR_PULL_BATCH", "50".to_owned()));
            Service::start(function, &env)
        }
    }
}

#[test]
fn a_generated_stream_pushed_through_the_services_gives_the_local_platforms_state() {
    generated_stream_through_the_services(Delivery::Push);
}

#[test]
fn a_generated_stream_pulled_by_the_services_gives_the_local_platforms_state() {
    generated_stream_through_the_services(Delivery::Pull);
}

fn generated_stream_through_the_services(delivery: Delivery) {
    let lines = recent_stream();
    let local = tailor_tests::kit::local_state(&lines, 50);
    assert!(
        local[&Table::Features].len() >= 2,
        "the stream builds features: {} profiles",
        local[&Table::Features].len()
    );
    let rt = tailor_tests::cloud::runtime();
    rt.block_on(async {
        let d = Deployment::create("services").await;
        d.create_topic("events").await;
        let env = service_env(&d);
        let ingest = stage_service(&d, &env, "ingest", "events", delivery).await;
        let enrich = stage_service(&d, &env, "enrich", "ingested", delivery).await;
        let features = stage_service(&d, &env, "features", "enriched", delivery).await;
        let consent = stage_service(&d, &env, "consent", "consent-changes", delivery).await;

        for batch in lines.chunks(50) {
            d.publish("events", batch).await;
        }
        let got = settle(
            Duration::from_secs(180),
            || compared_state(&d),
            |s| *s == local,
        )
        .await;
        let differences = tailor_tests::kit::differences(&local, &got);
        assert!(differences.is_empty(), "{}", differences.join("\n"));

        // The taps on the inner topics saw every published message, keyed
        // by person (ingest) and profile (enrich).
        let ingested = d.pull("ingested-tap").await;
        assert!(!ingested.is_empty());
        tailor_tests::cloud::assert_keyed_by_person(
            ingested.iter().map(|(_, key, data, _)| (key, data)),
            "ordering key",
        );
        // The stream's refused lines (regions without a destination among
        // them) were dead-lettered with their reason and acknowledged, none
        // given up after retries: none reached a dead-letter topic.
        let letters = d.table(Table::DeadLetters).await;
        assert!(
            letters.iter().any(|(key, _)| !key.starts_with("volume/")),
            "{letters:?}"
        );
        assert!(
            letters
                .iter()
                .all(|(_, l)| l["reason"] != "retries_exhausted"),
            "{letters:?}"
        );
        for id in ["ingest", "enrich", "features", "consent"] {
            assert!(
                d.pull(&format!("{id}-dead-kept")).await.is_empty(),
                "{id} gave a message up"
            );
        }
        // Every service logged a cost record per invocation, as Cloud
        // Logging takes it: a structured entry on stdout (consent only
        // runs when the stream carries a consent change).
        for (service, function, invoked) in [
            (&ingest, "ingest", true),
            (&enrich, "enrich", true),
            (&features, "features", true),
            (&consent, "consent", false),
        ] {
            let entries = service.stdout.json_lines_with("cost");
            assert!(
                !invoked || !entries.is_empty(),
                "{function} logged no cost record"
            );
            for entry in &entries {
                assert_eq!(entry["message"], "cost record");
                assert_eq!(entry["logging.googleapis.com/labels"]["function"], function);
                let record = tailor_tests::cost::check(&entry["cost"], Platform::Gcp, function);
                assert_eq!(record.region, "gcp/us-central1");
                assert_eq!((record.memory_mb, record.milli_vcpu), (512, Some(1_000)));
                assert_eq!(record.billed_ms % 100, 0, "Cloud Run bills by 100 ms");
                assert!(record.usage.get("pubsub.throughput") >= 1_000);
                assert_eq!(record.usage.get("cloud_run.requests"), 1);
            }
        }
        drop((ingest, enrich, features, consent));
    });
}

/// The Firestore units the local platform counts for one decision of
/// `request`, as the Firestore store bills its calls.
async fn firestore_units_counted_locally(request: &Value) -> [u128; 3] {
    let platform = tailor_local::LocalPlatform::open_counting_cloud_units(
        None,
        &tailor_tests::settings(tailor_runtime::ClockMode::Wall),
        &tailor_runtime::Function::ALL,
    )
    .unwrap();
    let request = serde_json::from_value(request.clone()).unwrap();
    let now = tailor_core::ports::Clock::now(&tailor_runtime::WallClock);
    let (_, logged) = platform.decide(&request, now).await.unwrap();
    logged.unwrap();
    let billed = platform.functions().store().take().billed;
    let units = |unit: &str| {
        billed
            .iter()
            .find(|(name, _)| *name == unit)
            .map_or(0, |(_, n)| u128::from(*n))
    };
    [
        tailor_runtime::cost::billing::firestore::READS,
        tailor_runtime::cost::billing::firestore::WRITES,
        tailor_runtime::cost::billing::firestore::DELETES,
    ]
    .map(units)
}

/// The score service answers decisions concurrently, and each decision
/// logs its own cost record, naming it and counting the store calls it made
/// alone, however many requests were in flight beside it: eight decisions
/// at once for people the service does not know each bill what one such
/// decision alone bills, which is what the local platform counts for it.
#[tokio::test(flavor = "multi_thread")]
async fn each_decision_logs_its_own_cost_record_however_many_run_at_once() {
    let d = Deployment::create("decisions").await;
    let mut env = service_env(&d);
    // The emulator's first answers are slow; the budget is not under test.
    env.push(("TAILOR_STORE_BUDGET_MS", "10000".to_owned()));
    let score = Service::start("score", &env);
    let request = |n: usize| {
        json!({
            "profile": format!("user:nobody-{n}"),
            "purpose": "marketing",
            "placement": "offer",
            "region": "eu",
            "consent": ["marketing"],
            "adult": true,
        })
    };
    let decide = |n: usize| {
        let (http, url) = (d.http.clone(), score.url("/v1/decide"));
        let request = request(n);
        async move {
            let response = http.post(url).json(&request).send().await.unwrap();
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            assert_eq!(status, 200, "{answer}");
            answer["decision_id"].as_str().unwrap().to_owned()
        }
    };
    let alone = decide(0).await;
    let at_once: Vec<_> = (1..=8).map(|n| tokio::spawn(decide(n))).collect();
    let mut together = Vec::new();
    for decision in at_once {
        together.push(decision.await.unwrap());
    }

    let entries = score.stdout.wait_for_lines_with("cost", 9);
    let records: BTreeMap<String, _> = entries
        .iter()
        .map(|entry| {
            let record = tailor_tests::cost::check(&entry["cost"], Platform::Gcp, "score");
            (
                record.decision_id.clone().expect("names its decision"),
                record,
            )
        })
        .collect();
    assert_eq!(records.len(), 9, "one record per decision: {entries:?}");
    let store_units = |id: &str| {
        let usage = &records[id].usage;
        ["firestore.reads", "firestore.writes", "firestore.deletes"].map(|item| usage.get(item))
    };
    assert_eq!(
        store_units(&alone),
        firestore_units_counted_locally(&request(0)).await
    );
    for id in &together {
        assert_eq!(store_units(id), store_units(&alone), "{id}");
        assert_eq!(records[id].usage.get("cloud_run.requests"), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_nacked_until_the_last_attempt_lands_on_the_dead_letter_topic() {
    nacked_until_the_last_attempt(Delivery::Push).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pulled_message_nacked_until_the_last_attempt_lands_on_the_dead_letter_topic() {
    nacked_until_the_last_attempt(Delivery::Pull).await;
}

async fn nacked_until_the_last_attempt(delivery: Delivery) {
    let d = Deployment::create("nacked").await;
    d.create_topic("events").await;
    let mut env = service_env(&d);
    // A database that refuses every connection: each delivery is a retry.
    for (name, value) in &mut env {
        if *name == "FIRESTORE_EMULATOR_HOST" {
            *value = "127.0.0.1:9".into();
        }
    }
    // Unordered: the emulator dead-letters only unordered subscriptions.
    let ingest = match delivery {
        Delivery::Push => {
            let ingest = Service::start("ingest", &env);
            subscribe_with(&d, "ingest", "events", Some(&ingest), false).await;
            ingest
        }
        Delivery::Pull => {
            subscribe_with(&d, "ingest", "events", None, false).await;
            env.push(("TAILOR_PULL_SUBSCRIPTION", "ingest".to_owned()));
            Service::start("ingest", &env)
        }
    };
    let line = serde_json::to_vec(&tailor_tests::event(
        "evt-nacked-0001",
        "content_view",
        "2026-11-20T10:00:00Z",
        json!({"anonymous_id": "a-1"}),
        json!({"content_id": "c-1", "category": "guides"}),
    ))
    .unwrap();
    d.publish("events", std::slice::from_ref(&line)).await;
    let dead = settle(
        Duration::from_secs(120),
        || d.pull("ingest-dead-kept"),
        |m| !m.is_empty(),
    )
    .await;
    assert_eq!(dead.len(), 1, "the message was given up once");
    assert_eq!(dead[0].2, line, "as it was published");
    assert!(d.pull("ingested-tap").await.is_empty(), "nothing went on");
    drop(ingest);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_message_is_dead_lettered_acknowledged_and_blocks_nothing() {
    let d = Deployment::create("poison").await;
    d.create_topic("events").await;
    let ingest = Service::start("ingest", &service_env(&d));
    subscribe(&d, "ingest", "events", &ingest).await;
    let good = serde_json::to_vec(&tailor_tests::event(
        "evt-after-poison",
        "content_view",
        "2026-11-20T10:00:00Z",
        json!({"anonymous_id": "a-2"}),
        json!({"content_id": "c-1", "category": "guides"}),
    ))
    .unwrap();
    d.publish("events", &[b"\xff\xfe not an event".to_vec(), good])
        .await;
    let out = settle(
        Duration::from_secs(60),
        || d.pull("ingested-tap"),
        |m| !m.is_empty(),
    )
    .await;
    assert_eq!(out.len(), 1, "the good event went on");
    let letters = settle(
        Duration::from_secs(30),
        || d.table(Table::DeadLetters),
        |l| l.iter().any(|(_, l)| l["reason"] == "not_utf8"),
    )
    .await;
    assert!(
        letters.iter().any(|(_, l)| l["reason"] == "not_utf8"),
        "{letters:?}"
    );
    // Acknowledged: it never comes back, so it never reaches the
    // dead-letter topic, however long one waits.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(d.pull("ingest-dead-kept").await.is_empty());
}

#[test]
fn a_missing_variable_stops_the_service_at_start_up_naming_it() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(EXE)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, log) = run(&["ingest"], &[]);
    assert!(!ok);
    assert!(log.contains("GOOGLE_CLOUD_PROJECT"), "{log}");
    let (ok, log) = run(
        &["enrich"],
        &[
            ("GOOGLE_CLOUD_PROJECT", "p"),
            ("TAILOR_COLLECTION_PREFIX", "t"),
            ("TAILOR_TOKEN_KEY", "blackbox-test-key-000"),
        ],
    );
    assert!(!ok);
    assert!(log.contains("TAILOR_TOPIC_ENRICHED"), "{log}");
    let (ok, log) = run(&["scoring"], &[]);
    assert!(!ok);
    assert!(
        log.contains("ingest, enrich, features, consent, score"),
        "{log}"
    );
}
