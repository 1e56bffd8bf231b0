//! The functions chained over the GCP adapters in-process, by the test
//! kit's [`CloudPipeline`]: each batch goes through ingest, its messages are
//! pulled back from the `ingested` topic's tap for enrich, and so on, as
//! push subscriptions would deliver them, one status per message.

use serde_json::Value;
use tailor_core::ports::{Table, Topic};
use tailor_gcp::{FirestoreStore, PubSubPublisher};
use tailor_tests::cloud::{self, CloudPipeline};

use super::{Deployment, topic_id};

/// The four stream functions over one deployment.
pub type GcpPipeline = CloudPipeline<Deployment, PubSubPublisher>;

impl cloud::Deployment for Deployment {
    type Store = FirestoreStore;

    fn store(&self) -> FirestoreStore {
        Deployment::store(self)
    }

    async fn published(&self, topic: Topic) -> Vec<(String, Vec<u8>)> {
        self.pull(&format!("{}-tap", topic_id(topic)))
            .await
            .into_iter()
            .map(|(id, _, bytes, _)| (id, bytes))
            .collect()
    }

    async fn items(&self, store: &FirestoreStore, table: Table) -> Vec<(String, Value)> {
        super::items(store, table).await
    }
}

/// A pipeline over a fresh deployment.
pub fn gcp(test: &str) -> GcpPipeline {
    let runtime = cloud::runtime();
    let deployment = runtime.block_on(Deployment::create(test));
    CloudPipeline::assemble(runtime, deployment, async |d| {
        (d.store(), d.publisher().await)
    })
}
