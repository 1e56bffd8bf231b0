//! Settings, read once at start-up from the environment (or built by a
//! front end such as the `tailor` command), with one error type that names
//! the variable.
//!
//! | variable | functions | meaning |
//! | --- | --- | --- |
//! | `TAILOR_TOKEN_KEY` | all | the tokenization key (at least 16 bytes): ingest's tokens, and the keyed tokens tombstones are kept under |
//! | `TAILOR_DESTINATIONS` | all (optional, default: every one) | the destinations this deployment holds, comma-separated (`eu-central`): an event or decision for a region approved for another is refused |
//! | `TAILOR_POLICY_OVERLAY` | all (optional) | the policy overlay composed over the base bundle (`eu`): it may only forbid and shorten retention |
//! | `TAILOR_CLOCK` | stream functions (optional, default `wall`) | what items expire by: `wall`, or `arrival` (the latest record arrival time, for replaying historical streams) |
//! | `TAILOR_STORE_BUDGET_MS` | score (optional, default 50) | latency budget for store calls, per decision |
//! | `TAILOR_MODEL_DIR` | score (optional, default: the platform's) | the model directory |
//! | `TAILOR_ENGINE` | score (optional, default `auto`) | `auto`, `ort` or `tract` |
//! | `TAILOR_CHALLENGER_DIR` | score (optional) | a second model, scored beside the first and logged, never acted on |
//! | `ORT_DYLIB_PATH` | score (optional) | ONNX Runtime's library |
//! | `TAILOR_LOG` | all (optional) | log filter (see [`crate::logs`]) |
//!
//! Each platform adds its own (table prefixes, stream or topic names),
//! read through the same [`Env`]. [`Env::configured`] also reads a file of
//! `NAME=value` lines named by `TAILOR_CONFIG_FILE`, under the environment.

use std::path::PathBuf;

use std::time::Duration;
use tailor_core::policy::Residency;

use tailor_core::decode::Limits;
use tailor_core::score::EngineChoice;
use tailor_core::token::TokenKey;

use crate::function::Function;

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

/// Reads variables through a lookup (the process environment in
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

/// A lookup owned by an [`Env`] built from pairs.
pub type Lookup = Box<dyn Fn(&str) -> Option<String>>;

impl Env<Lookup> {
    /// Variables from `pairs`, for tests and for configuration files.
    #[must_use]
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        let map: std::collections::BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self(Box::new(move |name: &str| map.get(name).cloned()))
    }

    /// The process environment over the file `TAILOR_CONFIG_FILE` names,
    /// if it names one: `NAME=value` lines (blank lines and `#` comments
    /// ignored); a variable set in both takes the environment's value.
    ///
    /// # Errors
    /// The file cannot be read, or a line is not `NAME=value`.
    pub fn configured() -> Result<Self, ConfigError> {
        let Some(path) = std::env::var("TAILOR_CONFIG_FILE")
            .ok()
            .filter(|p| !p.trim().is_empty())
        else {
            return Ok(Self(Box::new(|name: &str| std::env::var(name).ok())));
        };
        let invalid = |reason: String| ConfigError::Invalid {
            name: "TAILOR_CONFIG_FILE",
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| invalid(format!("{path}: {e}")))?;
        let file = Self::parse(&text).map_err(invalid)?;
        Ok(Self(Box::new(move |name: &str| {
            std::env::var(name).ok().or_else(|| (file.0)(name))
        })))
    }

    /// Variables from `NAME=value` lines (blank lines and `#` comments ignored).
    ///
    /// # Errors
    /// The first line that is not `NAME=value`, by number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => {
                    pairs.push((name.trim().to_owned(), value.trim().to_owned()));
                }
                _ => return Err(format!("line {}: expected NAME=value", i + 1)),
            }
        }
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(Self::of(&pairs))
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// A variable, if set and not blank.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// A required variable.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] when unset or empty.
    pub fn required(
        &self,
        name: &'static str,
        meaning: &'static str,
    ) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing { name, meaning })
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
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: format!("{v:?}: {e}"),
            }),
        }
    }

    /// An optional variable that must be one of `choices`, or `default`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the choices.
    pub fn choice<T: Copy>(
        &self,
        name: &'static str,
        choices: &[(&str, T)],
        default: T,
    ) -> Result<T, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        let v = v.trim();
        choices
            .iter()
            .find(|(label, _)| *label == v)
            .map(|(_, value)| *value)
            .ok_or_else(|| ConfigError::Invalid {
                name,
                reason: format!(
                    "{v:?}: expected {}",
                    choices
                        .iter()
                        .map(|(label, _)| *label)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }
}

/// What stored items expire by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// The wall clock: a live deployment.
    #[default]
    Wall,
    /// The latest arrival time of the records processed: replaying a
    /// historical stream, where expiring by the wall clock would drop
    /// state that was live when the events arrived.
    Arrival,
}

/// Where the model comes from and what runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSettings {
    /// The model directory.
    pub dir: PathBuf,
    /// The engine.
    pub engine: EngineChoice,
    /// A challenger model directory, if any.
    pub challenger: Option<PathBuf>,
}

/// Everything the functions are built from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The tokenization key; ingest needs one.
    pub token_key: Option<TokenKey>,
    /// Record limits.
    pub limits: Limits,
    /// What items expire by.
    pub clock: ClockMode,
    /// How long the store may take per decision: once for the reads, once
    /// for the log write.
    pub store_budget: Duration,
    /// The model score runs.
    pub model: ModelSettings,
    /// The destinations this deployment holds (`TAILOR_DESTINATIONS`);
    /// every one when unset.
    pub residency: Residency,
    /// The policy overlay composed over the base bundle
    /// (`TAILOR_POLICY_OVERLAY`, such as `eu`); the base alone when unset.
    pub policy_overlay: Option<String>,
    /// Whether records a stream delivers to ingest may change consent
    /// (`TAILOR_STREAM_CONSENT`: `accept`, or `refuse`, the default). A
    /// stream's producers are whoever the platform lets write to it: a
    /// deployment turns this on where only trusted systems (its consent
    /// platform among them) may write to the stream, and leaves it off
    /// where untrusted producers can, taking consent changes only through
    /// an API route that needs `consent:write`.
    pub stream_consent: bool,
}

impl Settings {
    /// Defaults for `model_dir`: no key, default limits, the wall clock,
    /// the default store budget, `auto` engine, no challenger.
    #[must_use]
    pub fn new(model_dir: PathBuf) -> Self {
        Self {
            token_key: None,
            limits: Limits::default(),
            clock: ClockMode::Wall,
            store_budget: tailor_score::DEFAULT_STORE_BUDGET,
            model: ModelSettings {
                dir: model_dir,
                engine: EngineChoice::Auto,
                challenger: None,
            },
            residency: Residency::everywhere(),
            policy_overlay: None,
            stream_consent: false,
        }
    }

    /// The settings of a process that runs `functions`, from `env`; what a
    /// function needs and is missing is an error naming the variable.
    /// `model_dir` is the platform's default model directory.
    ///
    /// # Errors
    /// A variable is missing or malformed.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        functions: &[Function],
        model_dir: PathBuf,
    ) -> Result<Self, ConfigError> {
        let key = env.required(
            "TAILOR_TOKEN_KEY",
            "the tokenization key (at least 16 bytes)",
        )?;
        let key = TokenKey::new(key.into_bytes()).map_err(|e| ConfigError::Invalid {
            name: "TAILOR_TOKEN_KEY",
            reason: e.to_string(),
        })?;
        Self::from_env_with_key(env, functions, model_dir, key)
    }

    /// [`Settings::from_env`] for a front end that holds the tokenization
    /// key itself (the `tailor` command keeps it in its state folder).
    ///
    /// # Errors
    /// A variable is malformed.
    pub fn from_env_with_key<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        functions: &[Function],
        model_dir: PathBuf,
        key: TokenKey,
    ) -> Result<Self, ConfigError> {
        let mut settings = Self::new(model_dir);
        settings.token_key = Some(key);
        settings.policy_overlay = env
            .get("TAILOR_POLICY_OVERLAY")
            .map(|o| o.trim().to_owned());
        if let Some(list) = env.get("TAILOR_DESTINATIONS") {
            settings.residency = Residency::only(
                list.split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
            );
        }
        if functions.contains(&Function::Ingest) {
            settings.stream_consent = env.choice(
                "TAILOR_STREAM_CONSENT",
                &[("accept", true), ("refuse", false)],
                false,
            )?;
        }
        settings.clock = env.choice(
            "TAILOR_CLOCK",
            &[("wall", ClockMode::Wall), ("arrival", ClockMode::Arrival)],
            ClockMode::Wall,
        )?;
        if functions.contains(&Function::Score) {
            let budget = env.parsed(
                "TAILOR_STORE_BUDGET_MS",
                u64::try_from(tailor_score::DEFAULT_STORE_BUDGET.as_millis()).unwrap_or(50),
            )?;
            settings.store_budget = Duration::from_millis(budget);
            if let Some(dir) = env.get("TAILOR_MODEL_DIR") {
                settings.model.dir = PathBuf::from(dir);
            }
            settings.model.engine = env.choice(
                "TAILOR_ENGINE",
                &[
                    ("auto", EngineChoice::Auto),
                    ("ort", EngineChoice::Ort),
                    ("tract", EngineChoice::Tract),
                ],
                EngineChoice::Auto,
            )?;
            settings.model.challenger = env.get("TAILOR_CHALLENGER_DIR").map(PathBuf::from);
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env<Lookup> {
        Env::of(pairs)
    }

    #[test]
    fn a_function_missing_its_variable_is_told_which() {
        let err = Settings::from_env(&env(&[]), &[Function::Ingest], PathBuf::new()).unwrap_err();
        assert!(
            err.to_string().starts_with("TAILOR_TOKEN_KEY is not set"),
            "{err}"
        );
        let err = Settings::from_env(
            &env(&[("TAILOR_TOKEN_KEY", "short")]),
            &[Function::Ingest],
            PathBuf::new(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "TAILOR_TOKEN_KEY",
                ..
            }
        ));
        // Enrich needs it too: tombstones are kept under keyed tokens.
        let err = Settings::from_env(&env(&[]), &[Function::Enrich], PathBuf::new()).unwrap_err();
        assert!(
            err.to_string().starts_with("TAILOR_TOKEN_KEY is not set"),
            "{err}"
        );
    }

    #[test]
    fn malformed_choices_name_the_variable_and_the_choices() {
        let err = Settings::from_env(
            &env(&[
                ("TAILOR_ENGINE", "gpu"),
                ("TAILOR_TOKEN_KEY", "malformed-test-key"),
            ]),
            &[Function::Score],
            PathBuf::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "TAILOR_ENGINE is not usable: \"gpu\": expected auto, ort, tract"
        );
        let err = Settings::from_env(
            &env(&[
                ("TAILOR_STORE_BUDGET_MS", "soon"),
                ("TAILOR_TOKEN_KEY", "malformed-test-key"),
            ]),
            &[Function::Score],
            PathBuf::new(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "TAILOR_STORE_BUDGET_MS",
                ..
            }
        ));
        let err = Settings::from_env(
            &env(&[
                ("TAILOR_CLOCK", "lunar"),
                ("TAILOR_TOKEN_KEY", "malformed-test-key"),
            ]),
            &[Function::Features],
            PathBuf::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("expected wall, arrival"), "{err}");
    }

    #[test]
    fn a_configuration_file_reads_like_the_environment() {
        let env =
            Env::parse("# score\nTAILOR_ENGINE = tract\n\nTAILOR_STORE_BUDGET_MS=20\nTAILOR_TOKEN_KEY=config-file-test-key\n").unwrap();
        let s = Settings::from_env(&env, &[Function::Score], PathBuf::new()).unwrap();
        assert_eq!(s.model.engine, EngineChoice::Tract);
        assert_eq!(s.store_budget, Duration::from_millis(20));
        assert_eq!(
            Env::parse("TAILOR_ENGINE\n").err().as_deref(),
            Some("line 1: expected NAME=value")
        );
    }

    #[test]
    fn a_complete_environment_configures_score() {
        let s = Settings::from_env(
            &env(&[
                ("TAILOR_STORE_BUDGET_MS", "20"),
                ("TAILOR_ENGINE", "tract"),
                ("TAILOR_MODEL_DIR", "m"),
                ("TAILOR_CHALLENGER_DIR", "c"),
                ("TAILOR_CLOCK", "arrival"),
                ("TAILOR_TOKEN_KEY", "score-test-token-key"),
            ]),
            &[Function::Score],
            PathBuf::from("default"),
        )
        .unwrap();
        assert_eq!(s.store_budget, Duration::from_millis(20));
        assert_eq!(s.model.engine, EngineChoice::Tract);
        assert_eq!(s.model.dir, PathBuf::from("m"));
        assert_eq!(s.model.challenger, Some(PathBuf::from("c")));
        assert_eq!(s.clock, ClockMode::Arrival);
        assert!(s.token_key.is_some(), "score reads tombstones too");
        let err = Settings::from_env(&env(&[]), &[Function::Score], PathBuf::new()).unwrap_err();
        assert!(
            err.to_string().starts_with("TAILOR_TOKEN_KEY is not set"),
            "{err}"
        );
    }
}
