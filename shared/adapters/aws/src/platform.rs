//! What every Lambda entry point creates once, at init: the AWS
//! configuration, the SDK clients, and the runtime's service for its
//! function over DynamoDB and Kinesis.

use std::collections::BTreeMap;
use std::sync::Arc;

use tailor_runtime::cost::{Arch, Format, Platform as Billed, Sizing};
use tailor_runtime::{Cloud, Deployed, Env, StartupError, Wiring};

use crate::config::{self, Config, ConfigError};
use crate::deadline::Deadline;
use crate::dynamo::DynamoStore;
use crate::kinesis::KinesisPublisher;

/// A function on AWS, created once per process.
pub type Platform = Deployed<Aws>;

/// What a Lambda function keeps from its start-up.
#[derive(Debug)]
pub struct Aws {
    /// The deployment's configuration.
    pub config: Config,
    /// The current invocation's deadline, which bounds every AWS call.
    pub deadline: Arc<Deadline>,
}

impl Cloud for Aws {
    type Store = DynamoStore;
    type Publisher = KinesisPublisher;

    const COST_FORMAT: Format = Format::Emf;

    fn configure<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, StartupError> {
        Ok(Self {
            config: Config::from_env(env)?,
            deadline: Arc::new(Deadline::default()),
        })
    }

    /// Lambda tells every function its region and its memory; the
    /// architecture is the one the binary was built for.
    fn sizing<F: Fn(&str) -> Option<String>>(&self, env: &Env<F>) -> Option<Sizing> {
        Some(Sizing {
            platform: Billed::Aws,
            region: format!("aws/{}", env.get("AWS_REGION")?),
            memory_mb: env
                .get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")?
                .trim()
                .parse()
                .ok()?,
            arch: if cfg!(target_arch = "aarch64") {
                Arch::Arm64
            } else {
                Arch::X86_64
            },
            milli_vcpu: 1_000,
        })
    }

    fn deployed_name<F: Fn(&str) -> Option<String>>(&self, env: &Env<F>) -> Option<String> {
        env.get("AWS_LAMBDA_FUNCTION_NAME")
    }

    async fn connect<F: Fn(&str) -> Option<String>>(
        &self,
        env: &Env<F>,
        wiring: Wiring,
    ) -> Result<(DynamoStore, KinesisPublisher), StartupError> {
        let streams = wiring
            .outputs
            .iter()
            .map(|t| Ok((*t, config::stream(env, *t)?)))
            .collect::<Result<BTreeMap<_, _>, ConfigError>>()?;
        let sdk = config::sdk(env, self.config.max_attempts)?;
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            self.config.table_prefix.clone(),
            Arc::clone(&self.deadline),
        );
        let publisher = KinesisPublisher::new(
            aws_sdk_kinesis::Client::new(&sdk),
            streams,
            Arc::clone(&self.deadline),
            self.config.max_attempts,
        );
        Ok((store, publisher))
    }
}
