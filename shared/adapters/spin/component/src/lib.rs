//! Tailor's Spin components: the export Spin's HTTP trigger calls, over
//! `tailor-spin`, the platform. Each Spin component of the application
//! chooses its function by the `function` variable, among those its build
//! holds: `infra/spin/build.sh` builds this crate once with the `stream`
//! feature (ingest, enrich, features and consent; no model engine) and once
//! with `score`.
//!
//! Built for `wasm32-wasip2`; on other targets the crate is empty, since a
//! native link of the export fails.

#![cfg(target_arch = "wasm32")]

/// Spin's HTTP trigger calls this once per request, in a fresh instance.
#[spin_sdk::http_component]
async fn handle(request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    tailor_spin::host::serve(request).await
}
