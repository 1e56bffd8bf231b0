//! The Lambda packages' builds share their dependencies' compilation.
//!
//! `infra/aws/package.sh` builds each function's binary with that
//! function's feature alone, one after another in one target directory.
//! A crate every function links is compiled once only if every function's
//! build turns on the same features of it: otherwise cargo compiles it,
//! and every crate above it, again (score's model engines once turned on
//! four features of the numeric crates, and its build compiled the policy
//! engine, the schema validator and the core a second time, about 2 minutes
//! of a clean packaging build on 2 cores). `cargo tree` resolves each
//! build here, as `package.sh` would for both architectures.
//!
//! And no package carries code no function runs: a second cryptography
//! library, the SDK's credential chain, a model engine's operators for
//! language models. Each once made every package larger than it is now
//! (docs/benchmarks.md).

#![allow(clippy::expect_used, reason = "tests fail loudly")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// What `package.sh` builds: `--features <one of these>`.
const BUILDS: [&str; 6] = [
    "ingest",
    "enrich",
    "features",
    "consent",
    "score",
    "slow-lane",
];

const TARGETS: [&str; 2] = ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"];

/// Each non-workspace crate of one build (name and version) and the sets of
/// features it is built with (a crate may be built more than once).
fn resolve(features: &str, target: &str) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(cargo)
        .args(["tree", "--locked", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "tailor-aws", "--no-default-features", "--features"])
        .arg(features)
        .args(["--target", target])
        // The code that goes into the binary: proc macros and build scripts
        // run on the build machine, whatever they turn on there.
        .args(["-e", "normal,no-proc-macro", "--prefix", "none"])
        .args(["--format", "{p}\t{f}"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree --features {features} --target {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut crates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).expect("UTF-8").lines() {
        let line = line.trim_end_matches(" (*)");
        let (package, enabled) = line.split_once('\t').expect("package, tab, features");
        // Workspace crates carry their path; their features are the function's own.
        if package.contains(" (") {
            continue;
        }
        crates
            .entry(package.to_owned())
            .or_default()
            .insert(enabled.to_owned());
    }
    crates
}

#[test]
fn every_function_build_turns_on_the_same_features_of_the_crates_they_share() {
    for target in TARGETS {
        // Per crate, the first build that has it and its features there.
        let mut first: BTreeMap<String, (&str, BTreeSet<String>)> = BTreeMap::new();
        let mut differing = Vec::new();
        for function in BUILDS {
            let crates = resolve(function, target);
            assert!(
                crates.keys().any(|p| p.starts_with("aws-sdk-dynamodb ")),
                "{function}'s build for {target} resolves the DynamoDB client: {crates:?}"
            );
            for (package, enabled) in crates {
                match first.get(&package) {
                    Some((earlier, theirs)) if *theirs != enabled => differing.push(format!(
                        "{package}: {earlier} {theirs:?}, {function} {enabled:?}"
                    )),
                    Some(_) => {}
                    None => {
                        first.insert(package, (function, enabled));
                    }
                }
            }
        }
        assert!(
            differing.is_empty(),
            "crates built with other features in one function's package than in \
             another's ({target}); turn the union on for every function \
             (tailor-runtime's Cargo.toml):\n{}",
            differing.join("\n")
        );
    }
}

/// Crates no function's package may hold, and why.
const LEFT_OUT: [(&str, &str); 5] = [
    (
        "aws-lc-rs",
        "rustls's provider is ring (tailor_aws::https_client)",
    ),
    (
        "aws-lc-sys",
        "rustls's provider is ring (tailor_aws::https_client)",
    ),
    (
        "aws-config",
        "the SDK is configured from Lambda's variables (config::sdk)",
    ),
    ("aws-sdk-sts", "no credential source but Lambda's variables"),
    (
        "tract-transformers",
        "no tabular model uses language models' operators",
    ),
];

#[test]
fn no_package_holds_what_no_function_runs() {
    let mut found = Vec::new();
    for target in TARGETS {
        for function in BUILDS {
            for package in resolve(function, target).into_keys() {
                let name = package.split_once(' ').map_or(package.as_str(), |(n, _)| n);
                if let Some((_, why)) = LEFT_OUT.iter().find(|(left, _)| *left == name) {
                    found.push(format!("{function} ({target}): {package}, though {why}"));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
