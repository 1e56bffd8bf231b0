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

/// The HTTPS client every SDK client shares: the SDK's own default client
/// (hyper 1, rustls, the connection settings and sleep of each client's
/// configuration, a proxy from the environment), with rustls on ring
/// rather than aws-lc, which would add a second, larger cryptography
/// library to every package.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
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

#[cfg(test)]
mod tests {
    use tailor_runtime::Env;
    use tokio::io::AsyncReadExt;

    /// Every SDK call goes out over TLS through the client's own
    /// cryptography provider: a server that reads the first bytes of the
    /// connection sees a TLS handshake record, a client hello.
    #[tokio::test]
    async fn sdk_calls_speak_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let server = tokio::spawn(async move {
            let (mut connection, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 6];
            connection.read_exact(&mut head).await.unwrap();
            head
        });
        let env = Env::of(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL", &endpoint),
        ]);
        let sdk = crate::config::sdk(&env, 1).unwrap();
        let call = aws_sdk_dynamodb::Client::new(&sdk).list_tables().send();
        let (answer, head) = tokio::join!(call, server);
        let head = head.unwrap();
        // A handshake record (22), TLS's record version, a client hello (1).
        assert_eq!((head[0], head[1], head[5]), (22, 3, 1), "{head:?}");
        assert!(answer.is_err(), "the server never answered: {answer:?}");
    }
}
