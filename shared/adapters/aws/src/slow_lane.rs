//! The slow lane's scheduled batch job on Lambda. Each invocation (an
//! EventBridge schedule) reads the offline log in S3 whole ([`OfflineLog`]) and runs the runtime's batch run
//! ([`Functions::run_slow_lane`](tailor_runtime::Functions::run_slow_lane)):
//! every profile's long-horizon features and batch scores as of the
//! scheduled event's `time` (now, for an event without one), kept in
//! DynamoDB beside the online features.
//!
//! It starts as the score function does (its model, catalog, policy and
//! tables, the same variables), with two of its own:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `TAILOR_OFFLINE_LOG_BUCKET` | the bucket the offline log is delivered to |
//! | `TAILOR_OFFLINE_LOG_PREFIX` | optional, default `enriched/`: the log's objects |
//!
//! The whole log is read into memory, each event kept as what the replay
//! reads of it, and every lane written within one invocation (at most 15
//! minutes): about 540 bytes a logged event at the run's largest, so some
//! 2 million events at the default 1,024 MB. A run cut short by its
//! deadline fails; the lanes it wrote stay, and the next run writes all.

use serde::Serialize;
use tailor_core::Timestamp;
use tailor_core::ports::Clock;
use tailor_runtime::slow_lane::{SlowRun, SlowRunError};
use tailor_runtime::startup::{Run, exit, keep};
use tailor_runtime::{Env, Function, StartupError, WallClock};
use tracing::{info, warn};

use crate::Platform;
use crate::offline_log::{OfflineLog, OfflineLogError};

/// The job, created once per process.
#[derive(Debug)]
pub struct Job {
    /// The score function's platform, whose tables the lanes are kept in.
    pub platform: Platform,
    /// Where the offline log is.
    pub log: OfflineLog,
}

/// What one run did: the invocation's answer, and its log line.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The moment the lanes were computed as of.
    pub at: Timestamp,
    /// Log objects read.
    pub objects: usize,
    /// Events read.
    pub events: usize,
    /// Lines that were not enriched messages (each logged with its object).
    pub unreadable: usize,
    /// Profiles with a history, lanes kept, batch scores among them, and
    /// lanes deleted again because their person was being erased.
    pub profiles: usize,
    /// Lanes kept.
    pub kept: usize,
    /// Batch scores in them.
    pub batch_scores: usize,
    /// Lanes deleted again.
    pub erased: usize,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The log could not be read.
    #[error(transparent)]
    Log(#[from] OfflineLogError),
    /// The lanes could not be kept.
    #[error(transparent)]
    Run(#[from] SlowRunError),
}

impl Job {
    /// Reads the environment and starts the job.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing.
    pub async fn init() -> Result<Self, StartupError> {
        Self::init_with(&Env::configured()?).await
    }

    /// As [`Job::init`], reading variables through `env`.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing.
    pub async fn init_with<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
    ) -> Result<Self, StartupError> {
        let bucket = env.required(
            "TAILOR_OFFLINE_LOG_BUCKET",
            "the S3 bucket the offline log is delivered to",
        )?;
        let prefix = env
            .get("TAILOR_OFFLINE_LOG_PREFIX")
            .unwrap_or_else(|| "enriched/".to_owned());
        let platform = Platform::init_with(env, Function::Score).await?;
        let sdk = crate::config::sdk(env, platform.cloud.config.max_attempts)?;
        // An endpoint of its own (a server speaking the S3 protocol, in
        // tests) is addressed by path; S3 itself by virtual host.
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        let log = OfflineLog::new(aws_sdk_s3::Client::from_conf(s3), bucket, prefix);
        Ok(Self { platform, log })
    }

    /// Reads the log and keeps every profile's lane as of `at`; logs the
    /// run's report and cost record (an invocation that began at `began`).
    ///
    /// # Errors
    /// [`JobError`].
    pub async fn run(
        &self,
        at: Timestamp,
        began: std::time::Instant,
        request_id: &str,
    ) -> Result<Summary, JobError> {
        let read = self.log.read(&self.platform.cloud.deadline).await?;
        for (object, line, why) in &read.unreadable {
            warn!(
                object,
                line, why, "offline log line is not an enriched message"
            );
        }
        let functions = &self.platform.service.functions;
        let run = functions.run_slow_lane(&read.events, at).await?;
        let report = run.report(read.events.len(), functions.store().take());
        self.platform.report(&report, began, request_id);
        let SlowRun {
            profiles,
            kept,
            batch_scores,
            erased,
        } = run;
        Ok(Summary {
            at,
            objects: read.objects,
            events: read.events.len(),
            unreadable: read.unreadable.len(),
            profiles,
            kept,
            batch_scores,
            erased,
        })
    }
}

/// The moment a run computes as of: the scheduled event's `time` (when
/// the schedule fired, so a retried invocation computes the same lanes),
/// else now.
///
/// # Errors
/// A `time` that is not an RFC 3339 time.
fn moment(event: &serde_json::Value) -> Result<Timestamp, lambda_runtime::Error> {
    match event.get("time").and_then(serde_json::Value::as_str) {
        Some(t) => Ok(Timestamp::parse(t).map_err(|e| format!("the event's time {t:?}: {e}"))?),
        None => Ok(WallClock.now()),
    }
}

async fn serve() -> Run<lambda_runtime::Error> {
    let job = keep(Job::init().await?);
    Ok(lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            job.platform
                .cloud
                .deadline
                .set_from_epoch_millis(event.context.deadline);
            let began = std::time::Instant::now();
            let summary = job
                .run(moment(&event.payload)?, began, &event.context.request_id)
                .await?;
            info!(
                objects = summary.objects,
                events = summary.events,
                unreadable = summary.unreadable,
                profiles = summary.profiles,
                kept = summary.kept,
                batch_scores = summary.batch_scores,
                erased = summary.erased,
                "slow lane computed"
            );
            Ok::<_, lambda_runtime::Error>(summary)
        },
    ))
    .await)
}

/// The job's Lambda entry point: logs for CloudWatch, the job created at
/// init, then the invocation loop.
pub async fn main() -> std::process::ExitCode {
    tailor_runtime::logs::init(tailor_runtime::logs::LogTarget::Collector);
    exit(serve().await)
}
