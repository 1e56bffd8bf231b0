//! Whole streams: order and repeats do not change the result, the backfill
//! matches the online state, and nothing is ever written without consent.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::Value;
use tailor_core::ports::Table;
use tailor_tests::{PipelineHandle, generated, spawn_pipeline};

/// A deterministic shuffle with some lines delivered twice.
fn shuffled_with_repeats(lines: &[Vec<u8>], seed: u64, repeat_every: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = lines.to_vec();
    out.extend(lines.iter().step_by(repeat_every).cloned());
    let mut state = seed | 1;
    for i in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.swap(i, (state % (i as u64 + 1)) as usize);
    }
    out
}

fn run(lines: &[Vec<u8>], batch: usize) -> PipelineHandle {
    let mut p = spawn_pipeline();
    p.send_batches(lines, batch);
    p
}

#[test]
fn a_shuffled_duplicated_stream_gives_byte_identical_feature_state() {
    let lines = generated(120, 21, 42);
    let clean = run(&lines, 100);
    let messy = run(&shuffled_with_repeats(&lines, 9, 7), 37);
    let a = clean.feature_state();
    let b = messy.feature_state();
    assert!(
        clean.table(Table::Features).len() > 20,
        "the stream produces features"
    );
    assert!(
        a == b,
        "feature state differs: {} vs {} bytes",
        a.len(),
        b.len()
    );
}

#[test]
fn replaying_a_whole_stream_changes_no_feature() {
    let lines = generated(50, 7, 4);
    let mut p = run(&lines, 100);
    let once = p.feature_state();
    p.send_batches(&lines, 100);
    assert_eq!(p.feature_state(), once);
}

#[test]
fn the_backfill_from_the_offline_log_matches_the_online_features() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("enriched.jsonl");
    let mut p = spawn_pipeline();
    p.pipeline.archive_enriched(&log, true).unwrap();
    let lines = generated(80, 14, 21);
    p.send_batches(&lines, 100);
    p.pipeline.flush().unwrap();
    let offline = tailor_local::offline::backfill::backfill(
        &log,
        p.pipeline.store(),
        p.pipeline.policy(),
        p.pipeline.functions().tokens(),
    )
    .unwrap();
    let online = tailor_local::offline::backfill::online(p.pipeline.store()).unwrap();
    assert!(online.len() > 10);
    assert_eq!(
        offline.keys().collect::<Vec<_>>(),
        online.keys().collect::<Vec<_>>()
    );
    for (profile, features) in &online {
        assert_eq!(&offline[profile], features, "{profile}");
    }
    // Where the stream's keys stand, read by key (as a cloud's batch job
    // reads them), is what a scan of the whole store finds. (The local log
    // no longer holds an erased person's lines: the stream's events name
    // their keys.)
    let keys: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .flat_map(|e| {
            let s = &e["subject"];
            [
                s["user_id"].as_str().map(|u| format!("user:{u}")),
                s["anonymous_id"].as_str().map(|a| format!("anon:{a}")),
            ]
        })
        .flatten()
        .collect();
    let scanned = tailor_local::offline::backfill::FinalState::read(
        p.pipeline.store(),
        p.pipeline.functions().tokens(),
    )
    .unwrap();
    let tables = tailor_core::tables::Tables::new(
        p.pipeline.store(),
        p.pipeline.policy(),
        p.pipeline.functions().tokens(),
    );
    let settled = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(tables.settled(&keys))
        .unwrap();
    let mut erased = 0;
    for key in &keys {
        assert_eq!(settled.profile_of(key), scanned.profile_of(key), "{key}");
        erased += usize::from(settled.profile_of(key).is_none());
    }
    assert!(erased > 0, "the stream erases someone");
    assert!(!settled.ledgers.is_empty());
    for (profile, ledger) in &settled.ledgers {
        assert_eq!(Some(ledger), scanned.ledgers.get(profile), "{profile}");
    }
}

/// Every stored input comes from an event whose own consent granted
/// personalization (each bucket names its events by id digest), and
/// nothing is kept from at or before a revocation of its key.
fn assert_no_input_without_consent(p: &PipelineHandle, claims: &BTreeMap<String, bool>) {
    let by_digest: BTreeMap<u64, (&String, bool)> = claims
        .iter()
        .map(|(id, granted)| {
            let hex = tailor_core::token::digest(&["event", id], 8);
            (u64::from_str_radix(&hex, 16).unwrap(), (id, *granted))
        })
        .collect();
    let ledgers: Vec<(String, Value)> = p.table(Table::Consent);
    let revocations: BTreeSet<(String, String)> = ledgers
        .iter()
        .flat_map(|(key, l)| {
            l["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["action"] != "grant")
                .map(move |e| (key.clone(), e["at"].as_str().unwrap_or_default().to_owned()))
        })
        .collect();
    for (key, inputs) in p.table(Table::FeatureInputs) {
        let inputs: tailor_core::features::KeyInputs = serde_json::from_value(inputs).unwrap();
        for (start, bucket) in &inputs.buckets {
            for digest in &bucket.ids {
                let (id, granted) = by_digest[digest];
                assert!(granted, "input {id} without a personalization claim");
            }
            for (k, t) in &revocations {
                let t = tailor_core::Timestamp::parse(t).unwrap();
                assert!(
                    k != &key || *start > t.as_millis(),
                    "a bucket of {key} kept despite a later revocation"
                );
            }
        }
        for at in inputs.last.values() {
            assert!(
                !revocations
                    .iter()
                    .any(|(k, t)| k == &key && tailor_core::Timestamp::parse(t).unwrap() >= *at),
                "an event of {key} kept despite a later revocation"
            );
        }
    }
}

fn claims(lines: &[Vec<u8>]) -> BTreeMap<String, bool> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter_map(|v| {
            let id = v["event_id"].as_str()?.to_owned();
            let granted = v["consent"]["purposes"]
                .as_array()?
                .iter()
                .any(|p| p == "personalization");
            Some((id, granted))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn any_stream_in_any_order_gives_the_same_features(seed in 0u64..1_000, shuffle in 1u64..1_000, batch in 5usize..120) {
        let lines = generated(25, 10, seed);
        let clean = run(&lines, 100).feature_state();
        let messy = run(&shuffled_with_repeats(&lines, shuffle, 5), batch).feature_state();
        prop_assert!(clean == messy);
    }

    #[test]
    fn no_feature_is_ever_written_without_the_purposes_consent(seed in 0u64..1_000, batch in 5usize..80) {
        let lines = generated(30, 10, seed);
        let claims = claims(&lines);
        let mut p = spawn_pipeline();
        for chunk in lines.chunks(batch) {
            p.send_raw(chunk);
            assert_no_input_without_consent(&p, &claims);
        }
    }
}
