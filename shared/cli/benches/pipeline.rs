//! Throughput of each step on one core, over a generated stream.
//!
//! - `ingest/prepare`: decode, schema check, typing, minimization, consent
//!   gate, lateness and routing of one raw record (the pure step).
//! - `enrich/resolve`: identity resolution of one ingested event against
//!   its loaded nodes (the pure step).
//! - `features/apply`: folding one event into its key's bucketed inputs
//!   (the features function's pure step per event).
//! - `features/evaluate`: evaluating all of a profile's ~50 features from
//!   its state at a moment (what a decision or a profile read does, per
//!   profile).
//! - `pipeline/local`: every function chained over the embedded store
//!   (in memory), per record: the whole local platform.
//!
//! Results are recorded in `docs/benchmarks.md`.

#![allow(clippy::expect_used, reason = "benchmarks fail loudly")]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tailor_core::Timestamp;
use tailor_core::batch::Record;
use tailor_core::contract::Contract;
use tailor_core::decode::Limits;
use tailor_core::features::{KeyInputs, ProfileState, Summary};
use tailor_core::identity::{IdentityView, resolve};
use tailor_core::ingest::{Ingested, Ingestor};
use tailor_core::policy::Policy;
use tailor_core::token::TokenKey;
use tailor_gen::{GenOptions, generate};
use tailor_local::LocalPlatform;
use tailor_runtime::{ClockMode, RunReport, Settings};

fn stream() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    generate(
        &GenOptions {
            profiles: 200,
            days: 14,
            ..GenOptions::default()
        },
        &mut out,
    )
    .expect("generate");
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn sent_at(bytes: &[u8]) -> Timestamp {
    tailor_runtime::clock::replay_time(bytes).unwrap_or(Timestamp::from_millis(0))
}

fn steps(c: &mut Criterion) {
    let lines = stream();
    let policy: &'static Policy = Box::leak(Box::new(Policy::shipped().expect("policy")));
    let key = TokenKey::new(*b"bench-key-0123456789").expect("key");
    let ingestor = Ingestor::new(
        Contract::global().expect("schemas"),
        policy,
        Limits::default(),
        key.clone(),
    );
    let ingested: Vec<Ingested> = lines
        .iter()
        .filter_map(|l| ingestor.prepare(l, sent_at(l)).ok())
        .collect();

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("prepare", |b| {
        b.iter(|| {
            for l in &lines {
                let _ = black_box(ingestor.prepare(black_box(l), sent_at(l)));
            }
        });
    });
    group.finish();

    let mut group = c.benchmark_group("enrich");
    group.throughput(Throughput::Elements(ingested.len() as u64));
    let view = IdentityView::default();
    group.bench_function("resolve", |b| {
        b.iter(|| {
            for e in &ingested {
                black_box(resolve(black_box(e), &view, policy));
            }
        });
    });
    group.finish();

    let summaries: Vec<Summary> = ingested.iter().filter_map(Summary::of).collect();
    let mut group = c.benchmark_group("features");
    group.throughput(Throughput::Elements(summaries.len() as u64));
    // One key per 20 events: a realistic amount of history per profile.
    group.bench_function("apply", |b| {
        b.iter(|| {
            let mut last = KeyInputs::default();
            for chunk in summaries.chunks(20) {
                let mut inputs = KeyInputs::default();
                for s in chunk {
                    black_box(inputs.apply(s));
                }
                last = inputs;
            }
            last
        });
    });
    let states: Vec<ProfileState> = summaries
        .chunks(20)
        .filter_map(|chunk| {
            let mut inputs = KeyInputs::default();
            for s in chunk {
                inputs.apply(s);
            }
            ProfileState::of("p", std::slice::from_ref(&inputs))
        })
        .collect();
    group.throughput(Throughput::Elements(states.len() as u64));
    group.bench_function("evaluate", |b| {
        b.iter(|| {
            for state in &states {
                let at = state.newest().unwrap_or(Timestamp::from_millis(0));
                black_box(state.evaluate(at));
            }
        });
    });
    group.finish();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let records: Vec<Record> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Record {
            partition: None,
            id: i.to_string(),
            received_at: sent_at(l),
            bytes: l.clone(),
            may_change_consent: true,
        })
        .collect();
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("local", |b| {
        b.iter_batched(
            || {
                let mut settings = Settings::new(tailor_cli::commands::default_model_dir());
                settings.token_key = Some(key.clone());
                settings.clock = ClockMode::Arrival;
                LocalPlatform::open(None, &settings, &tailor_runtime::Function::STREAM)
                    .expect("platform")
            },
            |pipeline| {
                let mut report = RunReport::default();
                for chunk in records.chunks(100) {
                    runtime.block_on(pipeline.process(chunk, &mut report));
                }
                report
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
