//! `tailor decide` and `tailor explain`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tailor_core::ports::Clock;
use tailor_core::score::{DecisionRecord, DecisionRequest};
use tailor_model::EngineChoice;
use tailor_runtime::WallClock;

/// Which engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// ONNX Runtime when its library is installed (`infra/ort/fetch.sh`), else tract.
    Auto,
    /// The pure-Rust engine.
    Tract,
    /// ONNX Runtime.
    Ort,
}

impl From<EngineArg> for EngineChoice {
    fn from(engine: EngineArg) -> Self {
        match engine {
            EngineArg::Auto => Self::Auto,
            EngineArg::Tract => Self::Tract,
            EngineArg::Ort => Self::Ort,
        }
    }
}

/// A decision in a few readable lines.
#[must_use]
pub fn explain(record: &DecisionRecord) -> String {
    let mut out = String::new();
    let how = match (&record.model, record.score, record.fallback) {
        (Some(m), Some(s), None) => {
            format!("score {s:.2} by {} {} on {}", m.name, m.version, m.engine)
        }
        (_, _, Some(f)) => format!(
            "fallback: {}",
            serde_json::to_value(f)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        _ => "rules only".to_owned(),
    };
    let _ = writeln!(out, "{} → {} ({how})", record.placement, record.action);
    for reason in &record.reasons {
        let _ = writeln!(out, "  why: {reason}");
    }
    if !record.signals.is_empty() {
        let signals: Vec<String> = record
            .signals
            .iter()
            .map(|s| format!("{} {:+.2}", s.feature, s.effect))
            .collect();
        let _ = writeln!(out, "  top signals: {}", signals.join(", "));
    }
    let decided: Vec<String> = record
        .policy
        .iter()
        .filter(|p| !p.policies.is_empty())
        .map(|p| {
            format!(
                "{} {} ({})",
                p.action,
                if p.allowed { "allowed" } else { "denied" },
                p.policies.join(", ")
            )
        })
        .collect();
    if !decided.is_empty() {
        let _ = writeln!(out, "  policy: {}", decided.join("; "));
    }
    out
}

/// `tailor decide`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Any linked key (`user:…`, `anon:…`) or a profile id (`p_…`).
    #[arg(long)]
    profile: String,
    /// The purpose: personalization or marketing.
    #[arg(long, default_value = "personalization")]
    purpose: String,
    /// The placement: onboarding or offer.
    #[arg(long, default_value = "onboarding")]
    placement: String,
    /// The person's region.
    #[arg(long, default_value = "eu")]
    region: String,
    /// Purposes the consent platform grants now (comma-separated).
    #[arg(
        long,
        default_value = "analytics,personalization,marketing",
        value_delimiter = ','
    )]
    consent: Vec<String>,
    /// Which engine runs the model.
    #[arg(long, value_enum, default_value = "auto")]
    engine: EngineArg,
    /// The moment the decision is made at (RFC 3339; default now): windows
    /// and ages are measured back from it, as when replaying a stream's
    /// decisions as of its end.
    #[arg(long)]
    at: Option<String>,
    /// Where state is kept.
    #[arg(long, default_value = ".tailor/state.redb")]
    state: PathBuf,
}

/// Makes a decision and prints its record as JSON.
///
/// # Errors
/// The state cannot be opened, an argument is unknown, or the decision
/// could not be logged (it is printed all the same).
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let platform = super::open_existing(&args.state, args.engine)?;
    let parse = |p: &str| {
        serde_json::from_value(serde_json::Value::String(p.trim().to_owned()))
            .with_context(|| format!("unknown purpose {p:?}"))
    };
    let request = DecisionRequest {
        profile: args.profile.clone(),
        purpose: parse(&args.purpose)?,
        placement: args.placement.clone(),
        region: args.region.clone(),
        consent: args
            .consent
            .iter()
            .map(|p| parse(p))
            .collect::<anyhow::Result<_>>()?,
        adult: true,
        context: std::collections::BTreeMap::new(),
    };
    let now = match &args.at {
        Some(t) => tailor_core::Timestamp::parse(t).with_context(|| format!("--at {t}"))?,
        None => WallClock.now(),
    };
    let (record, logged) = platform.decide(&request, now).await?;
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&record)?
    )?;
    logged?;
    Ok(ExitCode::SUCCESS)
}

/// `tailor explain`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The decision id.
    id: String,
    /// Where state is kept.
    #[arg(long, default_value = ".tailor/state.redb")]
    state: PathBuf,
    /// Print the whole record as JSON.
    #[arg(long)]
    json: bool,
}

/// Explains a logged decision.
///
/// # Errors
/// The state cannot be read, or has no such decision.
pub async fn explain_command(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let platform = super::open_for_reading(&args.state, tailor_runtime::ClockMode::Wall)?;
    let Some(record) = platform.decision(&args.id).await? else {
        anyhow::bail!("no decision {} in {}", args.id, args.state.display());
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&record)?)?;
    } else {
        write!(
            out,
            "decision {} for {} at {}\n{}",
            record.decision_id,
            record.profile_id,
            record.at,
            explain(&record)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
