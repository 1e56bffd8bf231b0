//! Tailor on Google Cloud: every function as a Cloud Run service, Firestore
//! behind the core's [`Store`](tailor_core::ports::Store) port and Pub/Sub
//! behind its [`Publisher`](tailor_core::ports::Publisher) port.
//!
//! The function crates hold the logic and the runtime (`tailor-runtime`)
//! composes them; this crate holds only what is Google's:
//!
//! - [`push`]: one Pub/Sub message per request (push subscriptions'
//!   wrapped body, or an Eventarc CloudEvent), its disposition back as the
//!   acknowledging status or not.
//! - [`pull`]: streaming pull in batches, for high-volume stages, each
//!   message acknowledged by the same rule as push.
//! - [`oidc`]: the push requests' OIDC tokens, verified when configured.
//! - [`firestore`]: the store, on Firestore's REST API, with preconditions
//!   on update times, a TTL field on every document, batched reads, and
//!   document reads, writes and deletes metered.
//! - [`pubsub`]: the official client's publisher, ordering key = person or
//!   profile, only the failed messages sent again.
//! - [`platform`]: what every service creates once, at start-up.
//! - [`config`]: the Google Cloud variables.
//!
//! One binary, `tailor-gcp`, runs every function, chosen by its first
//! argument: [`main`].

// The functions' futures nest deeply (store calls inside steps inside the runtime loop).
#![recursion_limit = "256"]

pub mod config;
pub mod firestore;
pub mod oidc;
pub mod platform;
pub mod pubsub;
pub mod pull;
pub mod push;

pub use config::{Config, ConfigError};
pub use firestore::FirestoreStore;
pub use platform::Platform;
pub use pubsub::PubSubPublisher;

use std::sync::Arc;

use tailor_runtime::http::{self, ServeLimits};
use tailor_runtime::startup::{Run, exit, keep};
use tailor_runtime::{Function, StartupError};

/// The function a service runs, by its name (`ingest`, `enrich`, …).
///
/// # Errors
/// A name that is no function's, with the names there are.
pub fn function_named(name: &str) -> Result<Function, StartupError> {
    Function::named(name).ok_or_else(|| {
        let names: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
        StartupError::Other(format!(
            "the first argument names the function to run: one of {}, not {name:?}",
            names.join(", ")
        ))
    })
}

/// Serves `function` until the process is told to stop (Cloud Run sends
/// SIGTERM, then waits for requests in flight), under the runtime's limits
/// on slow and flooding clients.
async fn run(function: Function) -> Run<std::io::Error> {
    let platform = Platform::init(function).await?;
    let port = platform.cloud.port;
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .map_err(|e| StartupError::Other(format!("listen on port {port}: {e}")))?;
    tracing::info!(function = function.name(), port, "serving");
    let limits = ServeLimits::default();
    let Some(stage) = function.stage() else {
        // Score: each decision logs its own report and cost record.
        let access = match &platform.cloud.api_keys {
            Some(keys) => http::Access::keys(keys.clone()),
            None => http::Access::platform(),
        };
        let api = http::Api {
            routes: http::Routes::SCORE,
            access,
        };
        return Ok(http::serve_with(listener, Arc::new(platform), api, limits, stopped()).await);
    };
    let Platform {
        cloud: config,
        service,
        cost,
    } = platform;
    let cost = cost.map(keep);
    Ok(match config.pull.clone() {
        Some(pull) => {
            let subscriber = pull::subscriber(config.pubsub_emulator.as_deref())
                .await
                .map_err(StartupError::Other)?;
            // Cloud Run keeps an instance that listens: a pulling service
            // answers its health check and nothing else.
            let health = axum::Router::new().route(
                "/healthz",
                axum::routing::get(async || axum::Json(serde_json::json!({"status": "ok"}))),
            );
            tracing::info!(subscription = %pull.subscription, "pulling");
            tokio::select! {
                served = http::serve_router(listener, health, limits, std::future::pending()) => served,
                pulled = pull::run(keep(service), cost, stage, &subscriber, &pull, stopped()) => {
                    pulled.map_err(std::io::Error::other)
                }
            }
        }
        None => {
            let verifier = config.push_auth.as_ref().map(oidc::PushVerifier::new);
            let router = push::router(keep(service), cost, stage, verifier);
            let limits = ServeLimits {
                max_body: push::MAX_PUSH_BODY,
                ..limits
            };
            http::serve_router(listener, router, limits, stopped()).await
        }
    })
}

/// Resolves when the process is asked to stop: SIGTERM (Cloud Run) or Ctrl-C.
async fn stopped() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The entry point: logs for Cloud Logging (JSON), the function named by
/// the first argument, the platform built at start-up (a start-up error is
/// logged with what is missing), then serving until SIGTERM.
pub async fn main() -> std::process::ExitCode {
    tailor_runtime::logs::init(tailor_runtime::logs::LogTarget::Collector);
    let name = std::env::args().nth(1).unwrap_or_default();
    let run = match function_named(&name) {
        Ok(function) => run(function).await,
        Err(e) => Err(e),
    };
    exit(run)
}
