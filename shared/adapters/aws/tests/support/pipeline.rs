//! The functions chained over the AWS adapters in-process: each batch goes
//! through ingest, is read back from the `ingested` stream for enrich, and
//! so on, as the event source mappings would deliver it; records a function
//! asks to retry are delivered again (up to three times), as Lambda does.
//! The same handlers run in the Lambda binaries; this drives them directly
//! so tests see every record's disposition, which a Kinesis response
//! reduces to the list of retries.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tailor_aws::platform::ArrivalClock;
use tailor_aws::{Deadline, DynamoStore, KinesisPublisher};
use tailor_consent::Consent;
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::contract::Contract;
use tailor_core::decode::Limits;
use tailor_core::disposition::Disposition;
use tailor_core::ingest::Ingestor;
use tailor_core::policy::Policy;
use tailor_core::ports::{Clock, Metered, Store, Table, Topic};
use tailor_enrich::Enrich;
use tailor_features::Features;
use tailor_ingest::Ingest;

use super::{Deployment, stream_of};

/// Deliveries per record, as the local pipeline makes.
pub const ATTEMPTS: usize = 3;

/// A store that fails chosen writes, for fault tests.
pub struct Faulty<S> {
    pub inner: S,
    /// Puts to fail, by (table, 1-based count of puts to that table).
    pub fail: std::sync::Mutex<BTreeMap<Table, Vec<u64>>>,
    puts: std::sync::Mutex<BTreeMap<Table, u64>>,
}

impl<S> Faulty<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            fail: std::sync::Mutex::default(),
            puts: std::sync::Mutex::default(),
        }
    }
}

impl<S: Store> Store for Faulty<S> {
    async fn get(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<tailor_core::ports::Item>, tailor_core::ports::StoreError> {
        self.inner.get(table, key).await
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<tailor_core::ports::Item>>, tailor_core::ports::StoreError> {
        self.inner.get_many(table, keys).await
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: tailor_core::ports::Precondition,
    ) -> Result<u64, tailor_core::ports::StoreError> {
        let n = {
            let mut puts = self.puts.lock().unwrap();
            let n = puts.entry(table).or_default();
            *n += 1;
            *n
        };
        if self
            .fail
            .lock()
            .unwrap()
            .get(&table)
            .is_some_and(|f| f.contains(&n))
        {
            return Err(tailor_core::ports::StoreError::Unavailable(
                "ProvisionedThroughputExceededException (injected)".into(),
            ));
        }
        self.inner
            .put(table, key, value, expires_at, precondition)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), tailor_core::ports::StoreError> {
        self.inner.delete(table, key).await
    }
}

/// The four stream functions over one deployment.
pub struct AwsPipeline {
    pub runtime: tokio::runtime::Runtime,
    pub deployment: Deployment,
    pub store: Metered<Faulty<DynamoStore>>,
    publisher: KinesisPublisher,
    policy: &'static Policy,
    ingestor: Ingestor<'static>,
    clock: Arc<ArrivalClock>,
    /// The deadline every AWS call of the pipeline runs under.
    pub deadline: Arc<Deadline>,
    sent: u64,
    last: Timestamp,
}

impl AwsPipeline {
    /// A pipeline over a fresh deployment.
    pub fn create(test: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let deployment = runtime.block_on(Deployment::create(test));
        let clock = Arc::new(ArrivalClock::default());
        let deadline = Arc::new(Deadline::default());
        let store = DynamoStore::new(
            deployment.dynamo.clone(),
            deployment.prefix.clone(),
            Arc::clone(&deadline),
        )
        .with_clock(Arc::clone(&clock) as Arc<dyn Clock>);
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
        let policy: &'static Policy = Box::leak(Box::new(Policy::shipped().unwrap()));
        let ingestor = Ingestor::new(
            Contract::global().unwrap(),
            policy,
            Limits::default(),
            tailor_tests::test_key(),
        );
        Self {
            runtime,
            deployment,
            store: Metered::new(Faulty::new(store)),
            publisher,
            policy,
            ingestor,
            clock,
            deadline,
            sent: 0,
            last: Timestamp::from_millis(0),
        }
    }

    /// Records of raw lines, each received at its `sent_at` (or with the
    /// records around it).
    pub fn records(&mut self, lines: &[Vec<u8>]) -> Vec<Record> {
        if self.last == Timestamp::from_millis(0) {
            self.last = lines
                .iter()
                .find_map(|l| tailor_cli::commands::run::replay_time(l))
                .unwrap_or(self.last);
        }
        lines
            .iter()
            .map(|bytes| {
                self.sent += 1;
                self.last = tailor_cli::commands::run::replay_time(bytes).unwrap_or(self.last);
                self.clock.advance(self.last);
                Record {
                    id: format!("{:020}", self.sent),
                    bytes: bytes.clone(),
                    received_at: self.last,
                }
            })
            .collect()
    }

    /// One invocation of ingest.
    pub fn ingest(&self, records: &[Record]) -> BatchOutcome {
        let f = Ingest {
            ingestor: &self.ingestor,
            policy: self.policy,
            store: &self.store,
            publisher: &self.publisher,
        };
        self.runtime.block_on(f.handle(records))
    }

    /// One invocation of a stage: 0 ingest, 1 enrich, 2 features, 3 consent.
    pub fn invoke(&self, stage: usize, records: &[Record]) -> BatchOutcome {
        match stage {
            0 => self.ingest(records),
            1 => self.runtime.block_on(
                Enrich {
                    policy: self.policy,
                    store: &self.store,
                    publisher: &self.publisher,
                }
                .handle(records),
            ),
            2 => self.runtime.block_on(
                Features {
                    policy: self.policy,
                    store: &self.store,
                }
                .handle(records),
            ),
            _ => self.runtime.block_on(
                Consent {
                    policy: self.policy,
                    store: &self.store,
                }
                .handle(records),
            ),
        }
    }

    /// Delivers records to a stage, then those asking for a retry, up to
    /// [`ATTEMPTS`] times; the final disposition of each, in order.
    fn deliver(&self, stage: usize, records: &[Record]) -> Vec<Disposition> {
        let mut final_: Vec<Disposition> = self
            .invoke(stage, records)
            .dispositions
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        for _ in 1..ATTEMPTS {
            let again: Vec<(usize, Record)> = records
                .iter()
                .enumerate()
                .filter(|(i, _)| final_[*i] == Disposition::Retry)
                .map(|(i, r)| (i, r.clone()))
                .collect();
            if again.is_empty() {
                break;
            }
            let batch: Vec<Record> = again.iter().map(|(_, r)| r.clone()).collect();
            let outcome = self.invoke(stage, &batch);
            for ((i, _), (_, d)) in again.iter().zip(outcome.dispositions) {
                final_[*i] = d;
            }
        }
        final_
    }

    /// What a stream holds since it was last read, as records.
    pub fn take(&mut self, role: &str) -> Vec<Record> {
        let now = self.clock.now();
        self.runtime
            .block_on(self.deployment.read(role))
            .into_iter()
            .map(|(seq, _, bytes, _)| Record {
                id: seq,
                bytes,
                received_at: now,
            })
            .collect()
    }

    /// One batch of raw lines through every function; ingest's final
    /// dispositions.
    pub fn send_lines(&mut self, lines: &[Vec<u8>]) -> Vec<Disposition> {
        let records = self.records(lines);
        self.send_records(&records)
    }

    /// One batch of records through every function.
    pub fn send_records(&mut self, records: &[Record]) -> Vec<Disposition> {
        let first = self.deliver(0, records);
        self.flow();
        first
    }

    /// Drains the inner streams through enrich, features and consent.
    pub fn flow(&mut self) {
        let ingested = self.take("ingested");
        self.deliver(1, &ingested);
        let enriched = self.take("enriched");
        self.deliver(2, &enriched);
        let changes = self.take("consent-changes");
        self.deliver(3, &changes);
    }

    /// Every live item of `table`, as JSON, by key.
    pub fn table(&self, table: Table) -> Vec<(String, Value)> {
        self.runtime
            .block_on(self.store.inner().inner.scan(table))
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
