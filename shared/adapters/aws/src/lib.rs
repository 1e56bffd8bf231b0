//! Tailor on AWS: every function as a Lambda, DynamoDB behind the core's
//! [`Store`](tailor_core::ports::Store) port and Kinesis behind its
//! [`Publisher`](tailor_core::ports::Publisher) port.
//!
//! The function crates hold the logic and the runtime (`tailor-runtime`)
//! composes them; this crate holds only what is AWS's:
//!
//! - [`stream`]: a Kinesis batch (`aws_lambda_events`) in, the function's
//!   dispositions out as a `KinesisEventResponse` whose
//!   `batch_item_failures` name exactly the records that need a retry.
//! - [`url`]: the score function's HTTP API behind a Lambda Function URL.
//! - [`dynamo`]: the store, with conditional writes on a `version`
//!   attribute, a `ttl` attribute on every item, batched reads, and read and
//!   write request units counted from item sizes.
//! - [`kinesis`]: `PutRecords` with partition key = profile, retrying only
//!   the entries the response reports as failed.
//! - [`deadline`]: store and stream calls stop before the invocation's time
//!   runs out, so what is left becomes per-record retries instead of a
//!   timed-out batch.
//! - [`platform`]: what every entry point creates once, at init.
//! - [`config`]: the AWS variables.
//! - `offline_log` and `slow_lane` (feature `slow-lane`): the offline log
//!   in S3 as Firehose delivers it, and the slow lane's scheduled job over
//!   it.
//!
//! The binaries in `src/bin` are the five Lambda entry points, each one
//! line: [`main`] with its function, and the slow lane's job.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

pub mod config;
pub mod deadline;
pub mod dynamo;
pub mod kinesis;
#[cfg(feature = "slow-lane")]
pub mod offline_log;
pub mod platform;
#[cfg(feature = "slow-lane")]
pub mod slow_lane;
pub mod stream;
pub mod url;

pub use config::{Config, ConfigError};
pub use deadline::Deadline;
pub use dynamo::DynamoStore;
pub use kinesis::KinesisPublisher;
pub use platform::Platform;
pub use tailor_runtime::StartupError;

use tailor_runtime::Function;
use tailor_runtime::startup::{Run, exit, keep};

/// The AWS SDK configuration every function uses: region, credentials and
/// endpoint from the environment (`AWS_ENDPOINT_URL` points the SDK at
/// another server speaking the AWS protocol), with the SDK's standard
/// retries (exponential backoff with jitter) bounded to `max_attempts`.
pub async fn sdk_config(max_attempts: u32) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(max_attempts))
        .load()
        .await
}

async fn run(function: Function) -> Run<lambda_runtime::Error> {
    let platform = keep(Platform::init(function).await?);
    Ok(match function.stage() {
        Some(stage) => stream::serve(platform, stage).await,
        #[cfg(feature = "score")]
        None => url::serve(platform).await,
        // Init refuses a function this build does not hold.
        #[cfg(not(feature = "score"))]
        None => Err("this build does not hold the score function".into()),
    })
}

/// A Lambda entry point: logs for CloudWatch, the platform built at init
/// (a start-up error is reported with what is missing), then the
/// invocation loop until the Runtime API goes away.
pub async fn main(function: Function) -> std::process::ExitCode {
    tailor_runtime::logs::init(tailor_runtime::logs::LogTarget::Collector);
    exit(run(function).await)
}
