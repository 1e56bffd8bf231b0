//! `tailor serve`: the local platform behind the HTTP API
//! ([`tailor_runtime::http`]), every route, for callers with an API key
//! (`tailor keys new` makes one).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tailor_local::LocalPlatform;
use tailor_runtime::ClockMode;
use tailor_runtime::http::{Access, Api, ApiKey, Routes};

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
    /// The API keys file: one `name sha256-hex scope,scope,…` per line
    /// (`tailor keys new` appends to it).
    #[arg(long, env = "TAILOR_API_KEYS_FILE", default_value = ".tailor/api-keys")]
    api_keys: PathBuf,
    /// A browser origin allowed to call the API (`https://shop.example`); repeatable.
    #[arg(
        long = "allow-origin",
        env = "TAILOR_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allow_origin: Vec<String>,
    /// Serve without keys: refused unless the address is loopback.
    #[arg(long)]
    no_auth: bool,
}

/// Who may call the server.
fn access(args: &Args, addr: std::net::SocketAddr) -> anyhow::Result<Access> {
    let access = if args.no_auth {
        if !addr.ip().is_loopback() {
            anyhow::bail!("--no-auth is only allowed on a loopback address, not {addr}");
        }
        eprintln!(
            "tailor serve: WARNING: no API keys: anyone who can reach {addr} may read and change state (development only)"
        );
        Access::open()
    } else {
        let text = std::fs::read_to_string(&args.api_keys).with_context(|| {
            format!(
                "reading API keys from {} (create one with `tailor keys new`, or pass --no-auth on loopback)",
                args.api_keys.display()
            )
        })?;
        let keys = ApiKey::parse_all(&text)
            .with_context(|| format!("API keys in {}", args.api_keys.display()))?;
        if keys.is_empty() {
            anyhow::bail!("{} holds no API keys", args.api_keys.display());
        }
        Access::keys(keys)
    };
    Ok(access.with_origins(args.allow_origin.iter().cloned()))
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
    platform.track_exports(&dir.join(tailor_local::offline::purge::EXPORTS));
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    let api = Api {
        routes: Routes::ALL,
        access: access(args, addr)?,
    };
    eprintln!("tailor serve: listening on http://{addr}");
    tailor_runtime::http::serve(listener, Arc::new(platform), api, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
