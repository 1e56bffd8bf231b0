//! Tailor's Spin component: one WebAssembly component for every function,
//! each Spin component of the application choosing its function by the
//! `function` variable. All it holds is the export Spin's HTTP trigger
//! calls; the platform is `tailor-spin`.
//!
//! Built for `wasm32-wasip2` (`infra/spin/build.sh`); on other targets the
//! crate is empty, since a native link of the export fails.

#![cfg(target_arch = "wasm32")]

/// Spin's HTTP trigger calls this once per request, in a fresh instance.
#[spin_sdk::http_component]
async fn handle(request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    tailor_spin::host::serve(request).await
}
