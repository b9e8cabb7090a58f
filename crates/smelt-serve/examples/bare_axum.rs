//! The ceiling for `smelt serve`'s throughput benchmark (bench/serve.sh): a bare axum server on
//! the same runtime settings and route shape that reads the request body and answers a fixed
//! JSON body — HTTP and nothing else.
//!
//! `cargo run --release -p smelt-serve --example bare_axum -- PORT`
#![allow(
    clippy::print_stderr,
    reason = "a benchmark helper prints where it listens"
)]

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8099);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(async move {
            let app = Router::new()
                .route("/health", get(|| async { "ok" }))
                .route(
                    "/predict/{name}",
                    post(|body: Bytes| async move {
                        let _ = body.len();
                        (
                            [("content-type", "application/json")],
                            r#"{"prediction":"1","probabilities":{"0":0.25,"1":0.75}}"#,
                        )
                    }),
                );
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            eprintln!("bare axum on 127.0.0.1:{port}");
            axum::serve(listener, app).await
        })
}
