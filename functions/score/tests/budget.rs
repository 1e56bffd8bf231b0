//! The store budget: a store that does not answer in time is treated as
//! unavailable, so the caller gets the safe default instead of waiting.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tailor_core::Timestamp;
use tailor_core::event::Purpose;
use tailor_core::policy::Policy;
use tailor_core::ports::{Clock, Item, Precondition, Store, StoreError, Table, Timer};
use tailor_core::score::{Catalog, DecisionRequest, Fallback, PolicyMemo};
use tailor_local::LocalStore;
use tailor_runtime::WallClock;
use tailor_score::Score;

/// A store whose reads, writes or both never complete.
struct Stalled {
    inner: LocalStore,
    reads: bool,
    writes: bool,
}

async fn stall_if(stalled: bool) {
    if stalled {
        std::future::pending::<()>().await;
    }
}

impl Store for Stalled {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        stall_if(self.reads).await;
        self.inner.get(table, key).await
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        stall_if(self.reads).await;
        self.inner.get_many(table, keys).await
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        stall_if(self.writes).await;
        self.inner
            .put(table, key, value, expires_at, precondition)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        stall_if(self.writes).await;
        self.inner.delete(table, key).await
    }
}

struct Tokio;

impl Timer for Tokio {
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

fn request() -> DecisionRequest {
    DecisionRequest {
        profile: "user:u-1".into(),
        purpose: Purpose::Personalization,
        placement: "onboarding".into(),
        region: "eu".into(),
        consent: vec![Purpose::Personalization],
        adult: true,
        context: BTreeMap::new(),
    }
}

async fn decide(
    reads: bool,
    writes: bool,
) -> (
    tailor_core::score::DecisionRecord,
    Result<(), StoreError>,
    LocalStore,
) {
    let policy = Policy::shipped().unwrap();
    let memo = PolicyMemo::new(&policy);
    let catalog = Catalog::shipped().unwrap();
    let store = Stalled {
        inner: LocalStore::in_memory().unwrap(),
        reads,
        writes,
    };
    let nonce = AtomicU64::new(0);
    let tokens = tailor_core::token::TokenKey::new(*b"budget-test-key-0123").unwrap();
    let score = Score {
        tables: tailor_core::tables::Tables::new(&store, &policy, &tokens),
        memo: &memo,
        catalog: &catalog,
        model: None,
        challenger: None,
        nonce: &nonce,
        timer: &Tokio,
        store_budget: Duration::from_millis(20),
        regions: &tailor_core::policy::Residency::everywhere().checks(&policy),
    };
    let now = WallClock.now();
    // Only a guard against a hang: the budget is what ends the call.
    let (record, logged) =
        tokio::time::timeout(Duration::from_secs(30), score.decide(&request(), now))
            .await
            .expect("the budget bounds the decision");
    (record, logged, store.inner)
}

/// The log write was cut off by the budget, reported, and nothing logged.
async fn assert_not_logged_over_budget(
    record: &tailor_core::score::DecisionRecord,
    logged: Result<(), StoreError>,
    store: &LocalStore,
) {
    let err = logged.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("budget")),
        "{err}"
    );
    assert!(
        store
            .get(Table::Decisions, &record.decision_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn stalled_reads_fall_back_to_the_default_and_the_log_write_is_reported() {
    let (record, logged, store) = decide(true, false).await;
    assert_eq!(record.fallback, Some(Fallback::StoreUnavailable));
    assert_eq!(record.action, "standard_onboarding");
    assert!(record.latency_us.contains_key("load"));
    // Logging seals the record under the profile's key, which is read too:
    // the write is over budget and reported, never logged unsealed.
    assert_not_logged_over_budget(&record, logged, &store).await;
}

#[tokio::test]
async fn a_stalled_log_write_is_reported_without_withholding_the_decision() {
    let (record, logged, store) = decide(false, true).await;
    // The reads answered: a new profile has no features.
    assert_eq!(record.fallback, Some(Fallback::NoFeatures));
    assert_not_logged_over_budget(&record, logged, &store).await;
}

#[tokio::test]
async fn an_answering_store_is_not_cut_off() {
    let (record, logged, _) = decide(false, false).await;
    assert_eq!(record.fallback, Some(Fallback::NoFeatures));
    logged.unwrap();
}
