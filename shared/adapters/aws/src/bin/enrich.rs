//! The enrich function on Lambda: the `ingested` stream in, events resolved
//! to profiles out to `enriched`, consent changes to `consent-changes`.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

use std::process::ExitCode;

use tailor_aws::config::Env;
use tailor_aws::platform::{Platform, Run, exit, keep};
use tailor_aws::stream;
use tailor_core::ports::Topic;
use tailor_enrich::Enrich;

async fn run() -> Run {
    let env = Env::process();
    let platform = keep(Platform::init_with(&env).await?);
    let publisher = keep(platform.publisher(&env, &[Topic::Enriched, Topic::ConsentChanges])?);
    let function = keep(Enrich {
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
