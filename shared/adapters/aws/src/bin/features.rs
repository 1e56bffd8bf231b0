//! The features function on Lambda: the `enriched` stream in, each
//! profile's feature inputs and online features kept in DynamoDB.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tailor_aws::main(tailor_runtime::Function::Features).await
}
