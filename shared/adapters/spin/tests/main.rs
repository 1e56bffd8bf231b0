//! The Spin adapter's tests, natively and as WebAssembly components: one test binary, so the
//! crate and its dependencies are linked once for all of them.

mod support;

mod api;
mod manifest;
mod pipeline;
mod store;
mod wasm;
