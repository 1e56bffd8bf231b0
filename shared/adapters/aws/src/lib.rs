//! Tailor on AWS: every function as a Lambda, DynamoDB behind the core's
//! [`Store`](tailor_core::ports::Store) port and Kinesis behind its
//! [`Publisher`](tailor_core::ports::Publisher) port.
//!
//! The function crates hold the logic; this crate only adapts transports:
//!
//! - [`stream`]: a Kinesis batch (`aws_lambda_events`) in, the function's
//!   dispositions out as a `KinesisEventResponse` whose
//!   `batch_item_failures` name exactly the records that need a retry.
//!   Poison records are dead-lettered with their reason by the function and
//!   acknowledged, so they never block a shard.
//! - [`dynamo`]: the store, with conditional writes on a `version`
//!   attribute, a `ttl` attribute on every item, batched reads, and read and
//!   write capacity units counted from item sizes.
//! - [`kinesis`]: `PutRecords` with partition key = profile, retrying only
//!   the entries the response reports as failed.
//! - [`deadline`]: store and stream calls stop before the invocation's time
//!   runs out, so what is left becomes per-record retries instead of a
//!   timed-out batch.
//! - [`url`]: the score function behind a Lambda Function URL.
//! - [`platform`]: what every entry point creates once, at init.
//! - [`config`]: environment variables, read once at start-up, with clear
//!   errors.
//!
//! The binaries in `src/bin` are the five Lambda entry points; clients,
//! policy and models are created once per process, at init.

pub mod config;
pub mod deadline;
pub mod dynamo;
pub mod kinesis;
pub mod platform;
pub mod stream;
pub mod url;

pub use config::{Config, ConfigError};
pub use deadline::Deadline;
pub use dynamo::DynamoStore;
pub use kinesis::KinesisPublisher;
pub use platform::{Platform, StartupError};

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

/// Structured (JSON) logs to stdout, which Lambda sends to CloudWatch; the
/// level comes from `TAILOR_LOG` (default `info`).
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAILOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .init();
}
