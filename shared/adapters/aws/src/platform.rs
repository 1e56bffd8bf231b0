//! What every Lambda entry point creates once, at init: the AWS
//! configuration, the SDK clients, the store and publisher, and the
//! runtime's functions over them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::ports::Clock;
use tailor_runtime::{
    Capabilities, Env, ExpiryClock, Function, Functions, Settings, Stage, StartupError, TokioTimer,
};

use crate::config::{self, Config, ConfigError};
use crate::deadline::Deadline;
use crate::dynamo::DynamoStore;
use crate::kinesis::KinesisPublisher;

/// The functions on AWS.
pub type AwsFunctions = Functions<DynamoStore, KinesisPublisher, TokioTimer>;

/// The platform, created once per process.
#[derive(Debug)]
pub struct Platform {
    /// The deployment's configuration.
    pub config: Config,
    /// The current invocation's deadline, which bounds every AWS call.
    pub deadline: Arc<Deadline>,
    /// The functions over DynamoDB and Kinesis.
    pub functions: AwsFunctions,
    /// Whether the ingest stream's producers may change consent
    /// (`TAILOR_STREAM_CONSENT`).
    pub stream_consent: bool,
}

/// The model directory a Lambda package carries: `models/conversion-v1`
/// beside the binary.
#[must_use]
pub fn packaged_model_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("models/conversion-v1")))
        .unwrap_or_else(|| PathBuf::from("models/conversion-v1"))
}

/// The topics a function publishes to.
const fn outputs(function: Function) -> &'static [tailor_core::ports::Topic] {
    match function {
        Function::Ingest => Stage::Ingest.outputs(),
        Function::Enrich => Stage::Enrich.outputs(),
        Function::Features | Function::Consent | Function::Score => &[],
    }
}

impl Platform {
    /// Reads the process environment and creates the clients for `function`.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing.
    pub async fn init(function: Function) -> Result<Self, StartupError> {
        Self::init_with(&Env::configured()?, function).await
    }

    /// As [`Platform::init`], reading variables through `env`.
    ///
    /// # Errors
    /// [`StartupError`] naming what is missing.
    pub async fn init_with<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        function: Function,
    ) -> Result<Self, StartupError> {
        let config = Config::from_env(env)?;
        let settings = Settings::from_env(env, &[function], packaged_model_dir())?;
        let streams = outputs(function)
            .iter()
            .map(|t| Ok((*t, config::stream(env, *t)?)))
            .collect::<Result<BTreeMap<_, _>, ConfigError>>()?;
        let sdk = crate::sdk_config(config.max_attempts).await;
        let deadline = Arc::new(Deadline::default());
        let clock = ExpiryClock::new(settings.clock);
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_prefix.clone(),
            Arc::clone(&deadline),
        )
        .with_clock(Arc::new(clock.clone()) as Arc<dyn Clock>);
        let publisher = KinesisPublisher::new(
            aws_sdk_kinesis::Client::new(&sdk),
            streams,
            Arc::clone(&deadline),
            config.max_attempts,
        );
        let functions = Functions::build(
            &settings,
            &[function],
            Capabilities {
                store,
                publisher,
                timer: TokioTimer,
                clock,
            },
        )?;
        Ok(Self {
            config,
            deadline,
            functions,
            stream_consent: settings.stream_consent,
        })
    }
}

impl tailor_runtime::http::Backend for Platform {
    type Store = DynamoStore;
    type Publisher = KinesisPublisher;
    type Timer = TokioTimer;

    fn functions(&self) -> &AwsFunctions {
        &self.functions
    }

    /// Ingest alone: on AWS the later stages run from their own streams.
    async fn accept(&self, records: Vec<Record>) -> BatchOutcome {
        self.functions.invoke(Stage::Ingest, &records).await
    }
}
