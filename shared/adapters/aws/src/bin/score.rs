//! The score function on Lambda, behind a Function URL: decision requests
//! in, logged and explained decisions out. The model is loaded once, at
//! init; a model that does not load leaves decisions to the rules (each
//! record says so), it does not stop the function.

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tailor_aws::main(tailor_runtime::Function::Score).await
}
