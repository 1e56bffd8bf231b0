//! A missing ONNX Runtime library is an error naming the fix, not a panic.
//! (Its own test binary: the library is loaded once per process.)

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use tailor_model::{ModelError, OrtEngine};

#[test]
fn a_missing_library_is_a_clear_error() {
    let err = OrtEngine::new(
        std::path::Path::new("/nonexistent/libonnxruntime.so"),
        b"",
        12,
    )
    .unwrap_err();
    let ModelError::Library(message) = err else {
        panic!("expected a library error, got {err:?}")
    };
    assert!(message.contains("fetch.sh"), "{message}");
}
