//! The enrich function on Lambda: the `ingested` stream in, events resolved
//! to profiles out to `enriched`, consent changes to `consent-changes`.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tailor_aws::main(tailor_runtime::Function::Enrich).await
}
