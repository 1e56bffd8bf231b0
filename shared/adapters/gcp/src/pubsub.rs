//! The core's [`Publisher`] on Pub/Sub, with Google's official client
//! (`google-cloud-pubsub`'s [`Publisher`](google_cloud_pubsub::client::Publisher)).
//!
//! One client publisher per topic, created at start-up. Every message goes
//! out with ordering key = the message key (the person at ingest, the
//! profile at enrich), so a subscription with message ordering delivers
//! one person's messages in order. All of a call's messages are handed to
//! the client at once (it batches them) and each one's result is awaited:
//! only the messages that failed are sent again, with backoff, after the
//! client is told to resume their ordering key (it pauses a key whose
//! message failed, so that later ones cannot overtake it). What still fails
//! after the last round is reported per message, and the caller retries
//! exactly those records.
//!
//! The client does not read `PUBSUB_EMULATOR_HOST`: [`PubSubPublisher::connect`]
//! takes the emulator's endpoint explicitly and then uses anonymous
//! credentials; otherwise the client's defaults (the metadata server's
//! credentials on Cloud Run).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use google_cloud_pubsub::client::Publisher as Client;
use tailor_core::ports::{Message, PublishError, Publisher, Topic, publish_one};
use tailor_runtime::cost::billing;

/// The largest ordering key Pub/Sub takes, in bytes.
const MAX_ORDERING_KEY: usize = 1024;

/// Pub/Sub topics behind the core's publisher port.
#[derive(Debug)]
pub struct PubSubPublisher {
    topics: BTreeMap<Topic, Client>,
    rounds: u32,
    /// Publish bytes since the last report, as Pub/Sub bills them.
    publish_bytes: AtomicU64,
}

/// An ordering key Pub/Sub accepts: at most 1,024 bytes, cut at a
/// character boundary (which keeps it deterministic).
fn ordering_key(key: &str) -> String {
    if key.len() <= MAX_ORDERING_KEY {
        return key.to_owned();
    }
    let mut end = MAX_ORDERING_KEY;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    key[..end].to_owned()
}

impl PubSubPublisher {
    /// Creates a client publisher for each topic (full names,
    /// `projects/…/topics/…`), at `emulator` (`http://host:port`) with
    /// anonymous credentials when given, trying each message up to
    /// `rounds` times.
    ///
    /// # Errors
    /// A client cannot be created (no credentials found, say).
    pub async fn connect(
        topics: BTreeMap<Topic, String>,
        emulator: Option<&str>,
        rounds: u32,
    ) -> Result<Self, String> {
        let mut clients = BTreeMap::new();
        for (topic, name) in topics {
            let mut builder = Client::builder(name.clone())
                // One message per request on push: do not hold it back for a batch.
                .set_delay_threshold(Duration::from_millis(1));
            if let Some(endpoint) = emulator {
                builder = builder.with_endpoint(endpoint).with_credentials(
                    google_cloud_auth::credentials::anonymous::Builder::new().build(),
                );
            }
            let client = builder
                .build()
                .await
                .map_err(|e| format!("Pub/Sub publisher for {name}: {e}"))?;
            clients.insert(topic, client);
        }
        Ok(Self {
            topics: clients,
            rounds: rounds.max(1),
            publish_bytes: AtomicU64::new(0),
        })
    }
}

impl Publisher for PubSubPublisher {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        publish_one(self, topic, key, payload).await
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        match self.publish_bytes.swap(0, Ordering::Relaxed) {
            0 => Vec::new(),
            n => vec![(billing::pubsub::PUBLISH_BYTES, n)],
        }
    }

    async fn publish_all(
        &self,
        topic: Topic,
        messages: Vec<Message>,
    ) -> Vec<Result<(), PublishError>> {
        let Some(client) = self.topics.get(&topic) else {
            let missing = PublishError(format!("no topic is configured for {topic:?}"));
            return messages.iter().map(|_| Err(missing.clone())).collect();
        };
        let mut results: Vec<Result<(), PublishError>> = messages
            .iter()
            .map(|_| Err(PublishError("not sent".into())))
            .collect();
        let mut pending: Vec<usize> = (0..messages.len()).collect();
        for round in 0..self.rounds {
            if pending.is_empty() {
                break;
            }
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(50 << round.min(5))).await;
            }
            // Hand every message to the client first, so they go out together.
            let sent: Vec<(usize, _)> = pending
                .iter()
                .map(|&i| {
                    let m = &messages[i];
                    let message = google_cloud_pubsub::model::Message::new()
                        .set_data(m.payload.clone())
                        .set_ordering_key(ordering_key(&m.key));
                    (i, client.publish(message))
                })
                .collect();
            let mut failed = Vec::new();
            for (i, future) in sent {
                match future.await {
                    Ok(_) => {
                        // Each message as its own publish request, at
                        // least 1,000 bytes: an upper bound where the
                        // client sends several in one request.
                        let m = &messages[i];
                        let size = m.payload.len() + ordering_key(&m.key).len();
                        self.publish_bytes.fetch_add(
                            billing::pubsub::billable_bytes(
                                u64::try_from(size).unwrap_or(u64::MAX),
                            ),
                            Ordering::Relaxed,
                        );
                        results[i] = Ok(());
                    }
                    Err(e) => {
                        results[i] = Err(PublishError(e.to_string()));
                        failed.push(i);
                    }
                }
            }
            for &i in &failed {
                client.resume_publish(ordering_key(&messages[i].key));
            }
            pending = failed;
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_keys_are_cut_to_what_pubsub_takes() {
        assert_eq!(ordering_key("u-1"), "u-1");
        let long = "é".repeat(600);
        let cut = ordering_key(&long);
        assert!(cut.len() <= MAX_ORDERING_KEY && long.starts_with(&cut));
        assert_eq!(cut, ordering_key(&long), "deterministic");
    }
}
