//! The HTTP API on hyper, for native platforms that listen on a socket
//! (`tailor serve`, Cloud Run): [`serve`] for the API, [`serve_router`] for
//! a platform's own routes (Pub/Sub push), under the same limits.
//!
//! A slow or flooding client cannot take the server down: every limit is
//! one field of [`ServeLimits`], with these defaults.
//!
//! - **Header timeout**, [`HEADER_TIMEOUT`] (10 s): a request's head must
//!   arrive within it, counted from when the connection opens or goes idle
//!   after a response. A client that stalls mid-header is disconnected,
//!   and so is a keep-alive connection idle that long, so neither holds a
//!   connection slot for longer.
//! - **Body timeout**, [`BODY_TIMEOUT`] (30 s): once its head is read, a
//!   request's whole body (at most [`MAX_BODY`]) must arrive within it, or
//!   the answer is 408 and the connection is closed.
//! - **Connection cap**, [`MAX_CONNECTIONS`] (512): connections open at
//!   once. Past it the server stops accepting: new connections wait in the
//!   listen queue, in order, and each is served as an open one closes
//!   (which the timeouts above guarantee happens), so `/healthz` is queued
//!   behind a flood, never starved by it.
//!
//! Shutting down stops accepting, lets each open connection finish the
//! request it is serving, and waits for them for at most the two timeouts
//! together.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::{Api, Backend, MAX_BODY, handle, reply};

/// How long a client may take to send a request's head: see the module
/// documentation.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's body once its head is
/// read.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many connections are served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 512;

/// What a client may hold of the server: time to send a request, and
/// connections open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Time for a request's head, from the connection opening or going idle.
    pub header_timeout: Duration,
    /// Time for a request's whole body, once its head is read.
    pub body_timeout: Duration,
    /// Connections open at once (at least one is always allowed).
    pub max_connections: usize,
    /// A request's body, in bytes: [`MAX_BODY`] for the API; a platform's
    /// own routes may take what its transport sends at most.
    pub max_body: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_body: MAX_BODY,
        }
    }
}

struct App<B> {
    backend: Arc<B>,
    api: Api,
    limits: ServeLimits,
}

/// A request's body, read up to the limits' `max_body` bytes within the body
/// timeout, however slowly it is sent and whatever length it declared; or
/// the answer that refuses it (413, or 408 closing the connection).
async fn read_body(
    limits: &ServeLimits,
    request: Request,
) -> Result<(http::request::Parts, axum::body::Bytes), Response> {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_body),
    );
    let refusal = match read.await {
        Ok(Ok(bytes)) => return Ok((parts, bytes)),
        Ok(Err(_)) => reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": "request body too large"}),
        ),
        Err(_) => {
            let mut r = reply(
                StatusCode::REQUEST_TIMEOUT,
                &json!({"error": "request body not received in time"}),
            );
            // What is left of the body is not read: the connection ends.
            r.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            r
        }
    };
    let (parts, body) = refusal.into_parts();
    Err(Response::from_parts(parts, Body::from(body)))
}

/// Answers one request: its body read within the limits, then [`handle`].
async fn respond<B: Backend>(app: &App<B>, request: Request) -> Response {
    match read_body(&app.limits, request).await {
        Ok((parts, bytes)) => {
            let request = http::Request::from_parts(parts, bytes.to_vec());
            let (parts, body) = handle(app.backend.as_ref(), &app.api, request)
                .await
                .into_parts();
            Response::from_parts(parts, Body::from(body))
        }
        Err(refusal) => refusal,
    }
}

/// Hands `next` the request with its body already read within `limits`.
async fn bounded_body(
    State(limits): State<ServeLimits>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    match read_body(&limits, request).await {
        Ok((parts, bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(refusal) => refusal,
    }
}

async fn answer<B: Backend>(State(app): State<Arc<App<B>>>, request: Request) -> Response {
    respond(&app, request).await
}

/// A router that answers every request through [`handle`], reading at
/// most [`MAX_BODY`] bytes of a body within [`BODY_TIMEOUT`]. Whoever
/// serves it sets the header timeout and connection cap; [`serve`] does.
pub fn router<B: Backend + 'static>(backend: Arc<B>, api: Api) -> Router {
    Router::new()
        .fallback(answer::<B>)
        .with_state(Arc::new(App {
            backend,
            api,
            limits: ServeLimits::default(),
        }))
}

/// Serves the API on `listener` with the default [`ServeLimits`] until
/// `shutdown` completes.
///
/// # Errors
/// None at present: a failed accept is logged and tried again.
pub async fn serve<B: Backend + 'static>(
    listener: tokio::net::TcpListener,
    backend: Arc<B>,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, backend, api, ServeLimits::default(), shutdown).await
}

/// Serves the API on `listener` within `limits` until `shutdown`
/// completes, then lets open connections finish (see the module
/// documentation).
///
/// # Errors
/// None at present: a failed accept is logged and tried again.
pub async fn serve_with<B: Backend + 'static>(
    listener: tokio::net::TcpListener,
    backend: Arc<B>,
    api: Api,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Arc::new(App {
        backend,
        api,
        limits,
    });
    let router = Router::new().fallback(answer::<B>).with_state(app);
    serve_router(listener, router, limits, shutdown).await
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// completes, as [`serve_with`] serves the API: every request's body is read
/// (at most `max_body` bytes, within the body timeout) before the router
/// sees it, so a platform's own routes meet a slow or flooding client as
/// the API does.
///
/// # Errors
/// None at present: a failed accept is logged and tried again.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = limits.max_connections.max(1);
    let router = router.layer(axum::middleware::from_fn_with_state(limits, bounded_body));
    let open = Arc::new(Semaphore::new(slots));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: at the cap, connections wait in the listen queue.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&open).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(
                    router.clone(),
                    limits.header_timeout,
                    stream,
                    slot,
                    stopping.clone(),
                ));
            }
            Err(e) if gone(&e) => {}
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to close.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drain = limits.header_timeout.saturating_add(limits.body_timeout);
    let all = u32::try_from(slots).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, open.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open at shutdown");
    }
    Ok(())
}

/// An accept error about one connection only (the client gave up).
fn gone(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionRefused
    )
}

/// Serves one connection, holding its `slot` until it closes.
async fn connection(
    router: Router,
    header_timeout: Duration,
    stream: tokio::net::TcpStream,
    slot: OwnedSemaphorePermit,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
            // Finish the request in flight, take no other.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Timeouts and clients that went away: the connection's own business.
        tracing::debug!(error = %e, "connection ended");
    }
    drop(slot);
}
