//! The Firestore store and the Pub/Sub publisher against Google's own
//! emulators: the core's store semantics, expiry, batched reads, metering
//! in Firestore's units, and per-message publishing with ordering keys.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use std::sync::Arc;

use support::{Deployment, topic_id};
use tailor_core::ports::{Message, Precondition, Publisher, Store, Table, Topic};
use tailor_gcp::firestore::{DELETES, READS, WRITES};
use tailor_tests::cloud::{self, At, NOW, later};

#[tokio::test(flavor = "multi_thread")]
async fn writes_follow_the_core_preconditions() {
    let d = Deployment::create("preconditions").await;
    cloud::assert_store_preconditions(&d.store().with_clock(Arc::new(At(NOW)))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_document_reads_as_absent_and_can_be_claimed_again() {
    let d = Deployment::create("expiry").await;
    // Two seconds on, the TTL policy may not have deleted it yet.
    cloud::assert_expired_items_read_as_absent(|ms| d.store().with_clock(Arc::new(At(ms)))).await;
    // The document carries the timestamp the database's TTL policy reads.
    let raw = d
        .store()
        .with_clock(Arc::new(At(0)))
        .scan(Table::Dedup)
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_reads_answer_in_order_with_repeats_and_gaps() {
    let d = Deployment::create("batch-get").await;
    let store = d.store().with_clock(Arc::new(At(NOW)));
    assert_eq!(
        cloud::assert_batched_reads(&store).await,
        vec![(READS, 230)],
        "one read per distinct document asked for"
    );
    let scanned: Vec<String> = store
        .scan(Table::Identity)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut expected: Vec<String> = (0..230)
        .step_by(2)
        .map(|i| format!("anon:{i}/x%{i}"))
        .collect();
    expected.sort();
    assert_eq!(scanned, expected, "keys come back as written");
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_and_deletes_are_metered_in_firestores_units() {
    let d = Deployment::create("meter").await;
    let store = d.store().with_clock(Arc::new(At(NOW)));
    let t = Table::Audit;
    store
        .put(t, "a", b"1".to_vec(), later(1), Precondition::Absent)
        .await
        .unwrap();
    let _ = store
        .put(t, "a", b"1".to_vec(), later(1), Precondition::Absent)
        .await;
    store.delete(t, "a").await.unwrap();
    assert_eq!(
        store.take_billed(),
        vec![(READS, 1), (WRITES, 2), (DELETES, 1)]
    );
    assert_eq!(store.take_billed(), vec![], "taking resets");
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_go_out_with_their_ordering_keys_and_each_gets_its_result() {
    let d = Deployment::create("publish").await;
    let publisher = d.publisher().await;
    let messages: Vec<Message> = (0..620)
        .map(|i| Message {
            key: format!("u-{}", i % 7),
            payload: format!("{{\"n\":{i}}}").into_bytes(),
        })
        .collect();
    let results = publisher.publish_all(Topic::Enriched, messages).await;
    assert_eq!(results.len(), 620);
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    let got = d.pull(&format!("{}-tap", topic_id(Topic::Enriched))).await;
    assert_eq!(got.len(), 620);
    for (_, key, data, _) in &got {
        let n: u64 = serde_json::from_slice::<serde_json::Value>(data).unwrap()["n"]
            .as_u64()
            .unwrap();
        assert_eq!(key, &format!("u-{}", n % 7));
    }
    // One person's messages keep their order.
    let of_u3: Vec<u64> = got
        .iter()
        .filter(|(_, k, _, _)| k == "u-3")
        .map(|(_, _, d, _)| {
            serde_json::from_slice::<serde_json::Value>(d).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let mut sorted = of_u3.clone();
    sorted.sort_unstable();
    assert_eq!(of_u3, sorted);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_that_is_not_there_fails_every_message_not_the_process() {
    let d = Deployment::create("no-topic").await;
    let publisher = tailor_gcp::PubSubPublisher::connect(
        [(Topic::Ingested, d.topic("missing"))]
            .into_iter()
            .collect(),
        Some(&format!("http://{}", support::pubsub())),
        2,
    )
    .await
    .unwrap();
    let results = publisher
        .publish_all(Topic::Ingested, tailor_tests::cloud::two_messages())
        .await;
    assert!(results.iter().all(Result::is_err), "{results:?}");
    let unconfigured = publisher.publish(Topic::Enriched, "a", b"1".to_vec()).await;
    assert!(
        unconfigured.unwrap_err().0.contains("no topic"),
        "named as unconfigured"
    );
}
