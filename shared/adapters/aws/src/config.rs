//! The AWS platform's own variables, read once at start-up through the
//! runtime's [`Env`] (which also reads what every platform shares: see
//! [`tailor_runtime::config`]).
//!
//! | variable | functions | meaning |
//! | --- | --- | --- |
//! | `TAILOR_TABLE_PREFIX` | all | DynamoDB tables are `<prefix>-<table>` (`dedup`, `identity`, `feature-inputs`, `features`, `slow-lane`, `consent`, `audit`, `dead-letters`, `tombstones`, `erasure-index`, `decisions`, `subjects`) |
//! | `TAILOR_STREAM_INGESTED` | ingest | the Kinesis stream enrich reads |
//! | `TAILOR_STREAM_ENRICHED` | enrich | the Kinesis stream features reads |
//! | `TAILOR_STREAM_CONSENT_CHANGES` | enrich | the Kinesis stream consent reads |
//! | `TAILOR_AWS_MAX_ATTEMPTS` | all (optional, default 3) | attempts per AWS call, with backoff |
//! | `AWS_REGION` | all (Lambda sets it) | the region of the tables and streams |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | all (Lambda sets them) | the execution role's credentials (the token is optional) |
//! | `AWS_ENDPOINT_URL` | all (optional) | another server speaking the AWS protocol, for every service |
//!
//! The SDK is configured from these alone ([`sdk`]): no profile files,
//! instance metadata or web-identity exchange, which Lambda never needs
//! and which would cost every function start-up time and package size. A
//! missing or malformed variable is a [`ConfigError`] naming it, which the
//! entry point reports to Lambda's init-error endpoint before exiting.

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_types::SdkConfig;
use tailor_core::ports::{Table, Topic};
pub use tailor_runtime::{ConfigError, Env};

/// Where the deployment's resources are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Prefix of every table name.
    pub table_prefix: String,
    /// Attempts per AWS call.
    pub max_attempts: u32,
}

/// The variable naming `topic`'s stream.
#[must_use]
pub const fn stream_var(topic: Topic) -> &'static str {
    match topic {
        Topic::Ingested => "TAILOR_STREAM_INGESTED",
        Topic::Enriched => "TAILOR_STREAM_ENRICHED",
        Topic::ConsentChanges => "TAILOR_STREAM_CONSENT_CHANGES",
    }
}

/// A table's name under `prefix`.
#[must_use]
pub fn table_name(prefix: &str, table: Table) -> String {
    format!("{prefix}-{}", table.as_str().replace('_', "-"))
}

impl Config {
    /// The deployment's configuration.
    ///
    /// # Errors
    /// A variable is missing or malformed.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let table_prefix = env.required(
            "TAILOR_TABLE_PREFIX",
            "the prefix of the DynamoDB table names (<prefix>-dedup, …)",
        )?;
        let max_attempts = env.parsed("TAILOR_AWS_MAX_ATTEMPTS", 3u32)?;
        if max_attempts == 0 {
            return Err(ConfigError::Invalid {
                name: "TAILOR_AWS_MAX_ATTEMPTS",
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            table_prefix,
            max_attempts,
        })
    }
}

/// The AWS SDK configuration every client of a function shares: the region,
/// the credentials and the endpoint from the environment (see the table
/// above), the SDK's standard retries (exponential backoff with jitter)
/// bounded to `max_attempts`, over [`crate::https_client`]. The SDK's own
/// defaults apply to the rest (timeouts, the identity cache, stalled-stream
/// protection).
///
/// # Errors
/// [`ConfigError::Missing`] when the region or a credential is unset.
pub fn sdk<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    max_attempts: u32,
) -> Result<SdkConfig, ConfigError> {
    let region = env.required("AWS_REGION", "the AWS region of the tables and streams")?;
    let credentials = Credentials::new(
        env.required("AWS_ACCESS_KEY_ID", "the execution role's access key id")?,
        env.required("AWS_SECRET_ACCESS_KEY", "the execution role's secret key")?,
        env.get("AWS_SESSION_TOKEN"),
        None,
        "environment",
    );
    let mut sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
        .http_client(crate::https_client());
    if let Some(endpoint) = env.get("AWS_ENDPOINT_URL") {
        sdk = sdk.endpoint_url(endpoint);
    }
    Ok(sdk.build())
}

/// The stream a function publishes `topic` to.
///
/// # Errors
/// [`ConfigError::Missing`] when unset.
pub fn stream<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    topic: Topic,
) -> Result<String, ConfigError> {
    env.required(
        stream_var(topic),
        "the name of the Kinesis stream to publish to",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_malformed_variables_are_named() {
        let err = Config::from_env(&Env::of(&[])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TAILOR_TABLE_PREFIX is not set"),
            "{err}"
        );
        let err = Config::from_env(&Env::of(&[
            ("TAILOR_TABLE_PREFIX", "t"),
            ("TAILOR_AWS_MAX_ATTEMPTS", "many"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "TAILOR_AWS_MAX_ATTEMPTS",
                ..
            }
        ));
        let err = stream(&Env::of(&[]), Topic::Enriched).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TAILOR_STREAM_ENRICHED is not set")
        );
    }

    #[test]
    fn a_complete_environment_configures() {
        let c = Config::from_env(&Env::of(&[
            ("TAILOR_TABLE_PREFIX", "prod"),
            ("TAILOR_AWS_MAX_ATTEMPTS", "5"),
        ]))
        .unwrap();
        assert_eq!(c.max_attempts, 5);
        assert_eq!(
            table_name(&c.table_prefix, Table::FeatureInputs),
            "prod-feature-inputs"
        );
        assert_eq!(
            table_name(&c.table_prefix, Table::DeadLetters),
            "prod-dead-letters"
        );
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIK7MDENG"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[test]
    fn the_sdk_is_configured_from_the_variables_lambda_sets() {
        use aws_sdk_dynamodb::config::ProvideCredentials;
        let sdk = sdk(&Env::of(&LAMBDA), 4).unwrap();
        assert_eq!(sdk.region().map(Region::as_ref), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), None);
        assert_eq!(sdk.retry_config().map(RetryConfig::max_attempts), Some(4));
        assert!(sdk.http_client().is_some());
        let provider = sdk.credentials_provider().unwrap();
        let credentials = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(provider.provide_credentials())
            .unwrap();
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "wJalrXUtnFEMIK7MDENG");
        assert_eq!(credentials.session_token(), Some("token"));
        // The secret never reaches a log through the platform's Debug.
        assert!(
            !format!("{sdk:?}").contains("wJalrXUtnFEMIK7MDENG"),
            "{sdk:?}"
        );

        let mut other = LAMBDA.to_vec();
        other.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        other.retain(|(name, _)| *name != "AWS_SESSION_TOKEN");
        let sdk = super::sdk(&Env::of(&other), 1).unwrap();
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        let credentials = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(sdk.credentials_provider().unwrap().provide_credentials())
            .unwrap();
        assert_eq!(credentials.session_token(), None);
    }

    #[test]
    fn a_missing_region_or_credential_is_named() {
        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let env: Vec<_> = LAMBDA.into_iter().filter(|(n, _)| *n != missing).collect();
            let err = sdk(&Env::of(&env), 3).unwrap_err();
            assert!(
                matches!(err, ConfigError::Missing { name, .. } if name == missing),
                "{missing}: {err}"
            );
        }
    }
}
