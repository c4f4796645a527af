//! The echo service and its caller from the Gilmour talk (the README's example).
//!
//! Run it against a Redis: `cargo run --example echo` (or set `REDIS_URL`).

use gilmour::engine::{Engine, EngineError, HandlerOptions, Reply, Request, RequestOptions};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), EngineError> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());

    // The service: any number of processes may run it; one answers each request.
    let service = Engine::connect(&url).await?;
    service
        .reply_to(
            "echo",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await?;

    // The caller: no address, no registry — just the topic.
    let caller = Engine::connect(&url).await?;
    let response = caller
        .request("echo", json!("Hello: 1"), RequestOptions::default())
        .await?;
    println!("{} {}", response.code(), response.data());

    service.shutdown().await?;
    caller.shutdown().await
}
