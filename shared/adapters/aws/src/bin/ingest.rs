//! The ingest function on Lambda: Kinesis `events` in, accepted events out
//! to the `ingested` stream, poison records dead-lettered with their reason.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

use std::process::ExitCode;

use tailor_aws::config::Env;
use tailor_aws::platform::{Platform, finished, keep, startup_failed};
use tailor_aws::stream;
use tailor_core::contract::Contract;
use tailor_core::decode::Limits;
use tailor_core::ingest::Ingestor;
use tailor_core::ports::Topic;
use tailor_core::token::TokenKey;
use tailor_ingest::Ingest;

#[tokio::main]
async fn main() -> ExitCode {
    tailor_aws::init_logs();
    let env = Env::process();
    let platform = match Platform::init_with(&env).await {
        Ok(p) => keep(p),
        Err(e) => return startup_failed(&e),
    };
    let publisher = match platform.publisher(&env, &[Topic::Ingested]) {
        Ok(p) => keep(p),
        Err(e) => return startup_failed(&e),
    };
    let key = env
        .required(
            "TAILOR_TOKEN_KEY",
            "the tokenization key (at least 16 bytes)",
        )
        .map_err(|e| e.to_string())
        .and_then(|k| {
            TokenKey::new(k.into_bytes())
                .map_err(|e| format!("TAILOR_TOKEN_KEY is not usable: {e}"))
        });
    let key = match key {
        Ok(k) => k,
        Err(e) => return startup_failed(&e),
    };
    let contract = match Contract::global() {
        Ok(c) => c,
        Err(e) => return startup_failed(e),
    };
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
    finished(
        stream::serve(platform, |records| async move {
            function.handle(&records).await
        })
        .await,
    )
}
