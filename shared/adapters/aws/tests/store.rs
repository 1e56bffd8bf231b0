//! The DynamoDB store and the Kinesis publisher against a real AWS wire
//! protocol (moto): the core's store semantics, TTL attributes, batched
//! reads, capacity units, and per-entry publishing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use support::Deployment;
use tailor_aws::{Deadline, KinesisPublisher};
use tailor_core::Timestamp;
use tailor_core::ports::{
    Clock, Message, Precondition, Publisher, Store, StoreError, Table, Topic,
};

struct At(i64);

impl Clock for At {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0)
    }
}

const NOW: i64 = 1_795_000_000_000;

fn later(ms: i64) -> Timestamp {
    Timestamp::from_millis(NOW + ms)
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_follow_the_core_preconditions() {
    let d = Deployment::create("preconditions").await;
    let store = d.store().with_clock(Arc::new(At(NOW)));
    let t = Table::Features;
    assert_eq!(store.get(t, "p").await.unwrap(), None);
    let v1 = store
        .put(t, "p", b"a".to_vec(), later(60_000), Precondition::Absent)
        .await
        .unwrap();
    assert_eq!(v1, 1);
    let again = store
        .put(t, "p", b"b".to_vec(), later(60_000), Precondition::Absent)
        .await;
    assert_eq!(again, Err(StoreError::Conflict { table: t }));
    let stale = store
        .put(
            t,
            "p",
            b"b".to_vec(),
            later(60_000),
            Precondition::Version(7),
        )
        .await;
    assert_eq!(stale, Err(StoreError::Conflict { table: t }));
    let v2 = store
        .put(
            t,
            "p",
            b"c".to_vec(),
            later(60_000),
            Precondition::Version(1),
        )
        .await
        .unwrap();
    assert_eq!(v2, 2);
    let item = store.get(t, "p").await.unwrap().unwrap();
    assert_eq!((item.value.as_slice(), item.version), (&b"c"[..], 2));
    assert_eq!(item.expires_at, later(60_000));
    let v3 = store
        .put(t, "p", b"d".to_vec(), later(60_000), Precondition::None)
        .await
        .unwrap();
    assert_eq!(v3, 3);
    store.delete(t, "p").await.unwrap();
    assert_eq!(store.get(t, "p").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_item_carries_a_ttl_and_expired_items_count_as_absent() {
    let d = Deployment::create("ttl").await;
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
    assert_eq!(
        store.get_many(Table::Dedup, &["old".into()]).await.unwrap(),
        vec![None]
    );
    let v = store
        .put(
            Table::Dedup,
            "old",
            b"y".to_vec(),
            later(1000),
            Precondition::Absent,
        )
        .await
        .expect("an expired item does not block put-if-absent");
    assert!(v >= 1);
    let version = store
        .put(
            Table::Dedup,
            "old",
            b"z".to_vec(),
            later(1000),
            Precondition::Version(v),
        )
        .await
        .unwrap();
    assert_eq!(version, v + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_reads_cover_many_keys_repeats_and_gaps_in_order() {
    let d = Deployment::create("batch-reads").await;
    let store = d.store().with_clock(Arc::new(At(NOW)));
    for i in (0..250).step_by(2) {
        store
            .put(
                Table::Identity,
                &format!("k{i:03}"),
                format!("v{i}").into_bytes(),
                later(60_000),
                Precondition::Absent,
            )
            .await
            .unwrap();
    }
    let mut keys: Vec<String> = (0..250).map(|i| format!("k{i:03}")).collect();
    keys.push("k000".into());
    keys.push("k001".into());
    store.take_capacity();
    let got = store.get_many(Table::Identity, &keys).await.unwrap();
    assert_eq!(got.len(), keys.len());
    for (key, item) in keys.iter().zip(&got) {
        let i: usize = key[1..].parse().unwrap();
        match item {
            Some(item) => {
                assert_eq!(i % 2, 0, "{key}");
                assert_eq!(item.value, format!("v{i}").into_bytes());
            }
            None => assert_eq!(i % 2, 1, "{key}"),
        }
    }
    let units = store.take_capacity();
    assert_eq!(units.read_units, 250, "one unit per distinct key read");
    assert_eq!(units.write_units, 0);
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
        .publish_all(
            Topic::Enriched,
            vec![
                Message {
                    key: "a".into(),
                    payload: b"1".to_vec(),
                },
                Message {
                    key: "b".into(),
                    payload: b"2".to_vec(),
                },
            ],
        )
        .await;
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(Result::is_err));
}
