//! The smallest Lambda function on the same runtime as Tailor's functions:
//! it answers every event with the event itself. The cold-start benchmark
//! (`benches/cold_start.rs`) measures it as the baseline, the cost of the
//! runtime alone, without SDK clients, policy or model.
//!
//! ```sh
//! cargo build --release -p tailor-aws --example hello
//! ```

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(echo)).await
}
