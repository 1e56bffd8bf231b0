//! The ingest function on Lambda: Kinesis `events` in, accepted events out
//! to the `ingested` stream, poison records dead-lettered with their reason.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

use std::process::ExitCode;

use tailor_aws::config::Env;
use tailor_aws::platform::{Platform, Run, StartupError, exit, keep};
use tailor_aws::stream;
use tailor_core::contract::Contract;
use tailor_core::decode::Limits;
use tailor_core::ingest::Ingestor;
use tailor_core::ports::Topic;
use tailor_core::token::TokenKey;
use tailor_ingest::Ingest;

async fn run() -> Run {
    let env = Env::process();
    let platform = keep(Platform::init_with(&env).await?);
    let publisher = keep(platform.publisher(&env, &[Topic::Ingested])?);
    let key = env.required(
        "TAILOR_TOKEN_KEY",
        "the tokenization key (at least 16 bytes)",
    )?;
    let key = TokenKey::new(key.into_bytes())
        .map_err(|e| StartupError::Other(format!("TAILOR_TOKEN_KEY is not usable: {e}")))?;
    let contract = Contract::global().map_err(|e| StartupError::Other(e.to_string()))?;
    let ingestor = keep(Ingestor::new(
        contract,
        &platform.policy,
        Limits::default(),
        key,
    ));
    let function = keep(Ingest {
        ingestor,
        policy: &platform.policy,
        store: &platform.store,
        publisher,
    });
    Ok(stream::serve(platform, |records| async move {
        function.handle(&records).await
    })
    .await)
}

#[tokio::main]
async fn main() -> ExitCode {
    tailor_aws::init_logs();
    exit(run().await)
}
