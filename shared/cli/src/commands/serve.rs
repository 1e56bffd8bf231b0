//! `tailor serve`: the local platform behind the HTTP API
//! ([`tailor_runtime::http`]), every route.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tailor_local::LocalPlatform;
use tailor_runtime::ClockMode;
use tailor_runtime::http::Routes;

use super::decide::EngineArg;

/// `tailor serve`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which engine runs the model.
    #[arg(long, value_enum, default_value = "auto")]
    engine: EngineArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Where state is kept.
    #[arg(long, default_value = ".tailor/state.redb")]
    state: PathBuf,
}

/// Serves until interrupted.
///
/// # Errors
/// The state cannot be opened or the address cannot be bound.
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let dir = super::state_dir(&args.state);
    std::fs::create_dir_all(&dir)?;
    let settings = super::settings(
        tailor_local::key::token_key(&dir)?,
        ClockMode::Wall,
        args.engine,
    )?;
    let platform = LocalPlatform::open(Some(&args.state), &settings, &super::ALL)?;
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    eprintln!(
        "tailor serve: listening on http://{}",
        listener.local_addr()?
    );
    tailor_runtime::http::serve(listener, Arc::new(platform), Routes::ALL, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
