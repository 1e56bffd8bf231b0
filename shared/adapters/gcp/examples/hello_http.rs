//! The smallest Cloud Run service on the same stack as Tailor's: axum on
//! tokio, listening on `$PORT`, answering every request 200. The
//! cold-start benchmark (`benches/cold_start.rs`) measures it as the
//! baseline, the cost of the process and the server alone.
//!
//! ```sh
//! cargo build --release -p tailor-gcp --example hello_http
//! ```

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let app = axum::Router::new().fallback(async || "hello");
    axum::serve(listener, app).await
}
