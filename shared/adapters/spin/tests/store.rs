//! The SQLite store against real SQLite: the store contract every platform
//! meets, and what is Spin's own (expired items swept, oversize items
//! refused, a store error reported as one).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use std::sync::Arc;

use tailor_core::ports::{Clock, Precondition, Store, StoreError, Table};
use tailor_spin::SqlStore;
use tailor_tests::cloud::{
    At, NOW, assert_batched_reads, assert_expired_items_read_as_absent, assert_store_preconditions,
    later,
};

use support::{HttpDatabase, Served};

fn store_at(served: &Served, ms: i64) -> SqlStore<HttpDatabase> {
    SqlStore::open(served.connect(), Arc::new(At(ms)) as Arc<dyn Clock>).unwrap()
}

#[tokio::test]
async fn the_sqlite_store_meets_the_store_contract() {
    let served = Served::start();
    let [v1, v2, v3] = assert_store_preconditions(&store_at(&served, NOW)).await;
    assert_eq!([v1, v2, v3], [1, 2, 3], "versions count the writes");
    assert_expired_items_read_as_absent(|ms| store_at(&served, ms)).await;
    let billed = assert_batched_reads(&store_at(&served, NOW)).await;
    // 232 keys asked for, 230 distinct: three statements of at most 100.
    assert_eq!(billed, vec![("sqlite_reads", 3)]);
}

#[tokio::test]
async fn a_sweep_deletes_expired_items_a_bounded_number_at_a_time() {
    let served = Served::start();
    let store = store_at(&served, NOW);
    for i in 0..5 {
        store
            .put(
                Table::Dedup,
                &format!("old{i}"),
                b"1".to_vec(),
                later(10),
                Precondition::Absent,
            )
            .await
            .unwrap();
    }
    store
        .put(
            Table::Dedup,
            "live",
            b"1".to_vec(),
            later(60_000),
            Precondition::Absent,
        )
        .await
        .unwrap();
    let after = store_at(&served, NOW + 1_000);
    assert_eq!(after.sweep(3).unwrap(), 3);
    assert_eq!(after.sweep(3).unwrap(), 2);
    assert_eq!(after.sweep(3).unwrap(), 0);
    let left = served.connect().call(
        "/execute",
        &serde_json::json!({"statement": "SELECT key FROM items", "parameters": []}),
    );
    assert_eq!(left["ok"]["rows"], serde_json::json!([[{"text": "live"}]]));
}

#[tokio::test]
async fn an_oversize_item_is_refused_before_the_database_sees_it() {
    let served = Served::start();
    let store = store_at(&served, NOW);
    let big = vec![b'x'; tailor_core::ports::MAX_ITEM_BYTES + 1];
    let refused = store
        .put(Table::Features, "p", big, later(1_000), Precondition::None)
        .await;
    assert!(
        matches!(refused, Err(StoreError::TooLarge { .. })),
        "{refused:?}"
    );
    assert_eq!(store.get(Table::Features, "p").await.unwrap(), None);
}

#[tokio::test]
async fn a_database_error_is_the_store_being_unavailable_for_that_key_only() {
    let served = Served::start();
    let store = store_at(&served, NOW);
    served.fail_keys(&["bad"]);
    let failed = store.get(Table::Identity, "bad").await;
    assert!(
        matches!(failed, Err(StoreError::Unavailable(_))),
        "{failed:?}"
    );
    assert_eq!(store.get(Table::Identity, "good").await.unwrap(), None);
}
