//! The `tailor` binary, run as a user would.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tailor(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tailor"))
        .args(args)
        .current_dir(dir)
        .env_remove("TAILOR_TOKEN_KEY")
        .output()
        .expect("tailor runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for sub in [
        "gen",
        "validate",
        "run",
        "serve",
        "backfill",
        "decide",
        "explain",
        "export-training",
        "export-decisions",
        "outcomes",
        "keys",
        "cost",
        "sweep",
        "estimate",
    ] {
        let out = tailor(dir.path(), &[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: tailor"),
            "{sub}"
        );
    }
}

#[test]
fn gen_is_deterministic_for_a_seed_and_end() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "gen",
        "--profiles",
        "15",
        "--days",
        "5",
        "--seed",
        "3",
        "--end",
        "2026-11-25T00:00:00Z",
    ];
    let a = tailor(dir.path(), &args);
    let b = tailor(dir.path(), &args);
    assert!(a.status.success());
    assert!(a.stdout.len() > 1_000);
    assert_eq!(a.stdout, b.stdout);
    let c = tailor(
        dir.path(),
        &[
            "gen",
            "--profiles",
            "15",
            "--days",
            "5",
            "--seed",
            "4",
            "--end",
            "2026-11-25T00:00:00Z",
        ],
    );
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn validate_accepts_valid_samples_and_names_the_rule_each_bad_event_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let valid = repo().join("events/samples/valid/checkout-web-offset.json");
    let out = tailor(dir.path(), &["validate", valid.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());

    let good = std::fs::read_to_string(&valid).unwrap().replace('\n', "");
    let bad_ts = good.replace("\"occurred_at\": \"", "\"occurred_at\": \"x");
    let lines = format!("{good}\n{bad_ts}\n{{\"event_id\": 1\n{good}\n");
    let file = dir.path().join("events.jsonl");
    std::fs::write(&file, lines).unwrap();
    let out = tailor(dir.path(), &["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reported: Vec<&str> = stdout.lines().collect();
    assert_eq!(reported.len(), 2, "{stdout}");
    assert!(
        reported[0].contains(":2: contract: /occurred_at") && reported[0].contains("date-time"),
        "{}",
        reported[0]
    );
    assert!(
        reported[1].contains(":3: malformed_json"),
        "{}",
        reported[1]
    );
}

#[test]
fn validate_rejects_every_invalid_sample() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("events/samples/invalid")).unwrap() {
        let path = entry.unwrap().path();
        if path.ends_with("MANIFEST.json") {
            continue;
        }
        let out = tailor(dir.path(), &["validate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
    }
}

#[test]
fn run_prints_a_readable_summary_and_backfill_matches_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = tailor(
        dir.path(),
        &[
            "run",
            "--profiles",
            "40",
            "--days",
            "7",
            "--end",
            "2026-11-25T00:00:00Z",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("tailor run: "), "{stdout}");
    for word in [
        "ingest",
        "enrich",
        "features",
        "consent",
        "dead letters by reason",
        "profiles with features",
    ] {
        assert!(stdout.contains(word), "{word} missing from\n{stdout}");
    }
    assert!(dir.path().join(".tailor/state.redb").exists());
    assert!(dir.path().join(".tailor/token.key").exists());
    let out = tailor(dir.path(), &["backfill"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(" 0 differ"));
    // The slow lane, as of the stream's end: a lane per profile the log
    // still holds, with batch scores for the placements that read it.
    let out = tailor(
        dir.path(),
        &[
            "backfill",
            "--lane",
            "slow",
            "--at",
            "2026-11-25T00:00:00Z",
            "--engine",
            "tract",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: Vec<u64> = stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [profiles, kept, scores, erased] = counts[..] else {
        panic!("{stdout}")
    };
    assert!(profiles > 0 && kept + erased == profiles, "{stdout}");
    assert!(scores > 0 && scores <= 2 * kept, "{stdout}");
    let bad = tailor(
        dir.path(),
        &["backfill", "--lane", "slow", "--at", "yesterday"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--at yesterday"));
}

#[test]
fn run_reports_json_with_every_record_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let stream = repo().join("events/sample-stream.jsonl");
    let out = tailor(dir.path(), &["run", stream.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ingest = &report["functions"]["ingest"];
    let lines = std::fs::read_to_string(&stream)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    let dead: u64 = ingest["dead_lettered"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(ingest["records_in"].as_u64().unwrap(), lines);
    assert_eq!(
        ingest["accepted"].as_u64().unwrap() + ingest["duplicates"].as_u64().unwrap() + dead,
        lines
    );
    assert_eq!(report["unresolved"], 0);
}

#[test]
fn run_shows_decisions_that_explain_and_decide_can_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = tailor(
        dir.path(),
        &[
            "run",
            "--profiles",
            "40",
            "--days",
            "7",
            "--end",
            "2026-11-25T00:00:00Z",
        ],
    );
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("sample decisions (conversion 1.0.0"),
        "{stdout}"
    );
    let id = stdout
        .split_whitespace()
        .find(|w| w.starts_with("dec_"))
        .expect("a decision id");
    let explained = tailor(dir.path(), &["explain", id]);
    assert!(
        explained.status.success(),
        "{}",
        String::from_utf8_lossy(&explained.stderr)
    );
    let text = String::from_utf8_lossy(&explained.stdout);
    assert!(text.contains(id) && text.contains("why:"), "{text}");

    let user = stdout
        .lines()
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("user:")))
        .unwrap();
    let decided = tailor(
        dir.path(),
        &[
            "decide",
            "--profile",
            user,
            "--placement",
            "offer",
            "--purpose",
            "marketing",
            "--engine",
            "tract",
            // As of the stream's end: at the wall clock's now its features
            // would grow stale as the days pass.
            "--at",
            "2026-11-25T00:00:00Z",
        ],
    );
    assert!(
        decided.status.success(),
        "{}",
        String::from_utf8_lossy(&decided.stderr)
    );
    let record: serde_json::Value = serde_json::from_slice(&decided.stdout).unwrap();
    assert_eq!(record["placement"], "offer");
    assert_eq!(record["model"]["engine"], "tract");
    let missing = tailor(dir.path(), &["explain", "dec_nothing"]);
    assert_eq!(missing.status.code(), Some(1));

    let exported = tailor(dir.path(), &["export-decisions", "-o", "decisions.csv"]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("decisions.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("decision_id,profile_id,placement,action,segment,score,"));
    assert!(header.ends_with(",impression,click,convert,dismiss,unsubscribe"));
    let has_inputs = record["snapshot"]["values"]
        .as_object()
        .is_some_and(|v| !v.is_empty());
    let decision_id = record["decision_id"].as_str().unwrap();
    assert_eq!(
        csv.lines()
            .any(|l| l.starts_with(&format!("{decision_id},"))),
        has_inputs,
        "a decision is a training row exactly when it reached the model's inputs"
    );
}

#[test]
fn a_new_key_is_printed_once_and_kept_only_as_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let out = tailor(
        dir.path(),
        &[
            "keys",
            "new",
            "--name",
            "shop",
            "--scopes",
            "events:write,decide",
            "--file",
            "keys",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("tk_") && key.len() == 51, "{key}");
    let kept = std::fs::read_to_string(dir.path().join("keys")).unwrap();
    assert!(!kept.contains(&key), "the key itself is not stored");
    let fields: Vec<&str> = kept.split_whitespace().collect();
    assert_eq!(fields[0], "shop");
    assert_eq!(fields[1].len(), 64);
    assert_eq!(fields[2], "decide,events:write");
    let bad = tailor(
        dir.path(),
        &[
            "keys", "new", "--name", "x", "--scopes", "admin", "--file", "keys",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope \"admin\""));
}

#[test]
fn serve_refuses_to_start_without_keys_or_open_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = tailor(
        dir.path(),
        &["serve", "--addr", "127.0.0.1:0", "--api-keys", "missing"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reading API keys from missing"), "{err}");
    let out = tailor(dir.path(), &["serve", "--addr", "0.0.0.0:0", "--no-auth"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--no-auth is only allowed on a loopback address"),
        "{err}"
    );
}

/// One invocation's cost record, priced against the book this build
/// carries: `function` on `platform` at 1,024 MB, 10 ms, `records_in`.
fn cost_record(
    platform: tailor_cost::Platform,
    function: &str,
    records_in: u64,
) -> serde_json::Value {
    let mut report = tailor_core::report::InvocationReport::new(function);
    report.records_in = records_in;
    let region = match platform {
        tailor_cost::Platform::Aws => "aws/us-east-1",
        tailor_cost::Platform::Gcp => "gcp/us-central1",
        tailor_cost::Platform::Spin => "spinkube/aws-us-east-1",
    };
    let sizing = tailor_cost::Sizing {
        platform,
        region: region.into(),
        memory_mb: 1_024,
        arch: tailor_cost::Arch::Arm64,
        milli_vcpu: 1_000,
    };
    let measured = tailor_cost::rules::Measured {
        duration_us: 10_000,
        ..Default::default()
    };
    let record = tailor_cost::CostRecord::measure(&sizing, &report, &measured)
        .unwrap()
        .priced_or_noted(&tailor_cost::PriceBook::default_book().unwrap());
    serde_json::to_value(record).unwrap()
}

#[test]
fn cost_gives_each_decision_its_own_cost() {
    let dir = tempfile::tempdir().unwrap();
    let decided = |id: &str, records_in| {
        let mut record = cost_record(tailor_cost::Platform::Aws, "score", records_in);
        record["decision_id"] = serde_json::json!(id);
        record
    };
    let (a, b) = (decided("dec_a", 1), decided("dec_b", 1));
    let total = |r: &serde_json::Value| -> tailor_cost::Money {
        serde_json::from_value(r["total"].clone()).unwrap()
    };
    std::fs::write(
        dir.path().join("score.log"),
        format!(
            "{a}\n{b}\n{}\n",
            cost_record(tailor_cost::Platform::Aws, "score", 1)
        ),
    )
    .unwrap();
    let out = tailor(dir.path(), &["cost", "score.log", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Only the two records naming a decision; each its own request's total.
    assert_eq!(
        summary["decisions"],
        serde_json::json!({"dec_a": total(&a).to_string(), "dec_b": total(&b).to_string()})
    );
    // A million decisions at their average: (a + b) / 2 × 1,000,000.
    let million: tailor_cost::Money =
        serde_json::from_value(summary["per_million_decisions"].clone()).unwrap();
    assert_eq!(
        million.femto(),
        (total(&a).femto() + total(&b).femto()) * 1_000_000 / 2
    );
    let table = tailor(dir.path(), &["cost", "score.log"]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("2 decisions with their own cost"),
        "{}",
        String::from_utf8_lossy(&table.stdout)
    );
}

#[test]
fn cost_reads_every_platforms_records_and_checks_a_budget() {
    use tailor_cost::Platform::{Aws, Gcp};
    let dir = tempfile::tempdir().unwrap();
    // As each platform logs them: Lambda's EMF line, Cloud Run's entry, a
    // JSON log line (Spin, local), a bare record; and lines that are not.
    let emf = serde_json::json!({"_aws": {"Timestamp": 0}, "function": "ingest", "cost": cost_record(Aws, "ingest", 100)});
    let tracing_line = serde_json::json!({
        "target": "tailor::cost",
        "fields": {"cost": serde_json::json!({"request_id": "r", "cost": cost_record(Aws, "ingest", 100)}).to_string()}
    });
    let run = serde_json::json!({"severity": "INFO", "message": "cost record", "cost": cost_record(Gcp, "enrich", 1)});
    let bare = cost_record(Aws, "enrich", 50);
    let aws_only = format!("{emf}\nnot json\n{tracing_line}\n{{\"level\":\"info\"}}\n{bare}\n");
    std::fs::write(dir.path().join("aws.log"), &aws_only).unwrap();
    std::fs::create_dir(dir.path().join("all")).unwrap();
    std::fs::write(dir.path().join("all/aws.log"), &aws_only).unwrap();
    std::fs::write(dir.path().join("all/run.log"), format!("{run}\n")).unwrap();

    // Everything: Cloud Run's record cannot be priced yet, and says why.
    let out = tailor(
        dir.path(),
        &[
            "cost",
            "all",
            "--json",
            "--html",
            "report.html",
            "--events-per-second",
            "100",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["unpriced"], 1);
    assert_eq!(
        summary["month"],
        serde_json::Value::Null,
        "no projection from part of the cost"
    );
    // Two ingest invocations and an enrich one at 1,024 MB for 10 ms,
    // arm64: 0.000000333334 each.
    assert_eq!(summary["total"], "0.000001000002");
    assert_eq!(
        summary["per_million_events"],
        serde_json::Value::Null,
        "no cost per event from part of the cost"
    );
    let aws: serde_json::Value =
        serde_json::from_slice(&tailor(dir.path(), &["cost", "aws.log", "--json"]).stdout).unwrap();
    // 0.000001000002 for 200 events: 0.00500001 per million.
    let per_million: tailor_cost::Money =
        serde_json::from_value(aws["per_million_events"].clone()).unwrap();
    assert_eq!(per_million.femto(), 5_000_010_000_000);
    let groups = summary["groups"].as_array().unwrap();
    let gcp = groups.iter().find(|g| g["platform"] == "gcp").unwrap();
    assert!(
        gcp["unpriced"]
            .as_object()
            .unwrap()
            .keys()
            .any(|why| why.contains("cloud_run.requests")),
        "{gcp}"
    );
    // The report's chart: one segment per platform's function, each with
    // its exact cost, summing to the total.
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap() + "</svg>".len()];
    assert_well_formed(svg);
    let costs: Vec<tailor_cost::Money> = html
        .split("data-cost=\"")
        .skip(1)
        .map(|rest| {
            serde_json::from_value(serde_json::json!(rest.split('"').next().unwrap())).unwrap()
        })
        .collect();
    assert_eq!(
        costs.len(),
        groups.len(),
        "a segment per platform's function"
    );
    assert_eq!(
        costs.into_iter().sum::<tailor_cost::Money>().to_string(),
        "0.000001000002"
    );
    let segments = html.matches("class=\"segment\"").count();
    assert_eq!(segments, 3);
    assert!(
        html.contains("cloud_run.requests"),
        "the report says what is not priced"
    );

    // AWS alone: 200 events cost 0.000001000002, so a month at 100 a
    // second costs 0.000001000002 / 200 × 100 × 2,628,000 = 1.31400...
    let check = |budget: &str| {
        tailor(
            dir.path(),
            &[
                "cost",
                "aws.log",
                "--events-per-second",
                "100",
                "--budget",
                budget,
            ],
        )
    };
    let under = check("1.32");
    assert!(
        under.status.success(),
        "{}",
        String::from_utf8_lossy(&under.stderr)
    );
    assert!(String::from_utf8_lossy(&under.stdout).contains("1.31"));
    let over = check("1.30");
    assert_eq!(over.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&over.stderr).contains("over the budget"));
}

#[test]
fn sweep_models_each_function_at_each_memory_size_from_a_measured_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = tailor(
        dir.path(),
        &[
            "sweep",
            "--profiles",
            "20",
            "--days",
            "3",
            "--end",
            "2026-11-25T00:00:00Z",
            "--decisions",
            "20",
            "--wait-ms",
            "5",
            "--budget-per-million",
            "2",
            "--json",
            "--html",
            "sweep.html",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sweeps = output["sweeps"].as_array().unwrap();
    let functions: Vec<&str> = sweeps
        .iter()
        .map(|s| s["workload"]["function"].as_str().unwrap())
        .collect();
    for f in ["ingest", "enrich", "features", "consent", "score"] {
        assert!(functions.contains(&f), "{f} swept: {functions:?}");
    }
    assert_eq!(
        output["assumptions"].as_array().unwrap().len(),
        tailor_cost::sweep::ASSUMPTIONS.len()
    );
    let book = tailor_cost::PriceBook::default_book().unwrap();
    for sweep in sweeps {
        let cpu_us = sweep["workload"]["cpu_us"].as_u64().unwrap();
        assert!(cpu_us > 0, "{sweep}");
        assert_eq!(sweep["workload"]["wait_us"], 5_000);
        let sizes = sweep["sizes"].as_array().unwrap();
        let memory: Vec<u64> = sizes
            .iter()
            .map(|r| r["memory_mb"].as_u64().unwrap())
            .collect();
        assert_eq!(memory, [128, 256, 512, 1_024, 1_536, 1_769, 2_048, 3_008]);
        for row in sizes {
            let mb = row["memory_mb"].as_u64().unwrap();
            // The model, worked here: CPU time stretched by 1769/memory
            // below one vCPU, plus the wait; billed to the next ms.
            let cpu = if mb >= 1_769 {
                cpu_us
            } else {
                (cpu_us * 1_769).div_ceil(mb)
            };
            let duration = cpu + 5_000;
            assert_eq!(row["duration_us"].as_u64().unwrap(), duration, "{row}");
            assert_eq!(row["billed_ms"].as_u64().unwrap(), duration.div_ceil(1_000));
            // Its price: memory × billed ms of arm64 duration and one request.
            let mut usage = tailor_cost::Usage::default();
            usage.add(
                "lambda.duration.arm64",
                u128::from(mb * duration.div_ceil(1_000)),
            );
            usage.add("lambda.requests", 1);
            let priced = tailor_cost::price::price(&book, "aws/us-east-1", &usage).unwrap();
            assert_eq!(row["per_invocation"], priced.total.to_string(), "{row}");
        }
        // The cheapest is the lowest per million; the fastest the shortest.
        let cost = |r: &serde_json::Value| {
            serde_json::from_value::<tailor_cost::Money>(r["per_million"].clone()).unwrap()
        };
        let cheapest = sizes.iter().min_by_key(|r| cost(r)).unwrap();
        assert_eq!(cost(cheapest), {
            let at = sweep["cheapest_mb"].as_u64().unwrap();
            cost(sizes.iter().find(|r| r["memory_mb"] == at).unwrap())
        });
        let budget: tailor_cost::Money = serde_json::from_value(serde_json::json!("2")).unwrap();
        if let Some(within) = sweep["fastest_within_budget_mb"].as_u64() {
            let row = sizes.iter().find(|r| r["memory_mb"] == within).unwrap();
            assert!(cost(row) <= budget);
            let d = row["duration_us"].as_u64().unwrap();
            assert!(
                sizes
                    .iter()
                    .filter(|r| r["duration_us"].as_u64().unwrap() < d)
                    .all(|r| cost(r) > budget),
                "nothing faster within the budget: {sweep}"
            );
        } else {
            assert!(sizes.iter().all(|r| cost(r) > budget), "{sweep}");
        }
    }

    // The chart: a line per function, a point per size carrying the cost
    // the JSON gives.
    let html = std::fs::read_to_string(dir.path().join("sweep.html")).unwrap();
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap() + "</svg>".len()];
    assert_well_formed(svg);
    assert_eq!(svg.matches("class=\"series\"").count(), sweeps.len());
    for sweep in sweeps {
        let f = sweep["workload"]["function"].as_str().unwrap();
        for row in sweep["sizes"].as_array().unwrap() {
            let point = format!(
                r#"data-function="{f}" data-memory="{}" data-cost="{}""#,
                row["memory_mb"],
                row["per_million"].as_str().unwrap()
            );
            assert!(svg.contains(&point), "{point}");
        }
    }
    for assumption in tailor_cost::sweep::ASSUMPTIONS {
        assert!(html.contains(assumption), "{assumption}");
    }
}

#[test]
fn estimate_prices_a_month_on_each_platform_from_a_measured_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = tailor(
        dir.path(),
        &[
            "estimate",
            "--profiles",
            "10",
            "--days",
            "2",
            "--end",
            "2026-11-25T00:00:00Z",
            "--decisions",
            "10",
            "--events-per-second",
            "10,100000",
            "--decisions-per-second",
            "1",
            "--people",
            "1000",
            "--stream-retention-hours",
            "48",
            "--html",
            "estimate.html",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let measured = &output["measured"]["measured"];
    // State and retention show as their own lines: the run's bytes per
    // person for 1,000 people all month; 24 extra hours of what entered
    // the streams.
    let (people, stored) = (
        u128::from(measured["people"].as_u64().unwrap()),
        u128::from(measured["stored_bytes"].as_u64().unwrap()),
    );
    assert!(people > 0 && stored > 0, "{measured}");
    for e in output["estimates"].as_array().unwrap() {
        let aws = platform(e, "aws");
        let aws_unpriced = |item: &str| unpriced(aws, item);
        assert_eq!(
            aws_unpriced("dynamodb.storage"),
            Some((stored * 1_000 + people / 2) / people * 730)
        );
        assert_eq!(
            aws_unpriced("kinesis.on_demand.extended_retention"),
            aws_unpriced("kinesis.on_demand.ingest").map(|bytes| bytes * 24)
        );
    }
    let events = u128::from(measured["events"].as_u64().unwrap());
    assert!(events > 0);
    let functions = measured["functions"].as_array().unwrap();
    let billed =
        |f: &serde_json::Value, unit: &str| u128::from(f["billed"][unit].as_u64().unwrap_or(0));
    // The run counted each cloud's units.
    for unit in [
        "dynamodb_read_units",
        "dynamodb_write_units",
        "firestore_document_reads",
        "firestore_document_writes",
        "kinesis_ingest_bytes",
        "pubsub_publish_bytes",
    ] {
        assert!(
            functions.iter().map(|f| billed(f, unit)).sum::<u128>() > 0,
            "{unit} counted"
        );
    }
    let estimates = output["estimates"].as_array().unwrap();
    assert_eq!(estimates.len(), 2);
    // The slow lane's run: once a day, 30.42 times a month.
    let job = functions
        .iter()
        .find(|f| f["function"] == "slow_lane")
        .expect("the measured run ran the slow lane");
    let streamed =
        |f: &&serde_json::Value| f["function"] != "score" && f["function"] != "slow_lane";
    let monthly = |per_run: u128| (per_run * 730 * 3_600 + 43_200) / 86_400;
    let job_events = u128::from(job["records_in"].as_u64().unwrap());
    assert!(job_events > 0 && job_events <= events, "{job}");
    for (e, rate) in estimates.iter().zip([10_u128, 100_000]) {
        let month = rate * 730 * 3_600;
        let platforms = e["platforms"].as_array().unwrap();
        assert_eq!(platforms.len(), 3);
        let aws = platform(e, "aws");
        // Firehose takes in every logged event, each rounded up to 5 KB.
        let event_bytes = u128::from(job["bytes_in"].as_u64().unwrap()).div_ceil(job_events);
        assert_eq!(
            unpriced(aws, "firehose.ingest"),
            Some(
                event_bytes.div_ceil(5_120) * 5_120 * ((job_events * month + events / 2) / events)
            ),
            "{aws}"
        );
        for item in ["s3.storage", "s3.get_requests", "s3.put_requests"] {
            assert!(unpriced(aws, item) > Some(0), "{item}: {aws}");
        }
        for other in ["gcp", "spin"] {
            assert_eq!(unpriced(platform(e, other), "firehose.ingest"), None);
        }
        // Write units: each stream function's count per event, over the
        // month's events (rounded per function), and the slow lane's run
        // by person, for the 1,000 people, each day.
        let want: u128 = functions
            .iter()
            .filter(streamed)
            .map(|f| (billed(f, "dynamodb_write_units") * month + events / 2) / events)
            .sum::<u128>()
            + monthly((billed(job, "dynamodb_write_units") * 1_000 + people / 2) / people)
            + functions
                .iter()
                .filter(|f| f["function"] == "score")
                .map(|f| {
                    let n = u128::from(f["records_in"].as_u64().unwrap());
                    (billed(f, "dynamodb_write_units") * 730 * 3_600 + n / 2) / n
                })
                .sum::<u128>();
        assert_eq!(
            unpriced(aws, "dynamodb.on_demand.write_units"),
            Some(want),
            "{aws}"
        );
        // Lambda's lines are priced.
        assert!(
            aws["lines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["item"] == "lambda.requests"),
            "{aws}"
        );
        // Nothing is called cheapest while lines are unpriced.
        assert_eq!(e["cheapest"], serde_json::Value::Null);
    }
    // At 100,000 events a second every Lambda invocation takes a whole
    // batch of 100: requests are each function's records over 100, plus
    // one per decision.
    let aws = platform(&estimates[1], "aws");
    let requests = aws["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["item"] == "lambda.requests")
        .unwrap()["quantity"]
        .clone();
    let month = 100_000_u128 * 730 * 3_600;
    let want: u128 = functions
        .iter()
        .filter(streamed)
        .map(|f| {
            let records = u128::from(f["records_in"].as_u64().unwrap());
            ((records * month + events / 2) / events).div_ceil(100)
        })
        .sum::<u128>()
        + 730 * 3_600
        + 30;
    assert_eq!(requests, serde_json::json!(want.to_string()));

    // Logs: each invocation's report and cost record, at least as large as
    // the report's own JSON, over the same invocations; kept 30 days by
    // default (720 of the month's 730 hours' bytes, held all month).
    let aws_line =
        |item: &str| unpriced(aws, item).unwrap_or_else(|| panic!("{item} is a line: {aws}"));
    let log_bytes = |f: &serde_json::Value| u128::from(f["log_bytes"]["aws"].as_u64().unwrap());
    for f in functions {
        let report = serde_json::json!({"function": f["function"], "records_in": f["records_in"]});
        assert!(log_bytes(f) > report.to_string().len() as u128 * 2, "{f}");
        assert!(f["log_bytes"]["gcp"].as_u64().unwrap() > 0, "{f}");
    }
    let logged: u128 = functions
        .iter()
        .map(|f| {
            if f["function"] == "slow_lane" {
                return monthly(log_bytes(f));
            }
            let invocations = if f["function"] == "score" {
                730 * 3_600
            } else {
                let records = u128::from(f["records_in"].as_u64().unwrap());
                ((records * month + events / 2) / events).div_ceil(100)
            };
            invocations * log_bytes(f)
        })
        .sum();
    assert_eq!(aws_line("cloudwatch.logs.ingest"), logged);
    assert_eq!(
        aws_line("cloudwatch.logs.storage"),
        (logged * 720 + 365) / 730 * 730
    );

    // The report charts every priced line at its exact cost, and each
    // platform's priced month at each rate; unpriced lines are listed.
    let html = std::fs::read_to_string(dir.path().join("estimate.html")).unwrap();
    let mut rest = html.as_str();
    let mut charts = 0;
    while let Some(start) = rest.find("<svg") {
        let end = rest.find("</svg>").unwrap() + "</svg>".len();
        assert_well_formed(&rest[start..end]);
        rest = &rest[end..];
        charts += 1;
    }
    assert_eq!(
        charts,
        1 + estimates.len(),
        "the projection and a chart per rate"
    );
    let mut segments = 0;
    for e in estimates {
        let rate = e["events_per_second"].as_str().unwrap();
        for p in e["platforms"].as_array().unwrap() {
            let platform = p["platform"].as_str().unwrap();
            for line in p["lines"].as_array().unwrap() {
                let segment = format!(
                    r#"data-platform="{platform}" data-rate="{rate}" data-item="{}" data-cost="{}""#,
                    line["item"].as_str().unwrap(),
                    line["cost"].as_str().unwrap()
                );
                assert!(html.contains(&segment), "{segment}");
                segments += 1;
            }
            let point = format!(
                r#"data-platform="{platform}" data-rate="{rate}" data-cost="{}" data-complete="{}""#,
                p["priced_total"].as_str().unwrap(),
                p["unpriced"].as_array().unwrap().is_empty()
            );
            assert!(html.contains(&point), "{point}");
            for u in p["unpriced"].as_array().unwrap() {
                let row = format!(
                    "<td>{platform}</td><td>{}</td><td>{}</td>",
                    u["item"].as_str().unwrap(),
                    u["quantity"]
                );
                assert!(html.contains(&row), "{row}");
            }
        }
    }
    assert!(segments > 0, "some lines are priced");
    assert_eq!(html.matches(r#"class="segment""#).count(), segments);
    for assumption in tailor_cost::estimate::ASSUMPTIONS {
        assert!(html.contains(assumption), "{assumption}");
    }
}

/// The month of `name` in one estimate of `tailor estimate --json`.
fn platform<'a>(estimate: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    estimate["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == name)
        .unwrap_or_else(|| panic!("no {name} in {estimate}"))
}

/// The quantity of a platform's month's line `item` that the book could
/// not price, if it has one.
fn unpriced(month: &serde_json::Value, item: &str) -> Option<u128> {
    month["unpriced"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["item"] == item)
        .map(|u| u128::from(u["quantity"].as_u64().unwrap()))
}

/// `xml` parses as XML, every element closed in order.
fn assert_well_formed(xml: &str) {
    let mut open: Vec<String> = Vec::new();
    for token in xmlparser::Tokenizer::from(xml) {
        match token.unwrap_or_else(|e| panic!("not XML: {e}")) {
            xmlparser::Token::ElementStart { local, .. } => open.push(local.as_str().to_owned()),
            xmlparser::Token::ElementEnd { end, .. } => match end {
                xmlparser::ElementEnd::Open => {}
                xmlparser::ElementEnd::Empty => {
                    open.pop();
                }
                xmlparser::ElementEnd::Close(_, name) => {
                    assert_eq!(
                        open.pop().as_deref(),
                        Some(name.as_str()),
                        "closed out of order"
                    );
                }
            },
            _ => {}
        }
    }
    assert!(open.is_empty(), "left open: {open:?}");
}
