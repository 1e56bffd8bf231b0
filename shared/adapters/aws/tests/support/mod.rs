//! Real AWS wire protocol on loopback for the AWS tests: a moto server
//! (Kinesis, DynamoDB), and a Lambda Runtime API server that runs the
//! function binaries the way Lambda does.
//!
//! The moto server is `TAILOR_MOTO_ENDPOINT` when set; otherwise one is
//! started per test binary (`infra/aws/moto_server.py`, after
//! `infra/aws/moto.sh` makes sure the pinned moto is installed) on a free
//! port and stops when the binary exits. Each test works under its own resource
//! prefix, so tests run in parallel against one server.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support, also included by the benches, each using part of it; tests fail loudly"
)]

pub mod pipeline;
pub mod runtime;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_kinesis::types::ShardIteratorType;
use tailor_core::ports::{Table, Topic};

/// The moto endpoint, started on first use.
pub fn moto() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(endpoint) = std::env::var("TAILOR_MOTO_ENDPOINT") {
            return endpoint;
        }
        let port = tailor_tests::cloud::free_port();
        let infra = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../infra/aws");
        // On a fresh machine, install the pinned moto first.
        let status = Command::new("bash")
            .arg(infra.join("moto.sh"))
            .stdout(Stdio::null())
            .status()
            .expect("bash runs infra/aws/moto.sh");
        assert!(status.success(), "infra/aws/moto.sh could not install moto");
        let mut server = Command::new("python3");
        server
            .arg(infra.join("moto_server.py"))
            .arg(port.to_string())
            .stderr(Stdio::null());
        tailor_tests::cloud::start_ready(server, "the moto server (`moto[server]`)");
        format!("http://127.0.0.1:{port}")
    })
}

/// Environment every client and function process uses.
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto().to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// SDK configuration pointed at moto.
pub async fn sdk() -> aws_config::SdkConfig {
    let creds = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(tailor_aws::https_client())
        .endpoint_url(moto())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await
}

/// A fresh prefix for one test's resources.
pub fn prefix(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        test.replace('_', "-")
    )
    .chars()
    .take(48)
    .collect()
}

/// A deployment's resources under one prefix: its tables and streams.
pub struct Deployment {
    pub prefix: String,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    /// The deadline the pipeline's AWS calls run under.
    pub deadline: std::sync::Arc<tailor_aws::Deadline>,
    /// Where reading each stream has got to.
    cursors: std::sync::Mutex<BTreeMap<String, String>>,
}

/// The streams of a deployment, by role.
pub const EVENTS: &str = "events";

pub fn stream_of(topic: Topic) -> &'static str {
    match topic {
        Topic::Ingested => "ingested",
        Topic::Enriched => "enriched",
        Topic::ConsentChanges => "consent-changes",
    }
}

impl Deployment {
    /// Creates every table (TTL on `ttl`) and stream under a fresh prefix.
    pub async fn create(test: &str) -> Self {
        let prefix = prefix(test);
        let config = sdk().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&config);
        let kinesis = aws_sdk_kinesis::Client::new(&config);
        for table in Table::ALL {
            let name = tailor_aws::config::table_name(&prefix, table);
            dynamo
                .create_table()
                .table_name(&name)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("pk")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("pk")
                        .key_type(KeyType::Hash)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
            dynamo
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name("ttl")
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        let d = Self {
            prefix,
            dynamo,
            kinesis,
            deadline: std::sync::Arc::default(),
            cursors: std::sync::Mutex::default(),
        };
        for stream in [EVENTS, "ingested", "enriched", "consent-changes"] {
            d.kinesis
                .create_stream()
                .stream_name(d.stream(stream))
                .shard_count(1)
                .send()
                .await
                .unwrap();
        }
        for stream in ["ingested", "enriched", "consent-changes"] {
            let iterator = d.start_of(stream).await;
            d.cursors
                .lock()
                .unwrap()
                .insert(stream.to_owned(), iterator);
        }
        d
    }

    /// A shard iterator at the start of a stream's (one) shard.
    pub async fn start_of(&self, role: &str) -> String {
        let name = self.stream(role);
        let shard = self
            .kinesis
            .list_shards()
            .stream_name(&name)
            .send()
            .await
            .unwrap()
            .shards()[0]
            .shard_id()
            .to_owned();
        self.kinesis
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .unwrap()
            .to_owned()
    }

    /// Every record a stream holds, from its start, whatever [`read`] has
    /// taken: `(sequence number, partition key, data, arrival ms)`.
    pub async fn all(&self, role: &str) -> Vec<(String, String, Vec<u8>, i64)> {
        let iterator = self.start_of(role).await;
        let key = format!("{role}#all");
        self.cursors.lock().unwrap().insert(key.clone(), iterator);
        self.read(&key).await
    }

    /// A stream's full name.
    pub fn stream(&self, role: &str) -> String {
        format!("{}-{role}", self.prefix)
    }

    /// Environment for a function process of this deployment.
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        let mut env = aws_env();
        env.extend([
            ("TAILOR_TABLE_PREFIX", self.prefix.clone()),
            ("TAILOR_STREAM_INGESTED", self.stream("ingested")),
            ("TAILOR_STREAM_ENRICHED", self.stream("enriched")),
            (
                "TAILOR_STREAM_CONSENT_CHANGES",
                self.stream("consent-changes"),
            ),
            // The key the local platform's tests use, so results compare.
            ("TAILOR_TOKEN_KEY", "blackbox-test-key-000".into()),
            ("TAILOR_CLOCK", "arrival".into()),
            // The test producers send consent changes on the stream.
            ("TAILOR_STREAM_CONSENT", "accept".into()),
        ]);
        env
    }

    /// Records put on a stream since the last call: `(sequence number,
    /// partition key, data, arrival ms)`.
    pub async fn read(&self, role: &str) -> Vec<(String, String, Vec<u8>, i64)> {
        let mut out = Vec::new();
        loop {
            let iterator = self.cursors.lock().unwrap()[role].clone();
            let page = self
                .kinesis
                .get_records()
                .shard_iterator(iterator)
                .limit(10_000)
                .send()
                .await
                .unwrap();
            let n = page.records().len();
            for r in page.records() {
                out.push((
                    r.sequence_number().to_owned(),
                    r.partition_key().unwrap_or_default().to_owned(),
                    r.data().as_ref().to_vec(),
                    r.approximate_arrival_timestamp()
                        .map_or(0, |t| t.to_millis().unwrap_or(0)),
                ));
            }
            if let Some(next) = page.next_shard_iterator() {
                self.cursors
                    .lock()
                    .unwrap()
                    .insert(role.to_owned(), next.to_owned());
            }
            if n == 0 {
                return out;
            }
        }
    }

    /// A store over this deployment's tables (expiring by `clock` when given).
    pub fn store(&self) -> tailor_aws::DynamoStore {
        tailor_aws::DynamoStore::new(
            self.dynamo.clone(),
            self.prefix.clone(),
            std::sync::Arc::new(tailor_aws::Deadline::default()),
        )
    }

    /// Every item of `table`, as JSON, by key (live or not).
    pub async fn table(&self, table: Table) -> Vec<(String, serde_json::Value)> {
        let store =
            self.store().with_clock(
                std::sync::Arc::new(Epoch) as std::sync::Arc<dyn tailor_core::ports::Clock>
            );
        json_items(store.scan(table).await.unwrap())
    }
}

/// Items as JSON, by key.
pub fn json_items(
    items: Vec<(String, tailor_core::ports::Item)>,
) -> Vec<(String, serde_json::Value)> {
    items
        .into_iter()
        .map(|(k, item)| (k, serde_json::from_slice(&item.value).unwrap()))
        .collect()
}

/// A clock at the epoch, for reading items whatever their expiry.
pub struct Epoch;

impl tailor_core::ports::Clock for Epoch {
    fn now(&self) -> tailor_core::Timestamp {
        tailor_core::Timestamp::from_millis(0)
    }
}
