//! The DynamoDB store and the Kinesis publisher against a real AWS wire
//! protocol (moto): the core's store semantics, TTL attributes, batched
//! reads, capacity units, and per-entry publishing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use support::Deployment;
use tailor_aws::{Deadline, KinesisPublisher};
use tailor_core::ports::{Message, Precondition, Publisher, Store, StoreError, Table, Topic};
use tailor_tests::cloud::{self, At, NOW, later};

#[tokio::test(flavor = "multi_thread")]
async fn writes_follow_the_core_preconditions() {
    let d = Deployment::create("preconditions").await;
    let store = d.store().with_clock(Arc::new(At(NOW)));
    assert_eq!(
        cloud::assert_store_preconditions(&store).await,
        [1, 2, 3],
        "a version attribute counted from 1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_item_carries_a_ttl_and_expired_items_count_as_absent() {
    let d = Deployment::create("ttl").await;
    cloud::assert_expired_items_read_as_absent(|ms| d.store().with_clock(Arc::new(At(ms)))).await;
    let store = d.store().with_clock(Arc::new(At(NOW)));
    store
        .put(
            Table::Dedup,
            "old",
            b"x".to_vec(),
            later(-1),
            Precondition::Absent,
        )
        .await
        .unwrap();
    let raw = d
        .dynamo
        .get_item()
        .table_name(format!("{}-dedup", d.prefix))
        .key("pk", AttributeValue::S("old".into()))
        .send()
        .await
        .unwrap();
    let ttl: i64 = raw.item().unwrap()["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(
        ttl,
        (NOW - 1) / 1000 + 1,
        "TTL in epoch seconds, not before expiry"
    );
    // TTL deletion is lazy: the item is still stored, but no longer live.
    assert_eq!(store.get(Table::Dedup, "old").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_reads_cover_many_keys_repeats_and_gaps_in_order() {
    let d = Deployment::create("batch-reads").await;
    let store = d.store().with_clock(Arc::new(At(NOW)));
    assert_eq!(
        cloud::assert_batched_reads(&store).await,
        vec![(tailor_aws::dynamo::READ_UNITS, 230)],
        "one unit per distinct key read"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn capacity_units_follow_item_sizes() {
    let d = Deployment::create("capacity").await;
    let store = d.store().with_clock(Arc::new(At(NOW)));
    store
        .put(
            Table::Features,
            "small",
            vec![b'a'; 100],
            later(60_000),
            Precondition::Absent,
        )
        .await
        .unwrap();
    store
        .put(
            Table::Features,
            "large",
            vec![b'a'; 5000],
            later(60_000),
            Precondition::Absent,
        )
        .await
        .unwrap();
    let written = store.take_capacity();
    assert_eq!(
        written.write_units,
        1 + 5,
        "1 KB per write unit, rounded up per item"
    );
    store.get(Table::Features, "large").await.unwrap();
    store.get(Table::Features, "missing").await.unwrap();
    assert_eq!(
        store.take_capacity().read_units,
        2 + 1,
        "4 KB per read unit, 1 for a miss"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_table_is_unavailable_not_corrupt() {
    let d = Deployment::create("missing").await;
    let store = tailor_aws::DynamoStore::new(
        d.dynamo.clone(),
        "no-such-deployment",
        Arc::new(Deadline::default()),
    );
    let err = store.get(Table::Features, "p").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_puts_every_message_with_its_partition_key() {
    let d = Deployment::create("publish").await;
    let publisher = KinesisPublisher::new(
        d.kinesis.clone(),
        BTreeMap::from([(Topic::Enriched, d.stream("enriched"))]),
        Arc::new(Deadline::default()),
        3,
    );
    // More than one PutRecords call's worth.
    let messages: Vec<Message> = (0..620)
        .map(|i| Message {
            key: format!("p-{}", i % 7),
            payload: format!("m{i}").into_bytes(),
        })
        .collect();
    let results = publisher.publish_all(Topic::Enriched, messages).await;
    assert_eq!(results.len(), 620);
    assert!(results.iter().all(Result::is_ok));
    let records = d.read("enriched").await;
    assert_eq!(records.len(), 620);
    for (i, (_, key, data, _)) in records.iter().enumerate() {
        assert_eq!(data, &format!("m{i}").into_bytes());
        assert_eq!(key, &format!("p-{}", i % 7));
    }
    // A topic without a stream fails every message, with the reason.
    let missing = publisher
        .publish(Topic::ConsentChanges, "p", b"x".to_vec())
        .await
        .unwrap_err();
    assert!(missing.0.contains("no stream"), "{missing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_does_not_exist_fails_each_message_after_bounded_retries() {
    let d = Deployment::create("no-stream").await;
    let publisher = KinesisPublisher::new(
        d.kinesis.clone(),
        BTreeMap::from([(Topic::Enriched, "absent-stream".to_owned())]),
        Arc::new(Deadline::default()),
        2,
    );
    let results = publisher
        .publish_all(Topic::Enriched, tailor_tests::cloud::two_messages())
        .await;
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(Result::is_err));
}
