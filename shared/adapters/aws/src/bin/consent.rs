//! The consent function on Lambda: the `consent-changes` stream in; the
//! ledger updated, and revocations and erasures applied to stored state.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

use std::process::ExitCode;

use tailor_aws::platform::{Platform, finished, keep, startup_failed};
use tailor_aws::stream;
use tailor_consent::Consent;

#[tokio::main]
async fn main() -> ExitCode {
    tailor_aws::init_logs();
    let platform = match Platform::init().await {
        Ok(p) => keep(p),
        Err(e) => return startup_failed(&e),
    };
    let function = keep(Consent {
        policy: &platform.policy,
        store: &platform.store,
    });
    finished(
        stream::serve(platform, |records| async move {
            function.handle(&records).await
        })
        .await,
    )
}
