//! The functions over the AWS adapters (DynamoDB and Kinesis on moto): the
//! golden conformance cases give the same results as on the local
//! platform, store errors mid-batch retry exactly the records they hit, and
//! replays change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use support::pipeline::aws;
use tailor_core::disposition::Disposition;
use tailor_tests::cloud::{self, Redelivery, three_users_views};

#[test]
fn every_golden_case_gives_the_same_results_as_on_the_local_platform() {
    cloud::assert_golden_cases(aws);
}

#[test]
fn the_units_billed_are_the_ones_the_local_platform_counts() {
    let lines = tailor_tests::generated(8, 3, 7);
    cloud::assert_units_match_the_local_count(
        &mut aws("units"),
        &lines,
        50,
        &[
            tailor_aws::dynamo::READ_UNITS,
            tailor_aws::dynamo::WRITE_UNITS,
            tailor_runtime::cost::billing::kinesis::INGEST_BYTES,
        ],
    );
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
    let outcome = cloud::assert_a_batch_writes_once_per_profile(&mut aws("coalesce"));
    let units = outcome.report.billed(tailor_aws::dynamo::WRITE_UNITS);
    assert!((2..8).contains(&units), "{units} write units");
}

#[test]
fn nothing_of_an_erased_person_remains_in_any_table() {
    cloud::assert_nothing_of_an_erased_person_remains(&mut aws("erasure"));
}

#[test]
fn a_recompute_from_inputs_purged_meanwhile_never_writes_them_back() {
    cloud::assert_a_purge_during_a_recompute_wins(&mut aws("race"));
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
