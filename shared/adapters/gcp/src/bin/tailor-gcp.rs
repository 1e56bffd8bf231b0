//! Every function on Cloud Run: `tailor-gcp <function>`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tailor_gcp::main().await
}
