//! The functions over the AWS adapters (DynamoDB and Kinesis on moto): the
//! golden conformance cases give the same results as on the local
//! platform, store errors mid-batch retry exactly the records they hit, and
//! replays change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod support;

use serde_json::json;
use support::pipeline::aws;
use tailor_core::disposition::Disposition;
use tailor_core::ports::{Table, Topic};
use tailor_runtime::Stage;
use tailor_tests::cloud::{self, Redelivery, three_users_views};
use tailor_tests::event;

#[test]
fn every_golden_case_gives_the_same_results_as_on_the_local_platform() {
    cloud::assert_golden_cases(aws);
}

#[test]
fn dynamodb_errors_mid_batch_retry_exactly_the_records_they_hit() {
    let (mut p, mut clean) = (aws("faults"), aws("faults-clean"));
    // Lambda delivers again from the lowest failed record.
    cloud::assert_faults_retry_exactly_the_records_they_hit(
        &mut p,
        &mut clean,
        Redelivery::FromFirstFailure,
        |records, outcome| {
            let response = serde_json::to_value(tailor_aws::stream::response(outcome)).unwrap();
            assert_eq!(
                support::runtime::failures(&response),
                vec![records[1].id.clone(), records[4].id.clone()],
                "the Kinesis response names exactly those records"
            );
        },
    );
}

#[test]
fn replaying_a_whole_batch_leaves_every_table_as_it_was() {
    cloud::assert_redelivery_changes_nothing(&mut aws("replay"));
}

#[test]
fn a_batchs_updates_for_one_profile_are_coalesced_into_one_write_each() {
    let mut p = aws("coalesce");
    let events: Vec<Vec<u8>> = (1..=8)
        .map(|i| {
            let e = event(
                &format!("evt-coalesce-{i:04}"),
                "content_view",
                &format!("2026-11-20T10:0{i}:00Z"),
                json!({"user_id": "u-busy"}),
                json!({"content_id": format!("c-{i}"), "category": "guides"}),
            );
            serde_json::to_vec(&e).unwrap()
        })
        .collect();
    let records = p.records(&events);
    assert!(p.invoke(Stage::Ingest, &records).retries().is_empty());
    let ingested = p.take(Topic::Ingested);
    assert!(p.invoke(Stage::Enrich, &ingested).retries().is_empty());
    let enriched = p.take(Topic::Enriched);
    assert_eq!(enriched.len(), 8);
    p.store().inner.take_capacity();
    let outcome = p.invoke(Stage::Features, &enriched);
    assert_eq!(outcome.report.accepted, 8);
    assert_eq!(
        outcome.report.store_writes, 2,
        "one inputs write for the key, one features write for the profile"
    );
    let units = outcome.report.billed(tailor_aws::dynamo::WRITE_UNITS);
    assert!((2..8).contains(&units), "{units} write units");
    let features = p.table(Table::Features);
    assert_eq!(features.len(), 1);
    let state: tailor_core::features::ProfileState =
        serde_json::from_value(features[0].1.clone()).unwrap();
    let read = state.evaluate(state.newest().unwrap());
    assert_eq!(
        read.features["count_7d.content_view"].value.as_f64(),
        Some(8.0)
    );
    // Delivered again, the batch writes nothing: the recompute finds the
    // same features.
    let again = p.invoke(Stage::Features, &enriched);
    assert_eq!(again.report.duplicates, 8);
    assert_eq!(again.report.store_writes, 0);
}

/// A store where another function (consent, erasing the person) purges the
/// inputs and features right after a recompute has read the inputs.
struct Interleaved {
    inner: tailor_aws::DynamoStore,
    profile: String,
    fired: std::sync::atomic::AtomicBool,
}

impl tailor_core::ports::Store for Interleaved {
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
        let read = self.inner.get_many(table, keys).await;
        if table == Table::FeatureInputs
            && !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            for key in keys {
                self.inner.delete(Table::FeatureInputs, key).await?;
            }
            self.inner.delete(Table::Features, &self.profile).await?;
        }
        read
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: tailor_core::Timestamp,
        precondition: tailor_core::ports::Precondition,
    ) -> Result<u64, tailor_core::ports::StoreError> {
        self.inner
            .put(table, key, value, expires_at, precondition)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), tailor_core::ports::StoreError> {
        self.inner.delete(table, key).await
    }
}

#[test]
fn a_recompute_from_inputs_purged_meanwhile_never_writes_them_back() {
    let mut p = aws("race");
    assert!(
        p.send_lines(&three_users_views())
            .iter()
            .all(|d| *d == Disposition::ACCEPTED)
    );
    let features = p.table(Table::Features);
    let (profile, _) = features[0].clone();
    let store = Interleaved {
        inner: p.deployment.store(),
        profile: profile.clone(),
        fired: std::sync::atomic::AtomicBool::new(false),
    };
    let policy = tailor_core::policy::Policy::shipped().unwrap();
    let key = profile_key(&profile);
    let result = p.runtime.block_on(async {
        // The stored features predate the latest inputs, so the recompute
        // has something to write.
        tailor_core::ports::Store::put(
            &store.inner,
            Table::Features,
            &profile,
            b"{}".to_vec(),
            tailor_core::Timestamp::from_millis(i64::MAX),
            tailor_core::ports::Precondition::None,
        )
        .await
        .unwrap();
        let (resolved, members) = tailor_core::state::resolve(&store, &key).await.unwrap();
        assert_eq!(resolved, profile);
        tailor_core::state::recompute_profile(
            &store,
            &policy,
            &tailor_tests::test_key(),
            &profile,
            &members,
        )
        .await
    });
    assert_eq!(
        result.unwrap().features,
        None,
        "the second attempt sees the purge"
    );
    assert!(
        p.table(Table::Features).iter().all(|(k, _)| *k != profile),
        "stale inputs did not overwrite the purge"
    );
}

/// The user key of a profile made by [`three_users_views`].
fn profile_key(profile: &str) -> String {
    (0..3)
        .map(|i| format!("u-{i}"))
        .find(|u| tailor_core::identity::profile_of_user(u) == profile)
        .map(|u| format!("user:{u}"))
        .unwrap()
}

#[test]
fn when_the_invocations_time_is_spent_every_record_is_retried_not_the_batch_failed() {
    let mut p = aws("deadline");
    let records = p.records(&three_users_views());
    p.deployment.deadline.set(Some(
        std::time::Instant::now() + std::time::Duration::from_millis(100),
    ));
    let outcome = p.ingest(&records);
    assert_eq!(outcome.dispositions.len(), records.len());
    assert!(
        outcome
            .dispositions
            .iter()
            .all(|(_, d)| *d == Disposition::Retry)
    );
    let response = serde_json::to_value(tailor_aws::stream::response(&outcome)).unwrap();
    assert_eq!(support::runtime::failures(&response).len(), records.len());
    // With time again, the same records go through once.
    p.deployment.deadline.set(None);
    let again = p.ingest(&records);
    assert!(
        again
            .dispositions
            .iter()
            .all(|(_, d)| *d == Disposition::ACCEPTED)
    );
}
