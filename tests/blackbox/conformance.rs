//! The golden conformance cases (`events/cases/`, run by
//! `tailor_tests::cases`) on the local platform.

use tailor_tests::cases::{cases, run_case};
use tailor_tests::spawn_pipeline;

#[test]
fn every_golden_case_passes_on_the_local_platform() {
    let cases = cases();
    assert!(
        cases.len() >= 10,
        "expected the golden cases, found {}",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            run_case(c, spawn_pipeline)
                .err()
                .map(|e| format!("{}:\n  {e}", c.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
