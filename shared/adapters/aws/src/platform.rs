//! What every Lambda entry point creates once, at init: configuration, the
//! SDK clients, the store, the policy bundle.

use std::collections::BTreeMap;
use std::sync::Arc;

use tailor_core::policy::Policy;
use tailor_core::ports::{Metered, Topic};
use tailor_core::report::InvocationReport;

use crate::config::{Config, ConfigError, Env};
use crate::deadline::Deadline;
use crate::dynamo::DynamoStore;
use crate::kinesis::KinesisPublisher;

/// Why a function could not start. Reported once, at init, and the process
/// exits: Lambda shows it as an init error with this message.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The environment is incomplete.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The bundled policy or catalog does not load.
    #[error("policy bundle: {0}")]
    Policy(String),
    /// Other set-up failed.
    #[error("{0}")]
    Other(String),
}

/// The platform, created once per process.
#[derive(Debug)]
pub struct Platform {
    /// The deployment's configuration.
    pub config: Config,
    /// The SDK's shared configuration.
    pub sdk: aws_config::SdkConfig,
    /// The current invocation's deadline.
    pub deadline: Arc<Deadline>,
    /// State.
    pub store: Metered<DynamoStore>,
    /// The policy bundle.
    pub policy: Policy,
    /// With `TAILOR_CLOCK=arrival`: the clock items expire by, moved by the
    /// records' arrival times.
    pub arrival: Option<Arc<ArrivalClock>>,
}

/// Expiry time taken from the records: the latest arrival time seen, which
/// in a live deployment trails the wall clock by seconds. For replaying a
/// historical stream (a backfill, the conformance cases), where expiring by
/// the wall clock would drop state that was live when the events arrived;
/// the local platform's replays do the same.
#[derive(Debug, Default)]
pub struct ArrivalClock(std::sync::atomic::AtomicI64);

impl ArrivalClock {
    /// Moves the clock to `t` if that is later.
    pub fn advance(&self, t: tailor_core::Timestamp) {
        self.0
            .fetch_max(t.as_millis(), std::sync::atomic::Ordering::Relaxed);
    }
}

impl tailor_core::ports::Clock for ArrivalClock {
    fn now(&self) -> tailor_core::Timestamp {
        tailor_core::Timestamp::from_millis(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl Platform {
    /// Reads the environment and creates the clients.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing.
    pub async fn init() -> Result<Self, StartupError> {
        Self::init_with(&Env::process()).await
    }

    /// As [`Platform::init`], reading variables through `env`.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing.
    pub async fn init_with<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
    ) -> Result<Self, StartupError> {
        let config = env.config()?;
        let policy = Policy::shipped().map_err(|e| StartupError::Policy(e.to_string()))?;
        let sdk = crate::sdk_config(config.max_attempts).await;
        let deadline = Arc::new(Deadline::default());
        let mut store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_prefix.clone(),
            Arc::clone(&deadline),
        );
        let arrival = match (env.0)("TAILOR_CLOCK").as_deref().map(str::trim) {
            None | Some("" | "wall") => None,
            Some("arrival") => Some(Arc::new(ArrivalClock::default())),
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "TAILOR_CLOCK",
                    reason: format!("{other:?}: expected wall or arrival"),
                }
                .into());
            }
        };
        if let Some(clock) = &arrival {
            store = store.with_clock(Arc::clone(clock) as Arc<dyn tailor_core::ports::Clock>);
        }
        Ok(Self {
            config,
            sdk,
            deadline,
            store: Metered::new(store),
            policy,
            arrival,
        })
    }

    /// A publisher for `topics`, each to the stream its variable names.
    ///
    /// # Errors
    /// A stream variable is missing.
    pub fn publisher<F: Fn(&str) -> Option<String>>(
        &self,
        env: &Env<F>,
        topics: &[Topic],
    ) -> Result<KinesisPublisher, ConfigError> {
        let streams = topics
            .iter()
            .map(|t| Ok((*t, env.stream(*t)?)))
            .collect::<Result<BTreeMap<_, _>, ConfigError>>()?;
        Ok(KinesisPublisher::new(
            aws_sdk_kinesis::Client::new(&self.sdk),
            streams,
            Arc::clone(&self.deadline),
            self.config.max_attempts,
        ))
    }

    /// Adds the capacity units used since the last call to `report`.
    pub fn account(&self, report: &mut InvocationReport) {
        let units = self.store.inner().take_capacity();
        report.read_capacity_units += units.read_units;
        report.write_capacity_units += units.write_units;
    }
}

/// Leaks `value` for the life of the process: what Lambda entry points do
/// with what they create at init.
pub fn keep<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// What an entry point's `run` returns: start-up failed, or the invocation
/// loop ended (the Runtime API went away or refused the process).
pub type Run = Result<Result<(), lambda_runtime::Error>, StartupError>;

/// Reports how an entry point ended and gives its exit code.
#[must_use]
pub fn exit(run: Run) -> std::process::ExitCode {
    match run {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "runtime loop ended");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!(error = %e, "function could not start");
            eprintln!("tailor: function could not start: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
