//! The AWS adapter's tests against moto and the Lambda Runtime API: one test binary, so the
//! crate and its dependencies are linked once for all of them.

mod support;

mod lambda;
mod packages;
mod pipeline;
mod slow_lane;
mod store;
