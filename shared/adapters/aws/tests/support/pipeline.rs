//! The functions chained over the AWS adapters in-process, by the
//! runtime's chain: each batch goes through ingest, is read back from the
//! `ingested` stream for enrich, and so on, as the event source mappings
//! would deliver it, with the runtime's redelivery policy. The same
//! runtime code runs in the Lambda binaries; this drives it directly so
//! tests see every record's disposition, which a Kinesis response reduces
//! to the list of retries.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tailor_aws::{Deadline, DynamoStore, KinesisPublisher};
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::disposition::Disposition;
use tailor_core::ports::{Clock, Message, PublishError, Publisher, Table, Topic};
use tailor_runtime::{
    Capabilities, ClockMode, ExpiryClock, Functions, Inbox, Replay, RunReport, Stage, TokioTimer,
};
use tailor_tests::kit::Intercept;

use super::{Deployment, stream_of};

/// Kinesis as the chain's inbox: messages go out with `PutRecords` and are
/// read back from the stream.
pub struct KinesisLoop {
    publisher: KinesisPublisher,
    deployment: Arc<Deployment>,
}

impl Publisher for KinesisLoop {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        self.publisher.publish(topic, key, payload).await
    }

    async fn publish_all(
        &self,
        topic: Topic,
        messages: Vec<Message>,
    ) -> Vec<Result<(), PublishError>> {
        self.publisher.publish_all(topic, messages).await
    }
}

impl Inbox for KinesisLoop {
    async fn take(&self, topic: Topic, now: Timestamp) -> Vec<Record> {
        self.deployment
            .read(stream_of(topic))
            .await
            .into_iter()
            .map(|(seq, _, bytes, _)| Record {
                partition: None,
                id: seq,
                bytes,
                received_at: now,
                may_change_consent: false,
            })
            .collect()
    }
}

/// The functions on AWS, over one deployment.
pub type AwsFunctions = Functions<Intercept<DynamoStore>, KinesisLoop, TokioTimer>;

/// The four stream functions over one deployment.
pub struct AwsPipeline {
    pub runtime: tokio::runtime::Runtime,
    pub deployment: Arc<Deployment>,
    pub functions: AwsFunctions,
    /// The deadline every AWS call of the pipeline runs under.
    pub deadline: Arc<Deadline>,
    replay: Replay,
}

impl AwsPipeline {
    /// A pipeline over a fresh deployment.
    pub fn create(test: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let deployment = Arc::new(runtime.block_on(Deployment::create(test)));
        let clock = ExpiryClock::new(ClockMode::Arrival);
        let deadline = Arc::new(Deadline::default());
        let store = DynamoStore::new(
            deployment.dynamo.clone(),
            deployment.prefix.clone(),
            Arc::clone(&deadline),
        )
        .with_clock(Arc::new(clock.clone()) as Arc<dyn Clock>);
        let streams = [Topic::Ingested, Topic::Enriched, Topic::ConsentChanges]
            .into_iter()
            .map(|t| (t, deployment.stream(stream_of(t))))
            .collect();
        let publisher = KinesisPublisher::new(
            deployment.kinesis.clone(),
            streams,
            Arc::clone(&deadline),
            3,
        );
        let settings = tailor_tests::settings(ClockMode::Arrival);
        let functions = Functions::build(
            &settings,
            &tailor_local::STREAM,
            Capabilities {
                store: Intercept::new(store),
                publisher: KinesisLoop {
                    publisher,
                    deployment: Arc::clone(&deployment),
                },
                timer: TokioTimer,
                clock,
            },
        )
        .unwrap();
        Self {
            runtime,
            deployment,
            functions,
            deadline,
            replay: Replay::new(""),
        }
    }

    /// The store, with its faults.
    pub fn store(&self) -> &Intercept<DynamoStore> {
        self.functions.store().inner()
    }

    /// Records of raw lines, as a replay receives them.
    pub fn records(&mut self, lines: &[Vec<u8>]) -> Vec<Record> {
        let mut records = self.replay.records(lines);
        // Sequence numbers sort as Kinesis's do.
        for r in &mut records {
            r.id = format!("{:020}", r.id.parse::<u64>().unwrap_or(0));
        }
        records
    }

    /// One invocation of ingest.
    pub fn ingest(&self, records: &[Record]) -> BatchOutcome {
        self.invoke(Stage::Ingest, records)
    }

    /// One invocation of a stage.
    pub fn invoke(&self, stage: Stage, records: &[Record]) -> BatchOutcome {
        self.runtime.block_on(self.functions.invoke(stage, records))
    }

    /// What a stream holds since it was last read, as records.
    pub fn take(&self, topic: Topic) -> Vec<Record> {
        let now = self.functions.clock().now();
        self.runtime
            .block_on(self.functions.publisher().take(topic, now))
    }

    /// One batch of raw lines through every function; ingest's final
    /// dispositions.
    pub fn send_lines(&mut self, lines: &[Vec<u8>]) -> Vec<Disposition> {
        let records = self.records(lines);
        self.send_records(&records)
    }

    /// One batch of records through every function.
    pub fn send_records(&self, records: &[Record]) -> Vec<Disposition> {
        let mut report = RunReport::default();
        self.runtime
            .block_on(self.functions.chain(records, &mut report))
            .ingest
            .dispositions
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    }

    /// Drains the inner streams through enrich, features and consent.
    pub fn flow(&self) {
        let mut report = RunReport::default();
        self.runtime.block_on(self.functions.drain(&mut report));
    }

    /// Every live item of `table`, as JSON, by key.
    pub fn table(&self, table: Table) -> Vec<(String, Value)> {
        self.runtime
            .block_on(self.store().inner.scan(table))
            .unwrap()
            .into_iter()
            .map(|(k, i)| (k, serde_json::from_slice(&i.value).unwrap()))
            .collect()
    }

    /// Every table's live items (values only: versions differ by history).
    pub fn state(&self) -> BTreeMap<Table, Vec<(String, Value)>> {
        Table::ALL.into_iter().map(|t| (t, self.table(t))).collect()
    }
}

impl tailor_tests::cases::CasePlatform for AwsPipeline {
    fn send(&mut self, batch: &[Vec<u8>]) -> Vec<Disposition> {
        self.send_lines(batch)
    }

    fn table(&self, table: Table) -> Vec<(String, Value)> {
        Self::table(self, table)
    }
}
