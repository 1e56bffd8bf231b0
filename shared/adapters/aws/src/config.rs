//! Configuration from environment variables, read once at start-up.
//!
//! | variable | functions | meaning |
//! | --- | --- | --- |
//! | `TAILOR_TABLE_PREFIX` | all | DynamoDB tables are `<prefix>-<table>` (`dedup`, `identity`, `feature-inputs`, `features`, `consent`, `audit`, `dead-letters`, `tombstones`, `decisions`) |
//! | `TAILOR_STREAM_INGESTED` | ingest | the Kinesis stream enrich reads |
//! | `TAILOR_STREAM_ENRICHED` | enrich | the Kinesis stream features reads |
//! | `TAILOR_STREAM_CONSENT_CHANGES` | enrich | the Kinesis stream consent reads |
//! | `TAILOR_TOKEN_KEY` | ingest | the tokenization key (at least 16 bytes) |
//! | `TAILOR_AWS_MAX_ATTEMPTS` | all (optional, default 3) | attempts per AWS call, with backoff |
//! | `TAILOR_MODEL_DIR` | score (optional, default `models/conversion-v1` beside the binary) | the model directory |
//! | `TAILOR_ENGINE` | score (optional, default `auto`) | `auto`, `ort` or `tract` |
//! | `TAILOR_STORE_BUDGET_MS` | score (optional, default 50) | latency budget for store calls |
//! | `ORT_DYLIB_PATH` | score (optional) | ONNX Runtime's library (the layer puts it at `/opt/lib/libonnxruntime.so`) |
//! | `TAILOR_CLOCK` | stream functions (optional, default `wall`) | what items expire by: `wall`, or `arrival` (the latest record arrival time, for replaying historical streams) |
//! | `TAILOR_LOG` | all (optional, default `info`) | log filter |
//!
//! The SDK reads the region, credentials and `AWS_ENDPOINT_URL` itself.
//! A missing or malformed variable is a [`ConfigError`] naming it, which the
//! entry point reports to Lambda's init-error endpoint before exiting.

use tailor_core::ports::{Table, Topic};

/// A variable is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    #[error("{name} is not set: {meaning}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What it should hold.
        meaning: &'static str,
    },
    /// A variable is set to something unusable.
    #[error("{name} is not usable: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

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

/// Reads variables through `lookup` (the process environment in
/// production, a map in tests).
#[derive(Clone, Copy)]
pub struct Env<F>(pub F);

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    #[must_use]
    pub fn process() -> Self {
        Self(|name| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// A required variable.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] when unset or empty.
    pub fn required(
        &self,
        name: &'static str,
        meaning: &'static str,
    ) -> Result<String, ConfigError> {
        (self.0)(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing { name, meaning })
    }

    /// An optional variable parsed as `T`, or `default`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when set but unparsable.
    pub fn parsed<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match (self.0)(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: format!("{v:?}: {e}"),
            }),
        }
    }

    /// The deployment's configuration.
    ///
    /// # Errors
    /// A variable is missing or malformed.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let table_prefix = self.required(
            "TAILOR_TABLE_PREFIX",
            "the prefix of the DynamoDB table names (<prefix>-dedup, …)",
        )?;
        let max_attempts = self.parsed("TAILOR_AWS_MAX_ATTEMPTS", 3u32)?;
        if max_attempts == 0 {
            return Err(ConfigError::Invalid {
                name: "TAILOR_AWS_MAX_ATTEMPTS",
                reason: "must be at least 1".into(),
            });
        }
        Ok(Config {
            table_prefix,
            max_attempts,
        })
    }

    /// The stream a function publishes `topic` to.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] when unset.
    pub fn stream(&self, topic: Topic) -> Result<String, ConfigError> {
        self.required(
            stream_var(topic),
            "the name of the Kinesis stream to publish to",
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn missing_and_malformed_variables_are_named() {
        let err = env(&[]).config().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TAILOR_TABLE_PREFIX is not set"),
            "{err}"
        );
        let err = env(&[
            ("TAILOR_TABLE_PREFIX", "t"),
            ("TAILOR_AWS_MAX_ATTEMPTS", "many"),
        ])
        .config()
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "TAILOR_AWS_MAX_ATTEMPTS",
                ..
            }
        ));
        let err = env(&[]).stream(Topic::Enriched).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TAILOR_STREAM_ENRICHED is not set")
        );
    }

    #[test]
    fn a_complete_environment_configures() {
        let c = env(&[
            ("TAILOR_TABLE_PREFIX", "prod"),
            ("TAILOR_AWS_MAX_ATTEMPTS", "5"),
        ])
        .config()
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
