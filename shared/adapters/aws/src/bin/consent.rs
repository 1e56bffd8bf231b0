//! The consent function on Lambda: the `consent-changes` stream in; the
//! ledger updated, and revocations and erasures applied to stored state.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tailor_aws::main(tailor_runtime::Function::Consent).await
}
