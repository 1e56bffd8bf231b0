//! The functions chained over the AWS adapters in-process, by the test
//! kit's [`CloudPipeline`]: each batch goes through ingest, is read back
//! from the `ingested` stream for enrich, and so on, as the event source
//! mappings would deliver it. Every AWS call runs under the deployment's
//! deadline.

use std::sync::Arc;

use serde_json::Value;
use tailor_aws::{DynamoStore, KinesisPublisher};
use tailor_core::ports::{Table, Topic};
use tailor_tests::cloud::{self, CloudPipeline};

use super::{Deployment, stream_of};

/// The four stream functions over one deployment.
pub type AwsPipeline = CloudPipeline<Deployment, KinesisPublisher>;

impl cloud::Deployment for Deployment {
    type Store = DynamoStore;

    fn store(&self) -> DynamoStore {
        Deployment::store(self)
    }

    async fn published(&self, topic: Topic) -> Vec<(String, Vec<u8>)> {
        self.read(stream_of(topic))
            .await
            .into_iter()
            .map(|(seq, _, bytes, _)| (seq, bytes))
            .collect()
    }

    async fn items(&self, store: &DynamoStore, table: Table) -> Vec<(String, Value)> {
        super::json_items(store.scan(table).await.unwrap())
    }

    /// Sequence numbers sort as Kinesis's do.
    fn record_id(replayed: &str) -> String {
        format!("{:020}", replayed.parse::<u64>().unwrap_or(0))
    }
}

/// A pipeline over a fresh deployment.
pub fn aws(test: &str) -> AwsPipeline {
    let runtime = cloud::runtime();
    let deployment = runtime.block_on(Deployment::create(test));
    CloudPipeline::assemble(runtime, deployment, async |d| {
        let store = DynamoStore::new(d.dynamo.clone(), d.prefix.clone(), Arc::clone(&d.deadline));
        let streams = [Topic::Ingested, Topic::Enriched, Topic::ConsentChanges]
            .into_iter()
            .map(|t| (t, d.stream(stream_of(t))))
            .collect();
        let publisher =
            KinesisPublisher::new(d.kinesis.clone(), streams, Arc::clone(&d.deadline), 3);
        (store, publisher)
    })
}
