//! `tailor run`: the whole local pipeline over an event file (or a freshly
//! generated stream), with a readable summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tailor_core::Timestamp;
use tailor_core::batch::Record;
use tailor_core::ports::Table;

use crate::pipeline::{LocalPipeline, RunReport};

/// When each record counts as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReceivedAt {
    /// At its own `sent_at` (or `occurred_at`): a deterministic replay.
    Sent,
    /// Now, by the wall clock.
    Now,
}

/// The time a replayed record counts as received: its `sent_at`, else its
/// `occurred_at`; `None` when it has neither (such as a broken record).
#[must_use]
pub fn replay_time(bytes: &[u8]) -> Option<Timestamp> {
    #[derive(serde::Deserialize)]
    struct Times {
        sent_at: Option<String>,
        occurred_at: Option<String>,
    }
    let times = serde_json::from_slice::<Times>(bytes).ok()?;
    Timestamp::parse(&times.sent_at.or(times.occurred_at)?).ok()
}

/// Runs `lines` through the pipeline in batches, with a progress bar on a terminal.
pub async fn run(
    pipeline: &LocalPipeline,
    lines: Vec<(usize, Vec<u8>)>,
    batch: usize,
    mode: ReceivedAt,
    now: Timestamp,
) -> anyhow::Result<RunReport> {
    let bar = if std::io::stderr().is_terminal() && lines.len() > 1_000 {
        let bar = ProgressBar::new(lines.len() as u64);
        bar.set_style(ProgressStyle::with_template(
            "{spinner} {pos}/{len} records {wide_bar} {per_sec} eta {eta}",
        )?);
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut report = RunReport::default();
    let mut last = match mode {
        ReceivedAt::Sent => lines
            .iter()
            .find_map(|(_, b)| replay_time(b))
            .unwrap_or(now),
        ReceivedAt::Now => now,
    };
    for chunk in lines.chunks(batch.max(1)) {
        let records: Vec<Record> = chunk
            .iter()
            .map(|(line, bytes)| {
                if mode == ReceivedAt::Sent {
                    // A record without a readable time arrives with the records around it.
                    last = replay_time(bytes).unwrap_or(last);
                }
                Record {
                    id: format!("line:{line}"),
                    received_at: last,
                    bytes: bytes.clone(),
                }
            })
            .collect();
        pipeline.process(&records, &mut report).await;
        // Each batch is durable before the next, as each invocation would be.
        pipeline.flush()?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(report)
}

/// Prints the summary of a run.
pub fn print_summary(
    out: &mut impl std::io::Write,
    pipeline: &LocalPipeline,
    report: &RunReport,
    source: &str,
    started: Instant,
    state: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let secs = started.elapsed().as_secs_f64();
    let ingest = report.function("ingest");
    writeln!(
        out,
        "tailor run: {} records from {source} in {secs:.1} s ({:.0} records/s)\n",
        ingest.records_in,
        ingest.records_in as f64 / secs.max(1e-9)
    )?;
    writeln!(
        out,
        "{:<9} {:>6} {:>8} {:>9} {:>6} {:>9} {:>6} {:>8} {:>8} {:>9}",
        "function",
        "calls",
        "in",
        "accepted",
        "dups",
        "dead-lett",
        "retry",
        "out",
        "reads",
        "writes"
    )?;
    for name in ["ingest", "enrich", "features", "consent"] {
        let r = report.function(name);
        writeln!(
            out,
            "{:<9} {:>6} {:>8} {:>9} {:>6} {:>9} {:>6} {:>8} {:>8} {:>9}",
            name,
            report.invocations.get(name).copied().unwrap_or(0),
            r.records_in,
            r.accepted,
            r.duplicates,
            r.dead_lettered_total(),
            r.retried,
            r.records_out,
            r.store_reads,
            r.store_writes
        )?;
    }
    let mut blocks = std::collections::BTreeMap::<String, u64>::new();
    for r in report.functions.values() {
        for (policy, n) in &r.policy_blocks {
            *blocks.entry(policy.clone()).or_default() += n;
        }
    }
    let blocks: Vec<String> = blocks.iter().map(|(p, n)| format!("{p} {n}")).collect();
    let reasons: Vec<String> = ingest
        .dead_lettered
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    writeln!(
        out,
        "\ndead letters by reason: {}",
        if reasons.is_empty() {
            "none".to_owned()
        } else {
            reasons.join(", ")
        }
    )?;
    writeln!(
        out,
        "policy blocks by deciding policy: {}",
        if blocks.is_empty() {
            "none".to_owned()
        } else {
            blocks.join(", ")
        }
    )?;
    let store = pipeline.store();
    let profiles = store.scan(Table::Features)?.len();
    let audits = store.scan(Table::Audit)?;
    let merges = audits
        .iter()
        .filter(|(_, i)| i.value.starts_with(b"{\"kind\":\"merge\""))
        .count();
    let completions = audits
        .iter()
        .filter(|(k, _)| k.starts_with("consent/"))
        .count();
    writeln!(
        out,
        "profiles with features: {profiles}   identity merges: {merges}   consent changes completed: {completions}"
    )?;
    if report.unresolved > 0 {
        writeln!(
            out,
            "records still failing after retries: {}",
            report.unresolved
        )?;
    }
    if let Some(path) = state {
        writeln!(
            out,
            "state: {}   (inspect with `tailor serve --state {}`)",
            path.display(),
            path.display()
        )?;
    }
    Ok(())
}

/// Decides every placement for a few profiles and prints the decisions with
/// their explanations.
///
/// # Errors
/// The store cannot be read or the output cannot be written.
pub async fn sample_decisions(
    out: &mut impl std::io::Write,
    pipeline: &LocalPipeline,
    profiles: usize,
) -> anyhow::Result<()> {
    let users: Vec<String> = pipeline
        .store()
        .scan(Table::FeatureInputs)?
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("user:"))
        .take(profiles)
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    let engine = pipeline.model().map_or_else(
        || "rules only".to_owned(),
        |m| {
            use tailor_core::score::Model;
            let info = m.info();
            format!("{} {} on {}", info.name, info.version, info.engine)
        },
    );
    writeln!(out, "\nsample decisions ({engine}):")?;
    let now = pipeline
        .store()
        .scan(Table::Features)?
        .iter()
        .filter_map(|(_, i)| {
            serde_json::from_slice::<tailor_core::features::ProfileFeatures>(&i.value)
                .ok()
                .map(|f| f.as_of)
        })
        .max()
        .unwrap_or(Timestamp::from_millis(0));
    for user in users {
        for (placement, purpose) in [
            ("onboarding", tailor_core::event::Purpose::Personalization),
            ("offer", tailor_core::event::Purpose::Marketing),
        ] {
            let request = tailor_core::score::DecisionRequest {
                profile: user.clone(),
                purpose,
                placement: placement.to_owned(),
                region: "eu".to_owned(),
                consent: tailor_core::event::Purpose::ALL.to_vec(),
                adult: true,
                context: std::collections::BTreeMap::new(),
            };
            let (record, logged) = pipeline.decide(&request, now).await;
            logged?;
            write!(
                out,
                "{user} {} {}",
                record.decision_id,
                super::decide::explain(&record)
            )?;
        }
    }
    Ok(())
}
