//! Google's own emulators on loopback for the GCP tests: Pub/Sub and
//! Firestore, as the Google Cloud SDK ships them, started directly
//! (`infra/gcp/emulator.py`) once per test binary on free ports and stopped
//! when the binary exits. `TAILOR_PUBSUB_EMULATOR` / `TAILOR_FIRESTORE_EMULATOR`
//! (`host:port`) use running ones instead. Each test works under its own
//! project and collection prefix, so tests run in parallel against one pair.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support, also included by the benches, each using part of it; tests fail loudly"
)]

pub mod pipeline;
pub mod services;

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use serde_json::{Value, json};
use tailor_core::ports::{Table, Topic};

fn start(kind: &str, variable: &str) -> String {
    if let Ok(running) = std::env::var(variable) {
        return running;
    }
    let port = tailor_tests::cloud::free_port();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../infra/gcp/emulator.py");
    let mut emulator = Command::new("python3");
    emulator
        .arg(script)
        .arg(kind)
        .arg(port.to_string())
        .stderr(Stdio::inherit());
    tailor_tests::cloud::start_ready(emulator, &format!("the {kind} emulator"));
    format!("127.0.0.1:{port}")
}

/// The Pub/Sub emulator's `host:port`, started on first use.
pub fn pubsub() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| start("pubsub", "TAILOR_PUBSUB_EMULATOR"))
}

/// The Firestore emulator's `host:port`, started on first use.
pub fn firestore() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| start("firestore", "TAILOR_FIRESTORE_EMULATOR"))
}

/// A name no other test in this run uses.
pub fn unique(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        test.replace('_', "-"),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A topic's id in a deployment.
pub const fn topic_id(topic: Topic) -> &'static str {
    match topic {
        Topic::Ingested => "ingested",
        Topic::Enriched => "enriched",
        Topic::ConsentChanges => "consent-changes",
    }
}

/// One test's resources: a project on the Pub/Sub emulator with the
/// pipeline's topics and a pull subscription on each (the test's tap), and
/// a collection prefix on the Firestore emulator.
pub struct Deployment {
    pub project: String,
    pub prefix: String,
    pub http: reqwest::Client,
}

impl Deployment {
    /// Creates the topics and taps.
    pub async fn create(test: &str) -> Self {
        let name = unique(test);
        let d = Self {
            project: format!("p-{name}"),
            prefix: format!("t-{name}"),
            http: reqwest::Client::new(),
        };
        for topic in [Topic::Ingested, Topic::Enriched, Topic::ConsentChanges] {
            d.create_topic(topic_id(topic)).await;
            d.create_subscription(
                &format!("{}-tap", topic_id(topic)),
                topic_id(topic),
                json!({"enableMessageOrdering": true}),
            )
            .await;
        }
        d
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/v1/projects/{}/{path}", pubsub(), self.project)
    }

    /// The topic's full name.
    pub fn topic(&self, id: &str) -> String {
        format!("projects/{}/topics/{id}", self.project)
    }

    pub async fn create_topic(&self, id: &str) {
        let r = self
            .http
            .put(self.url(&format!("topics/{id}")))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "create topic {id}: {}",
            r.text().await.unwrap()
        );
    }

    /// A subscription on `topic` with extra settings (`pushConfig`,
    /// `deadLetterPolicy`, …).
    pub async fn create_subscription(&self, id: &str, topic: &str, extra: Value) {
        let mut body = json!({ "topic": self.topic(topic), "ackDeadlineSeconds": 10 });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self
            .http
            .put(self.url(&format!("subscriptions/{id}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "create subscription {id}: {}",
            r.text().await.unwrap()
        );
    }

    /// Publishes raw payloads to a topic (as a producer would).
    pub async fn publish(&self, topic: &str, payloads: &[Vec<u8>]) {
        let messages: Vec<Value> = payloads
            .iter()
            .map(|p| json!({ "data": base64::engine::general_purpose::STANDARD.encode(p) }))
            .collect();
        let r = self
            .http
            .post(self.url(&format!("topics/{topic}:publish")))
            .json(&json!({ "messages": messages }))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "publish: {}",
            r.text().await.unwrap()
        );
    }

    /// Pulls and acknowledges what a subscription holds: `(message id,
    /// ordering key, data, publish time)` of each message.
    pub async fn pull(&self, subscription: &str) -> Vec<(String, String, Vec<u8>, String)> {
        let mut out = Vec::new();
        loop {
            let r: Value = self
                .http
                .post(self.url(&format!("subscriptions/{subscription}:pull")))
                .json(&json!({ "maxMessages": 1000, "returnImmediately": true }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let received = r["receivedMessages"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if received.is_empty() {
                break;
            }
            let ack_ids: Vec<Value> = received.iter().map(|m| m["ackId"].clone()).collect();
            for m in received {
                let message = &m["message"];
                out.push((
                    message["messageId"].as_str().unwrap_or_default().to_owned(),
                    message["orderingKey"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    base64::engine::general_purpose::STANDARD
                        .decode(message["data"].as_str().unwrap_or_default())
                        .unwrap(),
                    message["publishTime"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ));
            }
            let r = self
                .http
                .post(self.url(&format!("subscriptions/{subscription}:acknowledge")))
                .json(&json!({ "ackIds": ack_ids }))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
        out
    }

    /// The Firestore store over this deployment's collections.
    pub fn store(&self) -> tailor_gcp::FirestoreStore {
        tailor_gcp::FirestoreStore::new(
            &format!("http://{}", firestore()),
            &self.project,
            "(default)",
            self.prefix.clone(),
            tailor_gcp::firestore::Auth::Emulator,
        )
        .unwrap()
    }

    /// Every live item of a table, as JSON, by key.
    pub async fn table(&self, table: Table) -> Vec<(String, Value)> {
        items(&self.store(), table).await
    }

    /// The publisher to this deployment's topics.
    pub async fn publisher(&self) -> tailor_gcp::PubSubPublisher {
        let topics = [Topic::Ingested, Topic::Enriched, Topic::ConsentChanges]
            .into_iter()
            .map(|t| (t, self.topic(topic_id(t))))
            .collect();
        tailor_gcp::PubSubPublisher::connect(topics, Some(&format!("http://{}", pubsub())), 3)
            .await
            .unwrap()
    }
}

/// Every live item of `table` in `store`, as JSON, by key.
pub async fn items(store: &tailor_gcp::FirestoreStore, table: Table) -> Vec<(String, Value)> {
    store
        .scan(table)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, i)| (k, serde_json::from_slice(&i.value).unwrap()))
        .collect()
}
