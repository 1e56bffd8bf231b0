//! The stream functions chained in-process over the SQLite store, as the
//! `ingest` component runs them, on real SQLite: the golden conformance
//! cases give the same results as on the local platform, a generated
//! stream gives the local platform's state, store errors mid-batch retry
//! exactly the records they hit, a batch's updates are coalesced, a purge
//! during a recompute wins, nothing of an erased person remains, and
//! replays change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use crate::support;

use tailor_core::disposition::Disposition;
use tailor_tests::cloud::{self, Redelivery};

use support::pipeline::spin;

#[test]
fn every_golden_case_gives_the_same_results_as_on_the_local_platform() {
    cloud::assert_golden_cases(spin);
}

#[test]
fn a_generated_stream_gives_the_local_platforms_state() {
    cloud::assert_local_state(&mut spin("generated"), &tailor_tests::generated(12, 6, 17));
}

#[test]
fn store_errors_mid_batch_retry_exactly_the_records_they_hit() {
    let mut p = spin("faults");
    let mut clean = spin("faults-clean");
    cloud::assert_faults_retry_exactly_the_records_they_hit(
        &mut p,
        &mut clean,
        Redelivery::OnlyFailed,
        |records, outcome| {
            // The component answers a request with any retry 503, listing
            // which records to send again.
            assert_eq!(
                tailor_runtime::http::status_for(outcome),
                http::StatusCode::SERVICE_UNAVAILABLE
            );
            assert_eq!(outcome.dispositions.len(), records.len());
            assert_eq!(
                outcome
                    .dispositions
                    .iter()
                    .filter(|(_, d)| *d == Disposition::Retry)
                    .count(),
                2
            );
        },
    );
}

#[test]
fn a_batchs_updates_for_one_profile_are_coalesced_into_one_write_each() {
    cloud::assert_a_batch_writes_once_per_profile(&mut spin("coalesce"));
}

#[test]
fn nothing_of_an_erased_person_remains_in_any_table() {
    cloud::assert_nothing_of_an_erased_person_remains(&mut spin("erasure"));
}

#[test]
fn a_recompute_from_inputs_purged_meanwhile_never_writes_them_back() {
    cloud::assert_a_purge_during_a_recompute_wins(&mut spin("purge-race"));
}

#[test]
fn a_redelivered_batch_leaves_every_table_as_it_was() {
    cloud::assert_redelivery_changes_nothing(&mut spin("redelivery"));
}
