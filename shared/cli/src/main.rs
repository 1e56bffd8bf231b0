//! `tailor`: Tailor on the embedded local platform.
//!
//! `tailor gen` writes a realistic event stream, `tailor validate` checks
//! events against the contract, `tailor run` runs ingest → enrich →
//! features / consent over a file, `tailor serve` puts the same pipeline
//! behind HTTP, and `tailor backfill` recomputes features from the offline
//! log to show they match the online ones; `tailor cost` prices the cost
//! records the platforms log. Each subcommand is a module of
//! the library; this file only parses and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tailor_cli::commands::{
    backfill, cost, decide, estimate, generate, keys, outcomes, run, serve, sweep, training,
    validate,
};
use tailor_runtime::logs::{LogFormat, LogTarget};

#[derive(Parser)]
#[command(
    name = "tailor",
    version,
    about = "Real-time, consent-safe personalization: the local platform"
)]
struct Cli {
    /// Log format: readable text (default) or JSON for log collectors.
    #[arg(long, global = true, env = "TAILOR_LOG_FORMAT", default_value = "text")]
    log_format: LogFormatArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Write a realistic event stream as JSON Lines.
    Gen(generate::Args),
    /// Check a JSON event or a JSON Lines file against the contract.
    /// Prints one line per bad event; exits 1 if any is bad.
    Validate(validate::Args),
    /// Run ingest → enrich → features / consent over an event file and print a summary.
    Run(run::Args),
    /// Serve the pipeline over HTTP, to callers with an API key.
    Serve(serve::Args),
    /// Manage the API keys `tailor serve` accepts.
    #[command(subcommand)]
    Keys(keys::Args),
    /// Make a decision for a profile and print its record as JSON.
    Decide(decide::Args),
    /// Conversion by placement, action and segment: logged decisions joined
    /// to the outcomes that came back for them (fallbacks are segments).
    Outcomes(outcomes::Args),
    /// Explain a logged decision.
    Explain(decide::ExplainArgs),
    /// Write labelled feature rows (CSV) for training a model: features as of
    /// a cutoff, label = checked out within the window after it.
    ExportTraining(training::Args),
    /// Write the logged decisions as training rows (CSV): each decision's
    /// feature snapshot, the action taken, and a label per outcome kind that
    /// came back for it.
    ExportDecisions(outcomes::ExportArgs),
    /// Recompute features from the offline log and compare with the online
    /// state (`--lane fast`), or compute and keep the slow lane's
    /// long-horizon features and batch scores (`--lane slow`).
    Backfill(backfill::Args),
    /// What the logged invocations cost, by platform and function, from
    /// their cost records: a table or JSON, an HTML report with a chart,
    /// and a month's projection checked against a budget.
    Cost(cost::Args),
    /// What each function would cost on Lambda at each memory size: a
    /// measured run through the local platform, modelled from 128 MB to
    /// 3,008 MB, with the cheapest and the fastest marked.
    Sweep(sweep::Args),
    /// What a workload would cost a month on AWS, Google Cloud and Spin at
    /// given event rates, from a measured run: every line priced or shown
    /// as not priced, and the cheapest platform when all are priced.
    Estimate(estimate::Args),
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Gen(args) => generate::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Run(args) => run::run(&args).await,
        Command::Serve(args) => serve::run(&args).await,
        Command::Keys(args) => keys::run(&args),
        Command::Decide(args) => decide::run(&args).await,
        Command::Outcomes(args) => outcomes::run(&args),
        Command::Explain(args) => decide::explain_command(&args).await,
        Command::ExportTraining(args) => training::run(&args).await,
        Command::ExportDecisions(args) => outcomes::export_decisions(&args),
        Command::Backfill(args) => backfill::run(&args).await,
        Command::Cost(args) => cost::run(&args),
        Command::Sweep(args) => sweep::run(&args).await,
        Command::Estimate(args) => estimate::run(&args).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tailor_runtime::logs::init(LogTarget::Terminal(match cli.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    }));
    match dispatch(cli.command).await {
        Ok(code) => code,
        // A closed pipe (`tailor validate … | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tailor: {e:#}");
            ExitCode::FAILURE
        }
    }
}
