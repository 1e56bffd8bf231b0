//! The per-invocation read cache: reads once, stays exact through its own
//! writes, and forgets what a lost race made uncertain.

use tailor_core::Timestamp;
use tailor_core::ports::{Metered, Precondition, Store, StoreError, Table};
use tailor_core::tables::cache::Cached;
use tailor_local::LocalStore;

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

const LATER: Timestamp = Timestamp::from_millis(4_000_000_000_000);

#[test]
fn each_item_is_read_from_the_store_once() {
    let store = Metered::new(LocalStore::in_memory().unwrap());
    run(async {
        store
            .put(
                Table::Identity,
                "anon:a",
                b"{}".to_vec(),
                LATER,
                Precondition::Absent,
            )
            .await
            .unwrap();
        store.take();
        let cached = Cached::new(&store);
        let keys = vec![
            "anon:a".to_owned(),
            "anon:b".to_owned(),
            "anon:a".to_owned(),
        ];
        cached.warm(Table::Identity, &keys).await.unwrap();
        assert_eq!(store.take().reads, 2, "one read per distinct key");
        let items = cached.get_many(Table::Identity, &keys).await.unwrap();
        assert_eq!(
            items[0].as_ref().map(|i| i.value.as_slice()),
            Some(&b"{}"[..])
        );
        assert_eq!(items[1], None, "an absent item is remembered as absent");
        assert_eq!(items[0], items[2]);
        assert!(
            cached
                .get(Table::Identity, "anon:b")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.take().reads, 0, "answered from memory");
        // Another table is another item.
        assert!(
            cached
                .get(Table::Features, "anon:a")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.take().reads, 1);
    });
}

#[test]
fn its_own_writes_are_read_back_with_their_versions() {
    let store = Metered::new(LocalStore::in_memory().unwrap());
    run(async {
        let cached = Cached::new(&store);
        assert!(
            cached
                .get(Table::Identity, "user:u")
                .await
                .unwrap()
                .is_none()
        );
        let v1 = cached
            .put(
                Table::Identity,
                "user:u",
                b"1".to_vec(),
                LATER,
                Precondition::Absent,
            )
            .await
            .unwrap();
        let item = cached
            .get(Table::Identity, "user:u")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((item.value.as_slice(), item.version), (&b"1"[..], v1));
        // A write expecting the cached version succeeds against the store.
        let v2 = cached
            .put(
                Table::Identity,
                "user:u",
                b"2".to_vec(),
                LATER,
                Precondition::Version(v1),
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .get(Table::Identity, "user:u")
                .await
                .unwrap()
                .unwrap()
                .version,
            v2
        );
        cached.delete(Table::Identity, "user:u").await.unwrap();
        store.take();
        assert!(
            cached
                .get(Table::Identity, "user:u")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.take().reads, 0, "the delete is remembered");
    });
}

#[test]
fn a_lost_race_is_read_again_from_the_store() {
    let store = Metered::new(LocalStore::in_memory().unwrap());
    run(async {
        let cached = Cached::new(&store);
        assert!(
            cached
                .get(Table::Identity, "anon:a")
                .await
                .unwrap()
                .is_none()
        );
        // Another process writes the item after it was read here.
        store
            .put(
                Table::Identity,
                "anon:a",
                b"theirs".to_vec(),
                LATER,
                Precondition::Absent,
            )
            .await
            .unwrap();
        assert!(
            cached
                .get(Table::Identity, "anon:a")
                .await
                .unwrap()
                .is_none(),
            "seen as first read"
        );
        let lost = cached
            .put(
                Table::Identity,
                "anon:a",
                b"ours".to_vec(),
                LATER,
                Precondition::Absent,
            )
            .await;
        assert!(matches!(lost, Err(StoreError::Conflict { .. })), "{lost:?}");
        let item = cached
            .get(Table::Identity, "anon:a")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            item.value, b"theirs",
            "the retry sees the other writer's item"
        );
    });
}
