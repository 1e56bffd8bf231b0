//! Decision latency in process, per engine: features already loaded, then
//! policy, masking, inference, explanation and choice — `score::decide`.
//! Also engine start-up (library load + session creation) and peak RSS.
//!
//! Not a criterion bench: the target is a tail latency (p99), so every
//! decision is timed and percentiles are reported.
//!
//!     cargo bench -p tailor-cli --bench decide -- tract
//!     cargo bench -p tailor-cli --bench decide -- ort
//!
//! One engine per run, so peak RSS is that engine's. Results are recorded in
//! `docs/benchmarks.md`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark fails loudly"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use tailor_core::Timestamp;
use tailor_core::consent::Ledger;
use tailor_core::event::Purpose;
use tailor_core::features::{Feature, ProfileFeatures};
use tailor_core::policy::Policy;
use tailor_core::score::{Catalog, DecisionRequest, Loaded, Model, PolicyMemo, decide_with};
use tailor_model::{EngineChoice, LoadedModel};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let engine = std::env::args()
        .skip(1)
        .find(|a| a == "ort" || a == "tract")
        .unwrap_or_else(|| "tract".into());
    let choice = if engine == "ort" {
        EngineChoice::Ort
    } else {
        EngineChoice::Tract
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/conversion-v1");
    let started = Instant::now();
    let model = LoadedModel::load(&dir, choice).expect("model loads");
    let startup = started.elapsed();
    let policy = Policy::shipped().unwrap();
    let catalog = Catalog::shipped().unwrap();
    let memo = PolicyMemo::new(&policy);
    let now = Timestamp::parse("2026-11-20T12:00:00Z").unwrap();

    let mut profiles = Vec::new();
    for i in 0..64u32 {
        let features: BTreeMap<String, Feature> = model
            .features()
            .iter()
            .enumerate()
            .map(|(j, n)| {
                (
                    n.clone(),
                    Feature {
                        value: serde_json::json!(f64::from((i * 7 + j as u32 * 3) % 11)),
                        updated_at: now,
                    },
                )
            })
            .collect();
        profiles.push(Loaded {
            profile_id: format!("p_{i}"),
            features: Ok(Some(ProfileFeatures {
                profile_id: format!("p_{i}"),
                as_of: now,
                features,
                inputs_hash: String::new(),
            })),
            ledger: Ok(Ledger::default()),
            slow: Ok(None),
        });
    }
    let requests: Vec<DecisionRequest> = [
        ("offer", Purpose::Marketing),
        ("onboarding", Purpose::Personalization),
    ]
    .iter()
    .map(|(placement, purpose)| DecisionRequest {
        profile: "user:u".into(),
        purpose: *purpose,
        placement: (*placement).into(),
        region: "eu".into(),
        consent: Purpose::ALL.to_vec(),
        adult: true,
        context: BTreeMap::new(),
    })
    .collect();

    let rounds = 20_000;
    for i in 0..2_000 {
        let _ = decide_with(
            "dec".into(),
            now,
            &requests[i % 2],
            &profiles[i % 64],
            &catalog,
            &memo,
            Some(&model as &dyn Model),
        );
    }
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let t = Instant::now();
        let record = decide_with(
            "dec".into(),
            now,
            &requests[i % 2],
            &profiles[i % 64],
            &catalog,
            &memo,
            Some(&model as &dyn Model),
        );
        times.push(t.elapsed().as_nanos() as f64 / 1000.0);
        assert!(record.fallback.is_none());
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "decide/{engine}: n={rounds} p50={:.1}µs p90={:.1}µs p99={:.1}µs max={:.1}µs startup={:.1}ms peak_rss={}MiB",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        times[times.len() - 1],
        startup.as_secs_f64() * 1000.0,
        peak_rss_kib() / 1024
    );
}
