//! The functions over the GCP adapters (Firestore and Pub/Sub on Google's
//! emulators): the golden conformance cases give the same results as on
//! the local platform, a generated stream gives the local platform's state,
//! store errors mid-batch retry exactly the records they hit, a batch's
//! updates are coalesced, a purge during a recompute wins, and replays
//! change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use support::pipeline::gcp;
use tailor_core::batch::BatchOutcome;
use tailor_core::disposition::Disposition;
use tailor_tests::cloud::{self, Redelivery};

#[test]
fn every_golden_case_gives_the_same_results_as_on_the_local_platform() {
    cloud::assert_golden_cases(gcp);
}

#[test]
fn a_generated_stream_gives_the_local_platforms_state() {
    cloud::assert_local_state(&mut gcp("generated"), &tailor_tests::generated(12, 6, 17));
}

#[test]
fn the_units_billed_are_the_ones_the_local_platform_counts() {
    let lines = tailor_tests::generated(8, 3, 7);
    cloud::assert_units_match_the_local_count(
        &mut gcp("units"),
        &lines,
        50,
        &[
            tailor_gcp::firestore::READS,
            tailor_gcp::firestore::WRITES,
            tailor_runtime::cost::billing::pubsub::PUBLISH_BYTES,
        ],
    );
}

#[test]
fn firestore_errors_mid_batch_retry_exactly_the_records_they_hit() {
    let (mut p, mut clean) = (gcp("faults"), gcp("faults-clean"));
    // Pub/Sub redelivers only the messages answered with an error.
    cloud::assert_faults_retry_exactly_the_records_they_hit(
        &mut p,
        &mut clean,
        Redelivery::OnlyFailed,
        |records, outcome| {
            // On push each record is its own request: those two are answered 503.
            for (record, (_, disposition)) in records.iter().zip(&outcome.dispositions) {
                let one = BatchOutcome {
                    dispositions: vec![(record.id.clone(), *disposition)],
                    report: outcome.report.clone(),
                };
                let status = tailor_gcp::push::status_for(&one);
                assert_eq!(
                    status.is_success(),
                    *disposition != Disposition::Retry,
                    "{disposition:?}"
                );
            }
        },
    );
}

#[test]
fn a_batchs_updates_for_one_profile_are_coalesced_into_one_write_each() {
    let outcome = cloud::assert_a_batch_writes_once_per_profile(&mut gcp("coalesce"));
    assert_eq!(
        outcome.report.billed(tailor_gcp::firestore::WRITES),
        2,
        "a document write each, whatever its size"
    );
}

#[test]
fn nothing_of_an_erased_person_remains_in_any_table() {
    cloud::assert_nothing_of_an_erased_person_remains(&mut gcp("erasure"));
}

#[test]
fn a_recompute_from_inputs_purged_meanwhile_never_writes_them_back() {
    cloud::assert_a_purge_during_a_recompute_wins(&mut gcp("race"));
}

#[test]
fn a_redelivered_batch_leaves_every_collection_as_it_was() {
    cloud::assert_redelivery_changes_nothing(&mut gcp("replay"));
}
