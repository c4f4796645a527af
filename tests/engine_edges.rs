//! The engine's edges: bare signals, handlers that panic before they start, requests
//! abandoned by their caller or made while shutting down, unsubscribing under load, and
//! the health ident surviving a Redis restart.

mod support;

use gilmour::engine::{Engine, EngineError, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::protocol::Code;
use serde_json::json;
use std::time::Duration;
use support::{Backend, Server};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

async fn connect() -> Engine {
    Engine::connect(&Server::shared(Backend::Redis).url())
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ungrouped_slot_takes_a_bare_value_without_a_sender() {
    let engine = connect().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    engine
        .slot(
            "edges.bare",
            HandlerOptions::default(),
            move |request: Request| {
                let _ = tx.send(request.into_data());
                async {}
            },
        )
        .await
        .expect("slot");
    Server::shared(Backend::Redis).command(&["PUBLISH", "gilmour.slot.edges.bare", "\"hi\""]);
    let data = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("in time")
        .expect("data");
    assert_eq!(data, json!("hi"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_before_returning_its_future_answers_500() {
    let engine = connect().await;
    engine
        .reply_to(
            "edges.sync-panic",
            HandlerOptions::default(),
            |_request: Request| -> std::future::Ready<Reply> { panic!("before any await") },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request(
            "edges.sync-panic",
            json!(null),
            RequestOptions::timeout(WAIT),
        )
        .await
        .expect("answered");
    assert_eq!(response.code(), Code::INTERNAL);
    assert_eq!(
        response.data(),
        &json!("handler panicked: before any await")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_request_leaves_nothing_waiting() {
    let engine = connect().await;
    let (started_tx, mut started) = mpsc::unbounded_channel();
    engine
        .reply_to(
            "edges.never",
            HandlerOptions::default(),
            move |_request: Request| {
                let _ = started_tx.send(());
                async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Reply::ok(0)
                }
            },
        )
        .await
        .expect("reply_to");
    let call = engine.request(
        "edges.never",
        json!(1),
        RequestOptions::timeout(Duration::from_secs(60)),
    );
    tokio::select! {
        _ = call => panic!("cannot be answered"),
        _ = started.recv() => {}
    }
    assert_eq!(
        engine.waiting_requests(),
        0,
        "the dropped request gave up its place"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_after_shutdown_fail_at_once() {
    let engine = connect().await;
    engine
        .reply_to(
            "edges.closed",
            HandlerOptions::default(),
            |_request: Request| async { Reply::ok(1) },
        )
        .await
        .expect("reply_to");
    let caller = connect().await;
    caller.shutdown().await.expect("shutdown");
    let error = caller
        .request("edges.closed", json!(1), RequestOptions::timeout(WAIT))
        .await
        .expect_err("closed");
    assert!(matches!(error, EngineError::ShuttingDown), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribing_under_load_drops_no_request() {
    let responder = connect().await;
    let (handled_tx, mut handled) = mpsc::unbounded_channel();
    let subscription = responder
        .reply_to(
            "edges.leaving",
            HandlerOptions::default(),
            move |request: Request| {
                let _ = handled_tx.send(());
                async move { Reply::ok(request.into_data()) }
            },
        )
        .await
        .expect("reply_to");
    let caller = connect().await;
    let mut callers = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let caller = caller.clone();
        callers.spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0..40 {
                let options = RequestOptions::timeout(Duration::from_secs(3));
                outcomes.push(
                    caller
                        .request("edges.leaving", json!([worker, n]), options)
                        .await,
                );
            }
            outcomes
        });
    }
    // Leave while the callers are busy.
    tokio::time::timeout(WAIT, handled.recv())
        .await
        .expect("serving")
        .expect("handled");
    subscription.unsubscribe().await.expect("unsubscribe");
    let (mut answered, mut refused) = (0, 0);
    while let Some(outcomes) = callers.join_next().await {
        for outcome in outcomes.expect("task") {
            match outcome {
                Ok(response) => {
                    assert_eq!(
                        response.code(),
                        Code::OK,
                        "a request that reached a listener is answered"
                    );
                    answered += 1;
                }
                Err(EngineError::NoListeners { .. }) => refused += 1,
                Err(other) => panic!("unexpected {other}"),
            }
        }
    }
    assert!(
        answered > 0 && refused > 0,
        "{answered} answered, {refused} refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_ident_is_announced_again_after_a_restart() {
    let server = Server::start(Backend::Redis);
    let engine = Engine::builder(&server.url())
        .health(true)
        .redis(|redis| {
            redis.heartbeat_interval = Duration::from_millis(100);
            redis.min_backoff = Duration::from_millis(20);
            redis.max_backoff = Duration::from_millis(200);
        })
        .connect()
        .await
        .expect("connect");
    let ident = engine.ident().expect("ident").to_string();
    let mut events = engine.events();
    server.restart();
    // The new server starts empty (no persistence): an ident in its hash was announced
    // again.
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(gilmour::transport::ConnectionEvent::Resubscribed { .. }) =
                events.recv().await
            {
                return;
            }
        }
    })
    .await
    .expect("resubscribed");
    let deadline = std::time::Instant::now() + WAIT;
    while server.command(&["HGET", "gilmour.known_host.health", &ident]) != "true" {
        assert!(
            std::time::Instant::now() < deadline,
            "the ident was not announced again"
        );
        tokio::task::yield_now().await;
    }
}
