//! The HTTP API on axum, for native platforms that listen on a socket
//! (`tailor serve`, Cloud Run).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::json;

use super::{Api, Backend, MAX_BODY, handle, reply};

struct App<B> {
    backend: Arc<B>,
    api: Api,
}

async fn answer<B: Backend>(State(app): State<Arc<App<B>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read no more than the limit, whatever the client declared.
    let response = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            let request = http::Request::from_parts(parts, bytes.to_vec());
            handle(app.backend.as_ref(), &app.api, request).await
        }
        Err(_) => reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": "request body too large"}),
        ),
    };
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// A router that answers every request through [`handle`], reading at
/// most [`MAX_BODY`] bytes of a body.
pub fn router<B: Backend + 'static>(backend: Arc<B>, api: Api) -> Router {
    Router::new()
        .fallback(answer::<B>)
        .with_state(Arc::new(App { backend, api }))
}

/// Serves the API on `listener` until `shutdown` completes.
///
/// # Errors
/// The listener fails.
pub async fn serve<B: Backend + 'static>(
    listener: tokio::net::TcpListener,
    backend: Arc<B>,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(backend, api))
        .with_graceful_shutdown(shutdown)
        .await
}
