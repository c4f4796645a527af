//! What the engine tests share: engines on the test server, a request timeout, an echo
//! service, and waiting for what a handler reports.

use super::{Backend, Server};
use gilmour::engine::{Engine, ErrorPolicy, HandlerOptions, Reply, Request, RequestOptions};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a test waits for a handler to report.
pub const WAIT: Duration = Duration::from_secs(10);

/// A new engine on the backend's shared server.
pub async fn connect(backend: Backend) -> Engine {
    Engine::connect(&Server::shared(backend).url())
        .await
        .expect("connect")
}

/// A new engine on the backend's shared server, with its own prefix and error policy.
pub async fn engine_with(backend: Backend, policy: ErrorPolicy, prefix: &str) -> Engine {
    Engine::builder(&Server::shared(backend).url())
        .prefix(prefix)
        .error_policy(policy)
        .connect()
        .await
        .expect("connect")
}

/// Request options that never time out on a healthy run.
pub fn quick() -> RequestOptions {
    RequestOptions::timeout(Duration::from_secs(5))
}

/// Serves `topic` by answering each request with its own data.
pub async fn echo(engine: &Engine, topic: &str) {
    engine
        .reply_to(
            topic,
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await
        .expect("reply_to");
}

/// The next thing a handler sent, failing the test if nothing comes within [`WAIT`].
pub async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("nothing arrived in time")
        .expect("channel closed")
}

/// Adds the user `noscript` (password `secret`) to `server`: everything but scripts, so
/// that a trim of the error queue falls back to `WATCH`. ACLs are a server's own.
pub fn add_noscript_user(server: &Server) {
    let added = server.command(&[
        "ACL",
        "SETUSER",
        "noscript",
        "on",
        ">secret",
        "~*",
        "&*",
        "+@all",
        "-@scripting",
    ]);
    assert_eq!(added, "OK");
}

/// Pushes `e0`, `e1`, … onto the error queue `name` (the newest at the head).
pub async fn queue_errors(engine: &Engine, name: &str, count: usize) {
    for n in 0..count {
        engine
            .commands()
            .queue_error(name, &format!("e{n}"))
            .await
            .expect("push");
    }
}
