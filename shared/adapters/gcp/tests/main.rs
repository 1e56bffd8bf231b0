//! The Google Cloud adapter's tests against Google's emulators: one test binary, so the
//! crate and its dependencies are linked once for all of them.

mod support;

mod oidc;
mod pipeline;
mod services;
mod store;
