//! Request and reply against both backends, a real redis-server and the built-in broker:
//! replies and their codes, timeouts on either side, panics, exclusive groups, options that
//! stay, unsubscribing and a graceful shutdown (PROTOCOL.md), checked on the wire where it
//! matters.

mod support;

// Every test runs on two worker threads: the raw subscriber blocks its thread while it
// waits, and the engines under test must keep running meanwhile.

on_both_backends! {
    request_returns_the_reply,
    typed_data_round_trip,
    request_with_no_listener_fails_before_publishing,
    client_timeout_resolves_499_and_publishes_it_only_when_it_fires,
    handler_timeout_replies_499,
    handler_panic_replies_500,
    handler_chooses_its_code,
    unsubscribe_removes_the_channel,
    duplicate_group_in_one_process_refused,
    two_engines_in_one_group_answer_each_of_1000_requests_exactly_once,
    reply_keeps_its_options,
    shutdown_waits_for_running_handlers,
}

use gilmour::engine::{EngineError, ErrorPolicy, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::protocol::Code;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::engine::{connect, echo, engine_with, quick, recv};
use support::{Backend, RawSubscriber, Server, on_both_backends};
use tokio::sync::mpsc;

async fn request_returns_the_reply(backend: Backend) {
    let engine = connect(backend).await;
    echo(&engine, "t.echo").await;
    let response = engine
        .request("t.echo", json!({"hello": "world"}), quick())
        .await
        .expect("request");
    assert_eq!(response.code(), Code::OK);
    assert_eq!(response.data(), &json!({"hello": "world"}));
    assert_eq!(
        response.reply.sender.as_str(),
        format!("gilmour.response.{}", response.sender),
        "a reply's sender is its reply channel, as in Go"
    );
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Clone)]
struct Point {
    x: i32,
    y: i32,
    label: String,
}

async fn typed_data_round_trip(backend: Backend) {
    let engine = connect(backend).await;
    engine
        .reply_to(
            "t.typed",
            HandlerOptions::default(),
            |request: Request| async move {
                match request.data_as::<Point>() {
                    Ok(point) => Reply::json(&Point {
                        x: point.y,
                        y: point.x,
                        label: point.label.to_uppercase(),
                    }),
                    Err(error) => Reply::with_code(400, error.to_string()),
                }
            },
        )
        .await
        .expect("reply_to");
    let point = Point {
        x: 1,
        y: 2,
        label: "p".into(),
    };
    let data = serde_json::to_value(&point).expect("json");
    let response = engine
        .request("t.typed", data, quick())
        .await
        .expect("request");
    let swapped: Point = response.data_as().expect("typed reply");
    assert_eq!(
        swapped,
        Point {
            x: 2,
            y: 1,
            label: "P".into()
        }
    );
}

async fn request_with_no_listener_fails_before_publishing(backend: Backend) {
    let server = Server::shared(backend);
    let engine = connect(backend).await;
    let mut raw = RawSubscriber::psubscribe(server, "gilmour.request.t.nobody*");
    let error = engine
        .request("t.nobody", json!(1), quick())
        .await
        .expect_err("nobody listens");
    assert!(matches!(error, EngineError::NoListeners { ref topic } if topic == "t.nobody"));
    assert_eq!(error.to_string(), "no active listeners for `t.nobody`");
    // Nothing was published: the next message the raw subscriber sees is this marker.
    server.command(&["PUBLISH", "gilmour.request.t.nobody.marker", "m"]);
    assert_eq!(raw.next().0, "gilmour.request.t.nobody.marker");
}

async fn client_timeout_resolves_499_and_publishes_it_only_when_it_fires(backend: Backend) {
    let server = Server::shared(backend);
    let engine = engine_with(backend, ErrorPolicy::Ignore, "ctimeout").await;
    engine
        .reply_to(
            "t.slow",
            HandlerOptions::default(),
            |request: Request| async move {
                let wait = request.data_as::<u64>().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                Reply::ok("late")
            },
        )
        .await
        .expect("reply_to");
    let mut raw = RawSubscriber::psubscribe(server, "ctimeout.response.*");

    let fast = engine
        .request("t.slow", 0, RequestOptions::timeout(Duration::from_secs(5)))
        .await
        .expect("fast request");
    assert_eq!(fast.code(), Code::OK);
    let timed = engine
        .request(
            "t.slow",
            2_000,
            RequestOptions::timeout(Duration::from_millis(100)),
        )
        .await
        .expect("timed out request resolves");
    assert_eq!(timed.code(), Code::TIMEOUT);
    assert_eq!(timed.data(), &json!("Execution timed out"));

    // On the wire: the fast reply, then the 499 of the timed-out request (no spurious 499
    // for the fast one), then the late reply.
    let (channel, payload) = raw.next();
    assert_eq!(channel, format!("ctimeout.response.{}", fast.sender));
    assert_eq!(
        serde_json::from_str::<Value>(&payload).expect("json")["code"],
        200
    );
    let (channel, payload) = raw.next();
    assert_eq!(channel, format!("ctimeout.response.{}", timed.sender));
    let value: Value = serde_json::from_str(&payload).expect("json");
    assert_eq!(value["code"], 499);
    assert_eq!(value["data"], "Execution timed out");
    let (channel, _) = raw.next();
    assert_eq!(channel, format!("ctimeout.response.{}", timed.sender));
}

async fn handler_timeout_replies_499(backend: Backend) {
    let engine = connect(backend).await;
    let options = HandlerOptions::default().timeout(Duration::from_millis(50));
    engine
        .reply_to(
            "t.handler-timeout",
            options,
            |_request: Request| async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Reply::ok("never")
            },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request("t.handler-timeout", json!(null), quick())
        .await
        .expect("request");
    assert_eq!(response.code(), Code::TIMEOUT);
    assert_eq!(response.data(), &json!("Execution timed out"));
}

async fn handler_panic_replies_500(backend: Backend) {
    let engine = connect(backend).await;
    engine
        .reply_to(
            "t.panic",
            HandlerOptions::default(),
            |_request: Request| async move {
                panic!("kaboom");
            },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request("t.panic", json!(null), quick())
        .await
        .expect("request");
    assert_eq!(response.code(), Code::INTERNAL);
    assert_eq!(response.data(), &json!("handler panicked: kaboom"));
    // The engine keeps serving after a panic.
    let again = engine
        .request("t.panic", json!(null), quick())
        .await
        .expect("again");
    assert_eq!(again.code(), Code::INTERNAL);
}

async fn handler_chooses_its_code(backend: Backend) {
    let engine = connect(backend).await;
    engine
        .reply_to(
            "t.code",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::with_code(403, "forbidden") },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request("t.code", json!(null), quick())
        .await
        .expect("request");
    assert_eq!(
        (response.code(), response.data()),
        (Code(403), &json!("forbidden"))
    );
}

async fn unsubscribe_removes_the_channel(backend: Backend) {
    let server = Server::shared(backend);
    let engine = connect(backend).await;
    let subscription = engine
        .reply_to(
            "t.unsub",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::ok(1) },
        )
        .await
        .expect("reply_to");
    assert_eq!(
        server.command(&["PUBSUB", "NUMSUB", "gilmour.request.t.unsub"]),
        "gilmour.request.t.unsub\n1"
    );
    subscription.unsubscribe().await.expect("unsubscribe");
    assert_eq!(
        server.command(&["PUBSUB", "NUMSUB", "gilmour.request.t.unsub"]),
        "gilmour.request.t.unsub\n0"
    );
    let error = engine
        .request("t.unsub", json!(1), quick())
        .await
        .expect_err("gone");
    assert!(matches!(error, EngineError::NoListeners { .. }));
}

async fn duplicate_group_in_one_process_refused(backend: Backend) {
    let engine = connect(backend).await;
    let options = HandlerOptions::default().group("g1");
    engine
        .reply_to("t.dup", options.clone(), |_request: Request| async move {
            Reply::ok(1)
        })
        .await
        .expect("first");
    let error = engine
        .reply_to(
            "t.dup",
            options,
            |_request: Request| async move { Reply::ok(2) },
        )
        .await
        .err()
        .expect("second refused");
    assert!(matches!(error, EngineError::DuplicateGroup { ref group, .. } if group == "g1"));
    // The default group counts too.
    engine
        .reply_to(
            "t.dup",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::ok(3) },
        )
        .await
        .expect("another group is fine");
    let error = engine
        .reply_to(
            "t.dup",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::ok(4) },
        )
        .await
        .err()
        .expect("second _default refused");
    assert!(matches!(error, EngineError::DuplicateGroup { ref group, .. } if group == "_default"));
}

async fn two_engines_in_one_group_answer_each_of_1000_requests_exactly_once(backend: Backend) {
    let handled: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let per_sender: Arc<std::sync::Mutex<HashMap<String, usize>>> = Arc::default();
    let responders = [connect(backend).await, connect(backend).await];
    for (index, responder) in responders.iter().enumerate() {
        let handled = handled.clone();
        let per_sender = per_sender.clone();
        responder
            .reply_to(
                "t.exclusive",
                HandlerOptions::default(),
                move |request: Request| {
                    handled[index].fetch_add(1, Ordering::SeqCst);
                    *per_sender
                        .lock()
                        .expect("lock")
                        .entry(request.sender().to_string())
                        .or_default() += 1;
                    async move { Reply::ok(index) }
                },
            )
            .await
            .expect("reply_to");
    }
    let caller = connect(backend).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..1000 {
        let caller = caller.clone();
        tasks.spawn(async move { caller.request("t.exclusive", n, quick()).await });
    }
    while let Some(result) = tasks.join_next().await {
        let response = result.expect("task").expect("request");
        assert_eq!(response.code(), Code::OK);
    }
    for responder in &responders {
        responder.shutdown().await.expect("shutdown");
    }
    let total = handled[0].load(Ordering::SeqCst) + handled[1].load(Ordering::SeqCst);
    assert_eq!(total, 1000, "each request handled exactly once");
    let per_sender = per_sender.lock().expect("lock");
    assert_eq!(per_sender.len(), 1000);
    assert!(per_sender.values().all(|count| *count == 1));
}

async fn reply_keeps_its_options(backend: Backend) {
    let engine = connect(backend).await;
    let options = HandlerOptions::default()
        .group("keepers")
        .timeout(Duration::from_millis(40));
    engine
        .reply_to(
            "t.options",
            options.clone(),
            |request: Request| async move {
                let wait = request.data_as::<u64>().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                Reply::ok("done")
            },
        )
        .await
        .expect("reply_to");
    // The group stays: a second handler of it is refused.
    assert!(
        engine
            .reply_to("t.options", options, |_request: Request| async move {
                Reply::ok(0)
            })
            .await
            .is_err()
    );
    // The timeout stays: a slow call times out, a quick one does not.
    let slow = engine
        .request("t.options", 5_000, quick())
        .await
        .expect("slow");
    assert_eq!(slow.code(), Code::TIMEOUT);
    let fast = engine.request("t.options", 0, quick()).await.expect("fast");
    assert_eq!(fast.code(), Code::OK);
}

async fn shutdown_waits_for_running_handlers(backend: Backend) {
    let engine = connect(backend).await;
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let finished = Arc::new(AtomicUsize::new(0));
    let done = finished.clone();
    engine
        .reply_to(
            "t.graceful",
            HandlerOptions::default(),
            move |_request: Request| {
                let started_tx = started_tx.clone();
                let done = done.clone();
                async move {
                    let _ = started_tx.send(());
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    done.fetch_add(1, Ordering::SeqCst);
                    Reply::ok("finished")
                }
            },
        )
        .await
        .expect("reply_to");
    let caller = connect(backend).await;
    let call = tokio::spawn({
        let caller = caller.clone();
        async move { caller.request("t.graceful", 1, quick()).await }
    });
    recv(&mut started).await;
    engine.shutdown().await.expect("shutdown");
    assert_eq!(finished.load(Ordering::SeqCst), 1, "shutdown waited");
    let response = call.await.expect("task").expect("request");
    assert_eq!(response.data(), &json!("finished"));
    let error = engine
        .reply_to(
            "t.after",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::ok(1) },
        )
        .await
        .err()
        .expect("closed");
    assert!(matches!(error, EngineError::ShuttingDown));
}
