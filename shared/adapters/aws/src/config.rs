//! The AWS platform's own variables, read once at start-up through the
//! runtime's [`Env`] (which also reads what every platform shares: see
//! [`tailor_runtime::config`]).
//!
//! | variable | functions | meaning |
//! | --- | --- | --- |
//! | `TAILOR_TABLE_PREFIX` | all | DynamoDB tables are `<prefix>-<table>` (`dedup`, `identity`, `feature-inputs`, `features`, `slow-lane`, `consent`, `audit`, `dead-letters`, `tombstones`, `decisions`, `subjects`) |
//! | `TAILOR_STREAM_INGESTED` | ingest | the Kinesis stream enrich reads |
//! | `TAILOR_STREAM_ENRICHED` | enrich | the Kinesis stream features reads |
//! | `TAILOR_STREAM_CONSENT_CHANGES` | enrich | the Kinesis stream consent reads |
//! | `TAILOR_AWS_MAX_ATTEMPTS` | all (optional, default 3) | attempts per AWS call, with backoff |
//!
//! The SDK reads the region, credentials and `AWS_ENDPOINT_URL` itself. A
//! missing or malformed variable is a [`ConfigError`] naming it, which the
//! entry point reports to Lambda's init-error endpoint before exiting.

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
}
