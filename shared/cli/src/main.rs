//! `tailor`: Tailor on the embedded local platform.
//!
//! `tailor gen` writes a realistic event stream, `tailor validate` checks
//! events against the contract, `tailor run` runs ingest → enrich →
//! features / consent over a file, `tailor serve` puts the same pipeline
//! behind HTTP, and `tailor backfill` recomputes features from the offline
//! log to show they match the online ones.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tailor_cli::commands::{backfill, decide, export, outcomes, run, serve, validate};
use tailor_cli::generate::{GenOptions, generate};
use tailor_cli::pipeline::{LocalPipeline, PipelineConfig};
use tailor_core::Timestamp;
use tailor_core::decode::Limits;
use tailor_core::ports::Clock;
use tailor_local::SystemClock;

#[derive(Parser)]
#[command(
    name = "tailor",
    version,
    about = "Real-time, consent-safe personalization: the local platform"
)]
struct Cli {
    /// Log format: readable text (default) or JSON for log collectors.
    #[arg(long, global = true, env = "TAILOR_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Clone)]
struct GenArgs {
    /// How many people to simulate.
    #[arg(long, default_value_t = 200)]
    profiles: u32,
    /// How many days of activity.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Random seed: the same seed and end give the same stream.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// End of the period (RFC 3339); default: today at 00:00 UTC.
    #[arg(long)]
    end: Option<String>,
}

impl GenArgs {
    fn options(&self) -> anyhow::Result<GenOptions> {
        let end = match &self.end {
            Some(t) => Timestamp::parse(t).context("--end")?,
            None => {
                let now = SystemClock.now().as_millis();
                Timestamp::from_millis(now - now.rem_euclid(Timestamp::DAY))
            }
        };
        Ok(GenOptions {
            profiles: self.profiles,
            days: self.days,
            seed: self.seed,
            end,
            ..GenOptions::default()
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Write a realistic event stream as JSON Lines.
    Gen {
        #[command(flatten)]
        stream: GenArgs,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Check a JSON event or a JSON Lines file against the contract.
    /// Prints one line per bad event; exits 1 if any is bad.
    Validate {
        /// The file (.json: one event; otherwise JSON Lines).
        file: PathBuf,
    },
    /// Run ingest → enrich → features / consent over an event file and print a summary.
    Run {
        /// JSON Lines events; without it a stream is generated (see the gen options).
        file: Option<PathBuf>,
        #[command(flatten)]
        stream: GenArgs,
        /// Where state is kept (a redb file); replaced unless --resume.
        #[arg(long, default_value = ".tailor/state.redb")]
        state: PathBuf,
        /// Keep existing state instead of starting fresh.
        #[arg(long)]
        resume: bool,
        /// Records per invocation.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// When records count as received: at their sent_at (replay) or now.
        #[arg(long, value_enum, default_value = "sent")]
        received_at: run::ReceivedAt,
        /// Print the run report as JSON instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Serve the pipeline over HTTP.
    Serve {
        /// Which engine runs the model.
        #[arg(long, value_enum, default_value = "auto")]
        engine: decide::EngineArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Where state is kept.
        #[arg(long, default_value = ".tailor/state.redb")]
        state: PathBuf,
    },
    /// Make a decision for a profile and print its record as JSON.
    Decide {
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
        engine: decide::EngineArg,
        /// Where state is kept.
        #[arg(long, default_value = ".tailor/state.redb")]
        state: PathBuf,
    },
    /// Conversion by placement, action and segment: logged decisions joined
    /// to the outcomes that came back for them (fallbacks are segments).
    Outcomes {
        /// The offline log (written by `run` beside its state).
        #[arg(long, default_value = ".tailor/enriched.jsonl")]
        log: PathBuf,
        /// Where state is kept.
        #[arg(long, default_value = ".tailor/state.redb")]
        state: PathBuf,
    },
    /// Explain a logged decision.
    Explain {
        /// The decision id.
        id: String,
        /// Where state is kept.
        #[arg(long, default_value = ".tailor/state.redb")]
        state: PathBuf,
        /// Print the whole record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write labelled feature rows (CSV) for training a model: features as of
    /// a cutoff, label = checked out within the window after it.
    ExportTraining {
        /// JSON Lines events; without it a stream is generated.
        file: Option<PathBuf>,
        #[command(flatten)]
        stream: GenArgs,
        /// Days before the end of the stream the features are taken at.
        #[arg(long, default_value_t = 7)]
        cutoff_days: u32,
        /// Output CSV file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Write the logged decisions as training rows (CSV): each decision's
    /// feature snapshot, the action taken, and a label per outcome kind that
    /// came back for it.
    ExportDecisions {
        /// The offline log the outcomes are read from (written by `run`).
        #[arg(long, default_value = ".tailor/enriched.jsonl")]
        log: PathBuf,
        /// Where state (and the decision log) is kept.
        #[arg(long, default_value = ".tailor/state.redb")]
        state: PathBuf,
        /// Output CSV file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Recompute features from the offline log and compare with the online state.
    Backfill {
        /// The offline log (written by `run` beside its state).
        #[arg(long, default_value = ".tailor/enriched.jsonl")]
        log: PathBuf,
        /// The state to compare with.
        #[arg(long, default_value = ".tailor/state.redb")]
        state: PathBuf,
    },
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAILOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The pipeline over existing state, for reading and deciding.
fn open_existing(state: &std::path::Path) -> anyhow::Result<LocalPipeline> {
    if !state.exists() {
        anyhow::bail!("no state at {} (run `tailor run` first)", state.display());
    }
    LocalPipeline::open(PipelineConfig {
        state: Some(state.to_path_buf()),
        key: tailor_core::token::TokenKey::new(vec![0u8; 16])?,
        limits: Limits::default(),
        replay_clock: false,
    })
}

/// A fresh private folder for intermediate files.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tailor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn state_dir(state: &std::path::Path) -> PathBuf {
    state
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf)
}

async fn main_inner(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Gen { stream, out } => {
            let options = stream.options()?;
            let summary = match out {
                Some(path) => {
                    let mut w = BufWriter::new(
                        std::fs::File::create(&path)
                            .with_context(|| format!("creating {}", path.display()))?,
                    );
                    let s = generate(&options, &mut w)?;
                    w.flush()?;
                    s
                }
                None => generate(&options, &mut BufWriter::new(std::io::stdout().lock()))?,
            };
            eprintln!(
                "generated {} lines ({} events, {} duplicates, {} broken)",
                summary.lines, summary.events, summary.duplicates, summary.invalid
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { file } => {
            let mut out = std::io::stdout().lock();
            let v = validate::validate(&file, Limits::default(), &mut out)?;
            eprintln!("{} checked, {} invalid", v.checked, v.invalid);
            Ok(if v.invalid == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Run {
            file,
            stream,
            state,
            resume,
            batch,
            received_at,
            json,
        } => {
            let dir = state_dir(&state);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            if !resume && state.exists() {
                std::fs::remove_file(&state)
                    .with_context(|| format!("removing {}", state.display()))?;
            }
            let (source, bytes) = match &file {
                Some(path) => (
                    path.display().to_string(),
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
                ),
                None => {
                    let options = stream.options()?;
                    let mut bytes = Vec::new();
                    generate(&options, &mut bytes)?;
                    (
                        format!(
                            "a generated stream ({} people, {} days, seed {})",
                            options.profiles, options.days, options.seed
                        ),
                        bytes,
                    )
                }
            };
            let lines = validate::records(std::path::Path::new("stream.jsonl"), &bytes);
            let pipeline = LocalPipeline::open(PipelineConfig {
                state: Some(state.clone()),
                key: tailor_cli::config::token_key(&dir)?,
                limits: Limits::default(),
                replay_clock: received_at == run::ReceivedAt::Sent,
            })?;
            pipeline.archive_enriched(&dir.join("enriched.jsonl"), !resume)?;
            let started = Instant::now();
            let report = run::run(&pipeline, lines, batch, received_at, SystemClock.now()).await?;
            if json {
                writeln!(
                    std::io::stdout().lock(),
                    "{}",
                    serde_json::to_string_pretty(&report)?
                )?;
            } else {
                let pipeline = pipeline
                    .with_model(decide::load_model(decide::EngineArg::Auto))
                    .with_challenger(decide::load_challenger(decide::EngineArg::Auto));
                let mut out = std::io::stdout().lock();
                run::print_summary(&mut out, &pipeline, &report, &source, started, Some(&state))?;
                run::sample_decisions(&mut out, &pipeline, 3).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            engine,
            addr,
            state,
        } => {
            let dir = state_dir(&state);
            std::fs::create_dir_all(&dir)?;
            let pipeline = LocalPipeline::open(PipelineConfig {
                state: Some(state),
                key: tailor_cli::config::token_key(&dir)?,
                limits: Limits::default(),
                replay_clock: false,
            })?
            .with_model(decide::load_model(engine))
            .with_challenger(decide::load_challenger(engine));
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            eprintln!(
                "tailor serve: listening on http://{}",
                listener.local_addr()?
            );
            axum::serve(listener, serve::router(pipeline))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Decide {
            profile,
            purpose,
            placement,
            region,
            consent,
            engine,
            state,
        } => {
            let pipeline = open_existing(&state)?
                .with_model(decide::load_model(engine))
                .with_challenger(decide::load_challenger(engine));
            let parse = |p: &str| {
                serde_json::from_value(serde_json::Value::String(p.trim().to_owned()))
                    .with_context(|| format!("unknown purpose {p:?}"))
            };
            let request = tailor_core::score::DecisionRequest {
                profile,
                purpose: parse(&purpose)?,
                placement,
                region,
                consent: consent
                    .iter()
                    .map(|p| parse(p))
                    .collect::<anyhow::Result<_>>()?,
                adult: true,
                context: std::collections::BTreeMap::new(),
            };
            let (record, logged) = pipeline.decide(&request, SystemClock.now()).await;
            writeln!(
                std::io::stdout().lock(),
                "{}",
                serde_json::to_string_pretty(&record)?
            )?;
            logged?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Outcomes { log, state } => {
            let pipeline = open_existing(&state)?;
            let decisions = outcomes::decisions(pipeline.store())?;
            let events = backfill::read_log(&log)?;
            outcomes::print(
                &mut std::io::stdout().lock(),
                &outcomes::join(&decisions, &events),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { id, state, json } => {
            let pipeline = open_existing(&state)?;
            let Some(record) = pipeline.decision(&id).await? else {
                anyhow::bail!("no decision {id} in {}", state.display());
            };
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&record)?)?;
            } else {
                write!(
                    out,
                    "decision {} for {} at {}\n{}",
                    record.decision_id,
                    record.profile_id,
                    record.at,
                    decide::explain(&record)
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportTraining {
            file,
            stream,
            cutoff_days,
            out,
        } => {
            let options = stream.options()?;
            let bytes = match &file {
                Some(path) => {
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
                }
                None => {
                    let mut bytes = Vec::new();
                    generate(&options, &mut bytes)?;
                    bytes
                }
            };
            let lines = validate::records(std::path::Path::new("stream.jsonl"), &bytes);
            let end = lines
                .iter()
                .filter_map(|(_, b)| run::replay_time(b))
                .max()
                .unwrap_or(options.end);
            let dir = tempfile_dir()?;
            let log = dir.join("enriched.jsonl");
            let pipeline = LocalPipeline::open(PipelineConfig {
                state: None,
                key: tailor_core::token::TokenKey::new(vec![7u8; 32])?,
                limits: Limits::default(),
                replay_clock: true,
            })?;
            pipeline.archive_enriched(&log, true)?;
            run::run(&pipeline, lines, 100, run::ReceivedAt::Sent, end).await?;
            let events = backfill::read_log(&log)?;
            let state = backfill::FinalState::read(pipeline.store())?;
            let cutoff = end.add_millis(-i64::from(cutoff_days) * Timestamp::DAY);
            let rows = export::training_rows(
                &events,
                &state,
                pipeline.policy(),
                cutoff,
                i64::from(cutoff_days) * Timestamp::DAY,
            );
            let mut w = BufWriter::new(
                std::fs::File::create(&out)
                    .with_context(|| format!("creating {}", out.display()))?,
            );
            export::write_csv(&rows, &mut w)?;
            w.flush()?;
            std::fs::remove_dir_all(&dir).ok();
            let positives = rows.iter().filter(|r| r.label).count();
            eprintln!(
                "exported {} rows ({positives} converted) as of {cutoff}",
                rows.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportDecisions { log, state, out } => {
            let pipeline = open_existing(&state)?;
            let decisions = outcomes::decisions(pipeline.store())?;
            let events = backfill::read_log(&log)?;
            let rows = export::decision_rows(&decisions, &events);
            let mut w = BufWriter::new(
                std::fs::File::create(&out)
                    .with_context(|| format!("creating {}", out.display()))?,
            );
            export::write_decisions_csv(&rows, &mut w)?;
            w.flush()?;
            let converted = rows
                .iter()
                .filter(|r| r.reported(tailor_core::event::OutcomeKind::Convert))
                .count();
            eprintln!(
                "exported {} of {} decisions ({converted} converted); the rest fell back before the model's inputs",
                rows.len(),
                decisions.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backfill { log, state } => {
            let pipeline = LocalPipeline::open(PipelineConfig {
                state: Some(state),
                key: tailor_core::token::TokenKey::new(vec![0u8; 16])?,
                limits: Limits::default(),
                replay_clock: true,
            })?;
            let offline = backfill::backfill(&log, pipeline.store(), pipeline.policy())?;
            let online = backfill::online(pipeline.store())?;
            let differing: Vec<&String> = online
                .keys()
                .chain(offline.keys())
                .filter(|k| online.get(*k) != offline.get(*k))
                .collect();
            writeln!(
                std::io::stdout().lock(),
                "backfill: {} profiles offline, {} online, {} differ",
                offline.len(),
                online.len(),
                differing.len()
            )?;
            Ok(if differing.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match main_inner(cli).await {
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
