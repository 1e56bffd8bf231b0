//! The score function behind a Lambda Function URL (IAM-authenticated).
//!
//! Routes, as on the local server:
//! - `POST /v1/decide`: a decision request → the logged decision (200), the
//!   decision with an error if it could not be logged (503), or a typed
//!   error for a malformed request (422);
//! - `GET /v1/decisions/{id}`: a logged decision (200) or 404.

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use base64::Engine;
use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::decode::{Limits, decode};
use tailor_core::ports::{Store, Timer};
use tailor_core::score::DecisionRequest;
use tailor_score::Score;

/// The core's timer port on tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep(&self, duration: std::time::Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

fn reply(status: i64, body: &Value) -> LambdaFunctionUrlResponse {
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = status;
    response.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response.body = Some(body.to_string());
    response
}

fn body_of(request: &LambdaFunctionUrlRequest) -> Result<Vec<u8>, String> {
    let body = request.body.as_deref().unwrap_or_default();
    if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("body is not valid base64: {e}"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// Answers one Function URL request.
pub async fn route<S: Store, T: Timer>(
    score: &Score<'_, S, T>,
    request: &LambdaFunctionUrlRequest,
    now: Timestamp,
) -> LambdaFunctionUrlResponse {
    let method = request
        .request_context
        .http
        .method
        .as_deref()
        .unwrap_or("GET");
    let path = request.raw_path.as_deref().unwrap_or("/");
    match (method, path) {
        ("POST", "/v1/decide") => {
            let parsed = body_of(request).and_then(|bytes| {
                decode(&bytes, Limits::default())
                    .map_err(|e| e.to_string())
                    .and_then(|v| {
                        serde_json::from_value::<DecisionRequest>(v).map_err(|e| e.to_string())
                    })
            });
            let decision_request = match parsed {
                Ok(r) => r,
                Err(e) => return reply(422, &json!({"error": e})),
            };
            let (record, logged) = score.decide(&decision_request, now).await;
            match logged {
                Ok(()) => reply(200, &json!(record)),
                Err(e) => {
                    tracing::warn!(error = %e, "decision not logged");
                    reply(
                        503,
                        &json!({"error": "decision not logged", "decision": record}),
                    )
                }
            }
        }
        ("GET", p) if p.starts_with("/v1/decisions/") => {
            let id = &p["/v1/decisions/".len()..];
            match score.fetch(id).await {
                Ok(Some(record)) => reply(200, &json!(record)),
                Ok(None) => reply(404, &json!({"error": "no such decision"})),
                Err(e) => {
                    tracing::warn!(error = %e, "decision lookup failed");
                    reply(503, &json!({"error": "store unavailable"}))
                }
            }
        }
        (_, "/v1/decide") => reply(405, &json!({"error": "use POST"})),
        _ => reply(404, &json!({"error": "no such route"})),
    }
}
