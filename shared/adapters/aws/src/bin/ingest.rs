//! The ingest function on Lambda: Kinesis `events` in, accepted events out
//! to the `ingested` stream, poison records dead-lettered with their reason.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tailor_aws::main(tailor_runtime::Function::Ingest).await
}
