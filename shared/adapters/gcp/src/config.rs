//! The Google Cloud platform's own variables, read once at start-up through
//! the runtime's [`Env`] (which also reads what every platform shares: see
//! [`tailor_runtime::config`]).
//!
//! | variable | functions | meaning |
//! | --- | --- | --- |
//! | `GOOGLE_CLOUD_PROJECT` | all | the project holding the topics and the database |
//! | `TAILOR_COLLECTION_PREFIX` | all | Firestore collections are `<prefix>-<table>` (`dedup`, `identity`, `feature-inputs`, …) |
//! | `TAILOR_FIRESTORE_DATABASE` | all (optional, default `(default)`) | the Firestore database id |
//! | `TAILOR_TOPIC_INGESTED` | ingest | the topic enrich's subscription reads |
//! | `TAILOR_TOPIC_ENRICHED` | enrich | the topic features' subscription reads |
//! | `TAILOR_TOPIC_CONSENT_CHANGES` | enrich | the topic consent's subscription reads |
//! | `TAILOR_PUSH_AUDIENCE` | stream functions (optional) | when set, every push request must carry a Google-signed OIDC token for this audience |
//! | `TAILOR_PUSH_INVOKER` | stream functions (optional) | the service account the token must name (with `TAILOR_PUSH_AUDIENCE`) |
//! | `TAILOR_OIDC_JWKS_URL` | stream functions (optional) | where the signing keys are (Google's by default) |
//! | `TAILOR_PULL_SUBSCRIPTION` | stream functions (optional) | pull from this subscription (an id in the project, or `projects/…/subscriptions/…`) in batches instead of answering push |
//! | `TAILOR_PULL_BATCH` | with a pull subscription (optional, default 100, at most 1,000) | messages per invocation at most |
//! | `TAILOR_PULL_WAIT_MS` | with a pull subscription (optional, default 100) | how long a batch waits to fill once its first message is in |
//! | `TAILOR_API_KEYS` | score (optional) | API keys, one `name sha256-hex scope,…` per line (as `tailor keys new` prints); unset, the service trusts Cloud Run's IAM |
//! | `PORT` | all (set by Cloud Run, default 8080) | the port to listen on |
//! | `PUBSUB_EMULATOR_HOST`, `FIRESTORE_EMULATOR_HOST` | all (optional) | `host:port` of an emulator: the clients talk plain HTTP to it, without credentials |
//!
//! A missing or malformed variable is a [`ConfigError`] naming it; the
//! binary logs it and exits non-zero, which Cloud Run reports as a failed
//! revision.

use tailor_core::ports::{Table, Topic};
pub use tailor_runtime::{ConfigError, Env};

/// Where the deployment's resources are, and how pushes are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The project.
    pub project: String,
    /// Prefix of every collection name.
    pub collection_prefix: String,
    /// The Firestore database id.
    pub database: String,
    /// The port to listen on.
    pub port: u16,
    /// The Pub/Sub endpoint: the emulator's (`http://host:port`), or the
    /// client's default.
    pub pubsub_emulator: Option<String>,
    /// The Firestore REST endpoint when an emulator stands in.
    pub firestore_emulator: Option<String>,
    /// The OIDC check of push requests, when configured.
    pub push_auth: Option<PushAuth>,
    /// The score service's API keys (`TAILOR_API_KEYS`); `None` trusts
    /// Cloud Run's IAM in front.
    pub api_keys: Option<Vec<tailor_runtime::http::ApiKey>>,
    /// Where a stream function pulls from, when it pulls instead of
    /// answering push.
    pub pull: Option<Pull>,
}

/// How a stream function pulls: from which subscription, in what batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pull {
    /// The subscription's full name, `projects/…/subscriptions/…`.
    pub subscription: String,
    /// Messages per invocation at most.
    pub batch: usize,
    /// How long a batch waits to fill once its first message is in, in ms.
    pub wait_ms: u64,
}

/// The most messages one pulled invocation takes.
pub const MAX_PULL_BATCH: usize = 1000;

/// What a push request's OIDC token must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushAuth {
    /// The audience (the service's URL, as the subscription names it).
    pub audience: String,
    /// The invoking service account's email, if it is checked.
    pub invoker: Option<String>,
    /// The signing keys' URL, if not Google's.
    pub jwks_url: Option<String>,
}

/// The variable naming `topic`.
#[must_use]
pub const fn topic_var(topic: Topic) -> &'static str {
    match topic {
        Topic::Ingested => "TAILOR_TOPIC_INGESTED",
        Topic::Enriched => "TAILOR_TOPIC_ENRICHED",
        Topic::ConsentChanges => "TAILOR_TOPIC_CONSENT_CHANGES",
    }
}

/// A table's collection under `prefix`.
#[must_use]
pub fn collection(prefix: &str, table: Table) -> String {
    format!("{prefix}-{}", table.as_str().replace('_', "-"))
}

/// `http://host:port` for an emulator variable's `host:port`.
fn emulator<F: Fn(&str) -> Option<String>>(env: &Env<F>, name: &str) -> Option<String> {
    env.get(name).filter(|v| !v.trim().is_empty()).map(|v| {
        let v = v.trim().trim_end_matches('/');
        if v.starts_with("http://") || v.starts_with("https://") {
            v.to_owned()
        } else {
            format!("http://{v}")
        }
    })
}

impl Config {
    /// The deployment's configuration.
    ///
    /// # Errors
    /// A variable is missing or malformed.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let project = env.required(
            "GOOGLE_CLOUD_PROJECT",
            "the Google Cloud project of the topics and the database",
        )?;
        let collection_prefix = env.required(
            "TAILOR_COLLECTION_PREFIX",
            "the prefix of the Firestore collection names (<prefix>-dedup, …)",
        )?;
        let database = env
            .get("TAILOR_FIRESTORE_DATABASE")
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "(default)".to_owned());
        let port = env.parsed("PORT", 8080u16)?;
        let push_auth = env.get("TAILOR_PUSH_AUDIENCE").map(|audience| PushAuth {
            audience,
            invoker: env.get("TAILOR_PUSH_INVOKER"),
            jwks_url: env.get("TAILOR_OIDC_JWKS_URL"),
        });
        if push_auth.is_none() && env.get("TAILOR_PUSH_INVOKER").is_some() {
            return Err(ConfigError::Invalid {
                name: "TAILOR_PUSH_INVOKER",
                reason: "is checked only with TAILOR_PUSH_AUDIENCE, which is not set".into(),
            });
        }
        let api_keys = env
            .get("TAILOR_API_KEYS")
            .map(|text| {
                tailor_runtime::http::ApiKey::parse_all(&text).map_err(|e| ConfigError::Invalid {
                    name: "TAILOR_API_KEYS",
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        let pull = match env.get("TAILOR_PULL_SUBSCRIPTION") {
            Some(id) if !id.trim().is_empty() => {
                let id = id.trim();
                let batch = env.parsed("TAILOR_PULL_BATCH", 100usize)?;
                if !(1..=MAX_PULL_BATCH).contains(&batch) {
                    return Err(ConfigError::Invalid {
                        name: "TAILOR_PULL_BATCH",
                        reason: format!("must be 1 to {MAX_PULL_BATCH}, not {batch}"),
                    });
                }
                Some(Pull {
                    subscription: if id.starts_with("projects/") {
                        id.to_owned()
                    } else {
                        format!("projects/{project}/subscriptions/{id}")
                    },
                    batch,
                    wait_ms: env.parsed("TAILOR_PULL_WAIT_MS", 100u64)?,
                })
            }
            _ => None,
        };
        Ok(Self {
            pull,
            project,
            collection_prefix,
            database,
            port,
            api_keys,
            pubsub_emulator: emulator(env, "PUBSUB_EMULATOR_HOST"),
            firestore_emulator: emulator(env, "FIRESTORE_EMULATOR_HOST"),
            push_auth,
        })
    }

    /// The full name of the topic a function publishes `topic` to.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] when its variable is unset.
    pub fn topic<F: Fn(&str) -> Option<String>>(
        &self,
        env: &Env<F>,
        topic: Topic,
    ) -> Result<String, ConfigError> {
        let id = env.required(topic_var(topic), "the Pub/Sub topic id to publish to")?;
        Ok(if id.starts_with("projects/") {
            id
        } else {
            format!("projects/{}/topics/{id}", self.project)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_malformed_variables_are_named() {
        let err = Config::from_env(&Env::of(&[])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("GOOGLE_CLOUD_PROJECT is not set"),
            "{err}"
        );
        let err = Config::from_env(&Env::of(&[("GOOGLE_CLOUD_PROJECT", "p")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TAILOR_COLLECTION_PREFIX is not set"),
            "{err}"
        );
        let base = [
            ("GOOGLE_CLOUD_PROJECT", "p"),
            ("TAILOR_COLLECTION_PREFIX", "t"),
        ];
        let err = Config::from_env(&Env::of(&[base[0], base[1], ("PORT", "eighty")])).unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { name: "PORT", .. }),
            "{err}"
        );
        let err = Config::from_env(&Env::of(&[
            base[0],
            base[1],
            ("TAILOR_PUSH_INVOKER", "a@b"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "TAILOR_PUSH_INVOKER",
                ..
            }
        ));
        let c = Config::from_env(&Env::of(&base)).unwrap();
        let err = c.topic(&Env::of(&base), Topic::Enriched).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TAILOR_TOPIC_ENRICHED is not set"),
            "{err}"
        );
    }

    #[test]
    fn a_complete_environment_configures() {
        let pairs = [
            ("GOOGLE_CLOUD_PROJECT", "shop-prod"),
            ("TAILOR_COLLECTION_PREFIX", "tailor"),
            ("TAILOR_TOPIC_INGESTED", "tailor-ingested"),
            ("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085"),
            ("TAILOR_PUSH_AUDIENCE", "https://enrich.run.app"),
            ("PORT", "9000"),
        ];
        let c = Config::from_env(&Env::of(&pairs)).unwrap();
        assert_eq!(c.database, "(default)");
        assert_eq!(c.port, 9000);
        assert_eq!(c.pubsub_emulator.as_deref(), Some("http://127.0.0.1:8085"));
        assert_eq!(c.firestore_emulator, None);
        assert_eq!(
            c.push_auth.as_ref().map(|a| a.audience.as_str()),
            Some("https://enrich.run.app")
        );
        assert_eq!(
            c.topic(&Env::of(&pairs), Topic::Ingested).unwrap(),
            "projects/shop-prod/topics/tailor-ingested"
        );
        assert_eq!(
            collection(&c.collection_prefix, Table::FeatureInputs),
            "tailor-feature-inputs"
        );
        assert_eq!(c.pull, None, "push unless a subscription is named");
    }

    #[test]
    fn a_pull_subscription_is_named_in_the_project_with_bounded_batches() {
        let base = [
            ("GOOGLE_CLOUD_PROJECT", "shop-prod"),
            ("TAILOR_COLLECTION_PREFIX", "tailor"),
            ("TAILOR_PULL_SUBSCRIPTION", "tailor-features"),
        ];
        let c = Config::from_env(&Env::of(&base)).unwrap();
        assert_eq!(
            c.pull,
            Some(Pull {
                subscription: "projects/shop-prod/subscriptions/tailor-features".into(),
                batch: 100,
                wait_ms: 100,
            })
        );
        for batch in ["0", "1001", "many"] {
            let err = Config::from_env(&Env::of(&[
                base[0],
                base[1],
                base[2],
                ("TAILOR_PULL_BATCH", batch),
            ]))
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: "TAILOR_PULL_BATCH",
                        ..
                    }
                ),
                "{batch}: {err}"
            );
        }
    }
}
