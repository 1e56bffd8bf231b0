//! The score function behind a Lambda Function URL (IAM-authenticated):
//! the runtime's HTTP API ([`tailor_runtime::http`]) with score's routes,
//! `POST /v1/decide` and `GET /v1/decisions/{id}`. This module only turns
//! Function URL events into HTTP requests and responses back.

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use base64::Engine;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::json;
use tailor_runtime::Function;
use tailor_runtime::http::{Access, Api, Backend, Decided, Routes, handle, reply};

use crate::platform::Platform;

/// The HTTP request a Function URL event carries.
///
/// # Errors
/// The body is not valid base64, or the method or path is not HTTP.
pub fn request(event: &LambdaFunctionUrlRequest) -> Result<http::Request<Vec<u8>>, String> {
    let body = event.body.as_deref().unwrap_or_default();
    let body = if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("body is not valid base64: {e}"))?
    } else {
        body.as_bytes().to_vec()
    };
    let method = event
        .request_context
        .http
        .method
        .as_deref()
        .unwrap_or("GET");
    let path = event.raw_path.as_deref().unwrap_or("/");
    let uri = match event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(body)
        .map_err(|e| e.to_string())?;
    *request.headers_mut() = event.headers.clone();
    Ok(request)
}

/// The Function URL response for an HTTP response.
#[must_use]
pub fn response(response: http::Response<Vec<u8>>) -> LambdaFunctionUrlResponse {
    let (parts, body) = response.into_parts();
    let mut out = LambdaFunctionUrlResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    match String::from_utf8(body) {
        Ok(text) => out.body = Some(text),
        Err(e) => {
            out.body = Some(base64::engine::general_purpose::STANDARD.encode(e.into_bytes()));
            out.is_base64_encoded = true;
        }
    }
    out
}

/// Answers one Function URL event, and says which decision it made, if
/// any. The Function URL's IAM auth has authenticated the caller before the
/// event reaches the function.
pub async fn route<B: Backend>(
    backend: &B,
    event: &LambdaFunctionUrlRequest,
) -> (LambdaFunctionUrlResponse, Option<String>) {
    let api = Api {
        routes: Routes::SCORE,
        access: Access::platform(),
    };
    match request(event) {
        Ok(r) => {
            let answered = handle(backend, &api, r).await;
            let decided = answered.extensions().get::<Decided>().map(|d| d.0.clone());
            (response(answered), decided)
        }
        Err(e) => (
            response(reply(
                http::StatusCode::UNPROCESSABLE_ENTITY,
                &json!({"error": e}),
            )),
            None,
        ),
    }
}

/// Runs the score function: each invocation's deadline bounds the store
/// calls, and its report and cost record are logged.
///
/// # Errors
/// The Runtime API could not be reached.
pub async fn serve(platform: &'static Platform) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<LambdaFunctionUrlRequest>| async move {
            let began = std::time::Instant::now();
            platform
                .cloud
                .deadline
                .set_from_epoch_millis(event.context.deadline);
            let (answer, decided) = route(&platform.service, &event.payload).await;
            let mut report = platform.service.functions.answered(Function::Score);
            report.decision_id = decided;
            platform.report(&report, began, &event.context.request_id);
            Ok::<_, lambda_runtime::Error>(answer)
        },
    ))
    .await
}
