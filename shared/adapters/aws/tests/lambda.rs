//! The Lambda binaries, run the way Lambda runs them: each process polls a
//! Runtime API server for events, and its DynamoDB and Kinesis calls go to
//! moto. Tests check the responses, the records on the output streams and
//! the state in DynamoDB.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{Value, json};
use support::Deployment;
use support::runtime::{Function, Runtime, failures, kinesis_event, spawn};
use tailor_core::ports::Table;
use tailor_runtime::cost::Platform;

type KinesisRecord = (String, String, Vec<u8>, i64);

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../events/envelopes")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A function binary polling its own Runtime API server.
struct Lambda {
    runtime: Runtime,
    process: Function,
}

impl Lambda {
    async fn start(exe: &str, d: &Deployment, extra: &[(&'static str, String)]) -> Self {
        let runtime = Runtime::start().await;
        let mut env = d.function_env();
        env.extend(extra.iter().cloned());
        let process = spawn(exe, &runtime, &env);
        Self { runtime, process }
    }

    /// Delivers records as Lambda does for a Kinesis event source with
    /// `ReportBatchItemFailures`: after a reported failure, again from the
    /// lowest failed record, up to three times. Returns what still failed.
    async fn deliver(&self, stream: &str, records: &[KinesisRecord]) -> Vec<String> {
        let mut pending = records.to_vec();
        let mut failed = Vec::new();
        for _ in 0..3 {
            if pending.is_empty() {
                break;
            }
            let response = self
                .runtime
                .invoke(kinesis_event(stream, &pending))
                .await
                .expect("the function answers, not errors");
            failed = failures(&response);
            let Some(from) = pending.iter().position(|(seq, ..)| failed.contains(seq)) else {
                return Vec::new();
            };
            pending = pending[from..].to_vec();
        }
        failed
    }
}

fn sequenced(lines: &[Vec<u8>], from: usize) -> Vec<KinesisRecord> {
    let mut last = 0;
    lines
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            last = tailor_runtime::clock::replay_time(bytes)
                .map_or(last, tailor_core::Timestamp::as_millis);
            (
                format!("{:056}", from + i),
                "producer".to_owned(),
                bytes.clone(),
                last,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kinesis_envelope_runs_through_the_ingest_binary() {
    let d = Deployment::create("envelope").await;
    let ingest = Lambda::start(env!("CARGO_BIN_EXE_tailor-ingest"), &d, &[]).await;
    let response = ingest
        .runtime
        .invoke(fixture("kinesis-event.json"))
        .await
        .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));

    let out = d.read("ingested").await;
    assert_eq!(out.len(), 2, "the two good records go on to enrich");
    tailor_tests::cloud::assert_keyed_by_person(
        out.iter().map(|(_, key, data, _)| (key, data)),
        "partition key",
    );
    let letters: Vec<(String, Value)> = d
        .table(Table::DeadLetters)
        .await
        .into_iter()
        .filter(|(k, _)| !k.starts_with("volume/"))
        .collect();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].1["reason"], "contract");
    assert_eq!(d.table(Table::Dedup).await.len(), 2);

    // The invocation's cost record, as CloudWatch takes it: an Embedded
    // Metric Format line on stdout.
    let lines = ingest.process.stdout.wait_for_lines_with("_aws", 1);
    assert_eq!(lines.len(), 1, "one cost record per invocation: {lines:?}");
    let emf = &lines[0];
    let directive = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Tailor");
    assert_eq!(
        directive["Dimensions"],
        json!([["function"], ["function_name"]])
    );
    assert_eq!(
        emf["function_name"], "tailor-ingest",
        "AWS_LAMBDA_FUNCTION_NAME"
    );
    for metric in directive["Metrics"].as_array().unwrap() {
        let name = metric["Name"].as_str().unwrap();
        assert!(emf[name].is_number(), "metric {name} has a number: {emf}");
    }
    assert!(emf["_aws"]["Timestamp"].is_u64());
    let record = tailor_tests::cost::check(&emf["cost"], Platform::Aws, "ingest");
    assert_eq!(record.region, "aws/us-east-1");
    assert_eq!(record.memory_mb, 256, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
    assert_eq!(record.usage.get("lambda.requests"), 1);
    assert!(
        record.init_billed_ms.is_some(),
        "the first invocation carries the init phase"
    );
    // Data-In: each of the two records put, up to the next KiB; the
    // stream's bytes read: every record delivered.
    let put: Vec<u64> = out
        .iter()
        .map(|(_, key, data, _)| (key.len() + data.len()) as u64)
        .collect();
    assert_eq!(
        record.usage.get("kinesis.on_demand.ingest"),
        put.iter()
            .map(|b| u128::from(b.div_ceil(1_024) * 1_024))
            .sum::<u128>()
    );
    let delivered: usize = fixture("kinesis-event.json")["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            base64::engine::general_purpose::STANDARD
                .decode(r["kinesis"]["data"].as_str().unwrap())
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(record.bytes_in, delivered as u64);
    assert!(record.usage.get("dynamodb.on_demand.write_units") > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_record_is_dead_lettered_and_never_blocks_the_shard() {
    let d = Deployment::create("poison").await;
    let ingest = Lambda::start(env!("CARGO_BIN_EXE_tailor-ingest"), &d, &[]).await;
    let mut lines = tailor_tests::generated(3, 2, 11);
    lines.truncate(6);
    lines.insert(2, b"\xff\xfe not an event".to_vec());
    lines.insert(4, br#"{"event_id": 7}"#.to_vec());
    let records = sequenced(&lines, 1);
    let response = ingest
        .runtime
        .invoke(kinesis_event(&d.stream("events"), &records))
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    let out = d.read("ingested").await;
    assert!(
        !out.is_empty(),
        "the records after the poison ones were processed"
    );
    let reasons: Vec<Value> = d
        .table(Table::DeadLetters)
        .await
        .into_iter()
        .map(|(_, l)| l["reason"].clone())
        .collect();
    assert!(reasons.contains(&json!("not_utf8")), "{reasons:?}");
    assert!(reasons.contains(&json!("contract")), "{reasons:?}");
    // Delivered again (a retry of the whole batch), nothing new comes out.
    let again = ingest
        .runtime
        .invoke(kinesis_event(&d.stream("events"), &records))
        .await
        .unwrap();
    assert!(failures(&again).is_empty());
    assert!(
        d.read("ingested").await.is_empty(),
        "no event published twice"
    );
}

#[test]
fn a_generated_stream_through_the_binaries_matches_the_local_platform() {
    let lines = tailor_tests::generated(12, 4, 5);
    let local = tailor_tests::kit::local_state(&lines, 50);
    let local_features = local[&Table::Features].clone();
    assert!(local_features.len() >= 5, "the stream builds features");

    let rt = tailor_tests::cloud::runtime();
    rt.block_on(async {
        let d = Deployment::create("chain").await;
        let ingest = Lambda::start(env!("CARGO_BIN_EXE_tailor-ingest"), &d, &[]).await;
        let enrich = Lambda::start(env!("CARGO_BIN_EXE_tailor-enrich"), &d, &[]).await;
        let features = Lambda::start(env!("CARGO_BIN_EXE_tailor-features"), &d, &[]).await;
        let consent = Lambda::start(env!("CARGO_BIN_EXE_tailor-consent"), &d, &[]).await;
        for (n, batch) in lines.chunks(50).enumerate() {
            let records = sequenced(batch, n * 50);
            assert!(
                ingest
                    .deliver(&d.stream("events"), &records)
                    .await
                    .is_empty()
            );
            let ingested = d.read("ingested").await;
            assert!(
                enrich
                    .deliver(&d.stream("ingested"), &ingested)
                    .await
                    .is_empty()
            );
            let enriched = d.read("enriched").await;
            assert!(
                features
                    .deliver(&d.stream("enriched"), &enriched)
                    .await
                    .is_empty()
            );
            let changes = d.read("consent-changes").await;
            assert!(
                consent
                    .deliver(&d.stream("consent-changes"), &changes)
                    .await
                    .is_empty()
            );
        }
        let mut state = std::collections::BTreeMap::new();
        for table in local.keys() {
            let mut items = d.table(*table).await;
            if *table == Table::FeatureInputs {
                // Kinesis gives positions, the local chain none: the
                // positions applied are delivery bookkeeping, not features.
                for (_, inputs) in &mut items {
                    if let Some(o) = inputs.as_object_mut() {
                        assert!(o.remove("applied").is_some(), "positions are kept");
                    }
                }
            }
            state.insert(*table, items);
        }
        assert_eq!(
            tailor_tests::kit::differences(&local, &state),
            Vec::<String>::new(),
            "the binaries reach the local platform's state"
        );

        // Score, behind its Function URL, decides from those features.
        let score = Lambda::start(
            env!("CARGO_BIN_EXE_tailor-score"),
            &d,
            &[
                (
                    "TAILOR_MODEL_DIR",
                    concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/conversion-v1").into(),
                ),
                ("TAILOR_ENGINE", "tract".into()),
                // Correctness, not latency: a loaded test machine's moto
                // must not turn the decision into a store-timeout fallback.
                ("TAILOR_STORE_BUDGET_MS", "5000".into()),
            ],
        )
        .await;
        let (profile, _) = &local_features[0];
        let request = json!({
            "profile": profile,
            "purpose": "marketing",
            "placement": "offer",
            "region": "eu",
            "consent": ["analytics", "marketing", "personalization"],
            "adult": true,
        });
        let decided = score
            .runtime
            .invoke(url_event("POST", "/v1/decide", Some(&request)))
            .await
            .unwrap();
        assert_eq!(decided["statusCode"], 200, "{decided}");
        let answer: Value = serde_json::from_str(decided["body"].as_str().unwrap()).unwrap();
        assert_eq!(answer["model"]["engine"], "tract", "{answer}");
        assert!(answer.get("snapshot").is_none(), "no inputs in the answer");
        let id = answer["decision_id"].as_str().unwrap();
        // The request's cost record is the decision's own cost.
        let lines = score.process.stdout.wait_for_lines_with("_aws", 1);
        let record = tailor_tests::cost::check(&lines[0]["cost"], Platform::Aws, "score");
        assert_eq!(record.decision_id.as_deref(), Some(id), "{:?}", lines[0]);
        let fetched = score
            .runtime
            .invoke(url_event("GET", &format!("/v1/decisions/{id}"), None))
            .await
            .unwrap();
        assert_eq!(fetched["statusCode"], 200);
        // The logged record is whole: the profile it was made for among it.
        let kept: Value = serde_json::from_str(fetched["body"].as_str().unwrap()).unwrap();
        assert_eq!(kept["profile_id"], profile.as_str());
        for field in ["decision_id", "placement", "action", "reasons", "model"] {
            assert_eq!(kept[field], answer[field], "{field}");
        }
        let bad = score
            .runtime
            .invoke(url_event(
                "POST",
                "/v1/decide",
                Some(&json!({"profile": 1})),
            ))
            .await
            .unwrap();
        assert_eq!(bad["statusCode"], 422);
        let missing = score
            .runtime
            .invoke(url_event("GET", "/v1/decisions/dec_none", None))
            .await
            .unwrap();
        assert_eq!(missing["statusCode"], 404);
        assert_eq!(d.table(Table::Decisions).await.len(), 1);
    });
}

/// A Function URL request event.
fn url_event(method: &str, path: &str, body: Option<&Value>) -> Value {
    json!({
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "requestId": "r-1",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "timeEpoch": 0
        },
        "body": body.map(Value::to_string),
        "isBase64Encoded": false
    })
}

#[test]
fn a_missing_variable_stops_a_function_at_init_with_its_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_tailor-enrich"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("TAILOR_TABLE_PREFIX", "prod")
        .env("TAILOR_TOKEN_KEY", "init-test-token-key")
        .env("TAILOR_STREAM_ENRICHED", "prod-enriched")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TAILOR_STREAM_CONSENT_CHANGES is not set"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tailor-ingest"))
        .env_clear()
        .env("TAILOR_TABLE_PREFIX", "prod")
        .env("TAILOR_STREAM_INGESTED", "prod-ingested")
        .env("TAILOR_TOKEN_KEY", "short")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TAILOR_TOKEN_KEY is not usable"));
}
