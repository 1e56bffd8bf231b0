//! The slow lane's scheduled batch job on Lambda: the offline log in S3
//! in, every profile's long-horizon features and batch scores kept in
//! DynamoDB.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tailor_aws::slow_lane::main().await
}
