//! The enrich function on Lambda: the `ingested` stream in, events resolved
//! to profiles out to `enriched`, consent changes to `consent-changes`.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

use std::process::ExitCode;

use tailor_aws::config::Env;
use tailor_aws::platform::{Platform, finished, keep, startup_failed};
use tailor_aws::stream;
use tailor_core::ports::Topic;
use tailor_enrich::Enrich;

#[tokio::main]
async fn main() -> ExitCode {
    tailor_aws::init_logs();
    let env = Env::process();
    let platform = match Platform::init_with(&env).await {
        Ok(p) => keep(p),
        Err(e) => return startup_failed(&e),
    };
    let publisher = match platform.publisher(&env, &[Topic::Enriched, Topic::ConsentChanges]) {
        Ok(p) => keep(p),
        Err(e) => return startup_failed(&e),
    };
    let function = keep(Enrich {
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
