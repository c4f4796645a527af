//! Losing Redis must not kill the engine: it notices (socket closed, or a heartbeat that
//! goes unanswered), fails what waits instead of hanging, reconnects and re-subscribes.
//! Each test has its own server, since they kill connections and restart it; every test
//! runs against both backends.

mod support;

use gilmour::engine::{Engine, EngineError, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::transport::ConnectionEvent;
use serde_json::json;
use std::time::Duration;
use support::{Backend, Proxy, Server, on_both_backends};
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(15);

async fn engine(server: &Server) -> Engine {
    engine_at(&server.url()).await
}

async fn engine_at(url: &str) -> Engine {
    Engine::builder(url)
        .redis(|redis| {
            redis.heartbeat_interval = Duration::from_millis(100);
            redis.heartbeat_timeout = Duration::from_millis(400);
            redis.min_backoff = Duration::from_millis(20);
            redis.max_backoff = Duration::from_millis(200);
        })
        .connect()
        .await
        .expect("connect")
}

async fn serve_echo(engine: &Engine, topic: &str) {
    engine
        .reply_to(
            topic,
            HandlerOptions::default(),
            |request: Request| async move {
                let wait = request.data_as::<u64>().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                Reply::ok(request.into_data())
            },
        )
        .await
        .expect("reply_to");
}

/// Waits for the next event that `wanted` accepts, returning it.
async fn wait_for(
    events: &mut broadcast::Receiver<ConnectionEvent>,
    wanted: impl Fn(&ConnectionEvent) -> bool,
) -> ConnectionEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("event stream closed"),
            }
        }
    })
    .await
    .expect("event did not come in time")
}

on_both_backends! {
    client_kill_pubsub_fails_the_waiting_request_and_resubscribes,
    redis_restart_is_survived,
    an_unanswered_heartbeat_counts_as_a_lost_link,
}

fn is_resubscribed(event: &ConnectionEvent) -> bool {
    matches!(event, ConnectionEvent::Resubscribed { .. })
}

async fn client_kill_pubsub_fails_the_waiting_request_and_resubscribes(backend: Backend) {
    let server = Server::start(backend);
    let responder = engine(&server).await;
    serve_echo(&responder, "slow").await;
    let caller = engine(&server).await;
    let mut caller_events = caller.events();
    let mut responder_events = responder.events();

    let waiting = tokio::spawn({
        let caller = caller.clone();
        async move {
            caller
                .request(
                    "slow",
                    3_000,
                    RequestOptions::timeout(Duration::from_secs(30)),
                )
                .await
        }
    });
    // The request is published once the responder holds its lock.
    while server.command(&["DBSIZE"]) == "0" {
        tokio::task::yield_now().await;
    }
    assert_eq!(server.command(&["CLIENT", "KILL", "TYPE", "pubsub"]), "2");

    let error = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the waiting request did not hang")
        .expect("task")
        .expect_err("its reply can no longer arrive");
    assert!(matches!(error, EngineError::Disconnected { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("lost the connection to Redis")
    );

    let event = wait_for(&mut responder_events, is_resubscribed).await;
    assert!(
        matches!(
            event,
            ConnectionEvent::Resubscribed {
                channels: 1,
                patterns: 1,
                ..
            }
        ),
        "{event:?}"
    );
    wait_for(&mut caller_events, is_resubscribed).await;
    let response = caller
        .request("slow", 0, RequestOptions::timeout(Duration::from_secs(5)))
        .await
        .expect("serving again");
    assert_eq!(response.data(), &json!(0));
}

async fn redis_restart_is_survived(backend: Backend) {
    let server = Server::start(backend);
    let responder = engine(&server).await;
    serve_echo(&responder, "echo").await;
    let caller = engine(&server).await;
    let mut events = responder.events();
    let mut caller_events = caller.events();

    server.restart();
    let lost = wait_for(&mut events, |event| {
        matches!(event, ConnectionEvent::Disconnected { .. })
    })
    .await;
    assert!(matches!(lost, ConnectionEvent::Disconnected { .. }));
    wait_for(&mut events, is_resubscribed).await;
    wait_for(&mut caller_events, is_resubscribed).await;
    assert_eq!(
        server.command(&["PUBSUB", "NUMSUB", "gilmour.request.echo"]),
        "gilmour.request.echo\n1",
        "the new server knows the responder again"
    );
    // The command connections notice the restart on their first command and retry it on
    // a fresh socket: the first request after the restart is answered.
    let response = caller
        .request(
            "echo",
            json!("back"),
            RequestOptions::timeout(Duration::from_secs(5)),
        )
        .await
        .expect("serving again");
    assert_eq!(response.data(), &json!("back"));
}

async fn an_unanswered_heartbeat_counts_as_a_lost_link(backend: Backend) {
    let server = Server::start(backend);
    let proxy = Proxy::start(server.port());
    let engine = engine_at(&proxy.url()).await;
    serve_echo(&engine, "paused").await;
    let mut events = engine.events();
    // The links stop carrying anything for 1.5 s while their sockets stay open, as with
    // a half-open connection: only the heartbeat can tell.
    proxy.stall_open_links(Duration::from_millis(1500));
    let lost = wait_for(&mut events, |event| {
        matches!(event, ConnectionEvent::Disconnected { .. })
    })
    .await;
    let ConnectionEvent::Disconnected { reason, .. } = lost else {
        unreachable!("filtered above")
    };
    assert!(reason.contains("heartbeat"), "{reason}");
    let back = wait_for(&mut events, is_resubscribed).await;
    let ConnectionEvent::Resubscribed { outage, .. } = back else {
        unreachable!("filtered above")
    };
    assert!(outage > Duration::ZERO);
    assert!(engine.is_connected());
}
