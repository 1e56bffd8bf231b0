//! The consent function on Lambda: the `consent-changes` stream in; the
//! ledger updated, and revocations and erasures applied to stored state.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

use std::process::ExitCode;

use tailor_aws::platform::{Platform, Run, exit, keep};
use tailor_aws::stream;
use tailor_consent::Consent;

async fn run() -> Run {
    let platform = keep(Platform::init().await?);
    let function = keep(Consent {
        policy: &platform.policy,
        store: &platform.store,
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
