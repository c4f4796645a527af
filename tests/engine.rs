//! The engine against both backends, a real redis-server and the built-in broker: every
//! behaviour PROTOCOL.md lists, checked on the wire where it matters.

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
    wildcard_reply_refused_wildcard_slot_accepted,
    wildcard_slot_receives_matching_signals_with_the_real_topic,
    signal_with_no_receiver_is_an_error,
    unsubscribe_removes_the_channel,
    duplicate_group_in_one_process_refused,
    slots_without_group_all_receive_and_groups_receive_once,
    two_engines_in_one_group_answer_each_of_1000_requests_exactly_once,
    the_wire_carries_the_exact_fields_channels_and_lock,
    publish_policy_sends_a_record_with_named_fields,
    queue_policy_pushes_and_trims_and_ignore_does_nothing,
    malformed_json_is_reported_and_the_engine_keeps_serving,
    health_ident_hash_entry_and_reply_listing_topics,
    reply_keeps_its_options,
    shutdown_waits_for_running_handlers,
    broadcast_reaches_responders_and_slots,
}

use gilmour::engine::{
    Engine, EngineError, ErrorPolicy, HandlerOptions, Reply, Request, RequestOptions,
};
use gilmour::protocol::{Code, ErrorRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{Backend, RawSubscriber, Server, on_both_backends};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

async fn connect(backend: Backend) -> Engine {
    Engine::connect(&Server::shared(backend).url())
        .await
        .expect("connect")
}

fn quick() -> RequestOptions {
    RequestOptions::timeout(Duration::from_secs(5))
}

async fn echo(engine: &Engine, topic: &str) {
    engine
        .reply_to(
            topic,
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await
        .expect("reply_to");
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("nothing arrived in time")
        .expect("channel closed")
}

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

async fn wildcard_reply_refused_wildcard_slot_accepted(backend: Backend) {
    let engine = connect(backend).await;
    let error = engine
        .reply_to(
            "t.wild.*",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::ok(1) },
        )
        .await
        .err()
        .expect("wildcard reply refused");
    assert!(matches!(error, EngineError::Topic(_)), "{error}");
    let subscription = engine
        .slot(
            "t.wild.*",
            HandlerOptions::default(),
            |_request: Request| async move {},
        )
        .await
        .expect("wildcard slot accepted");
    assert_eq!(subscription.channel(), "gilmour.slot.t.wild.*");
}

async fn wildcard_slot_receives_matching_signals_with_the_real_topic(backend: Backend) {
    let engine = connect(backend).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    engine
        .slot(
            "t.users.*",
            HandlerOptions::default(),
            move |request: Request| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((request.topic().to_owned(), request.data().clone()));
                }
            },
        )
        .await
        .expect("slot");
    engine
        .signal("t.users.created", json!({"id": 7}))
        .await
        .expect("signal");
    assert_eq!(
        recv(&mut rx).await,
        ("t.users.created".to_owned(), json!({"id": 7}))
    );
    let error = engine
        .signal("t.other", json!(1))
        .await
        .expect_err("no receiver");
    assert!(matches!(error, EngineError::NoReceivers { .. }));
}

async fn signal_with_no_receiver_is_an_error(backend: Backend) {
    let engine = connect(backend).await;
    let error = engine
        .signal("t.nobody-hears", json!("hi"))
        .await
        .expect_err("nobody");
    assert_eq!(
        error.to_string(),
        "signal on `t.nobody-hears` was not received by anyone"
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

fn counting_slot(
    counts: &Arc<HashMap<&'static str, AtomicUsize>>,
    name: &'static str,
    done: mpsc::UnboundedSender<&'static str>,
) -> impl Fn(Request) -> std::future::Ready<()> + Send + Sync + 'static {
    let counts = counts.clone();
    move |_request| {
        counts[name].fetch_add(1, Ordering::SeqCst);
        let _ = done.send(name);
        std::future::ready(())
    }
}

async fn slots_without_group_all_receive_and_groups_receive_once(backend: Backend) {
    let names = ["free-a", "free-b", "g1-a", "g1-b", "g2-a"];
    let counts: Arc<HashMap<&'static str, AtomicUsize>> = Arc::new(
        names
            .iter()
            .map(|name| (*name, AtomicUsize::new(0)))
            .collect(),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let engines = [connect(backend).await, connect(backend).await];
    let topic = "t.slots";
    // Two ungrouped slots in one process; group g1 in two processes; group g2 in one.
    engines[0]
        .slot(
            topic,
            HandlerOptions::default(),
            counting_slot(&counts, "free-a", tx.clone()),
        )
        .await
        .expect("slot");
    engines[0]
        .slot(
            topic,
            HandlerOptions::default(),
            counting_slot(&counts, "free-b", tx.clone()),
        )
        .await
        .expect("slot");
    engines[0]
        .slot(
            topic,
            HandlerOptions::default().group("g1"),
            counting_slot(&counts, "g1-a", tx.clone()),
        )
        .await
        .expect("slot");
    engines[1]
        .slot(
            topic,
            HandlerOptions::default().group("g1"),
            counting_slot(&counts, "g1-b", tx.clone()),
        )
        .await
        .expect("slot");
    engines[1]
        .slot(
            topic,
            HandlerOptions::default().group("g2"),
            counting_slot(&counts, "g2-a", tx.clone()),
        )
        .await
        .expect("slot");
    let signals = 20;
    let caller = connect(backend).await;
    for n in 0..signals {
        caller.signal(topic, json!(n)).await.expect("signal");
    }
    // free-a, free-b, g1 (one of two) and g2: four handlings per signal.
    for _ in 0..signals * 4 {
        recv(&mut rx).await;
    }
    // Shutting down waits for every handler that had received a message.
    for engine in &engines {
        engine.shutdown().await.expect("shutdown");
    }
    let count = |name: &str| counts[name].load(Ordering::SeqCst);
    assert_eq!(count("free-a"), signals);
    assert_eq!(count("free-b"), signals);
    assert_eq!(
        count("g1-a") + count("g1-b"),
        signals,
        "g1 handles each once"
    );
    assert_eq!(count("g2-a"), signals);
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

async fn the_wire_carries_the_exact_fields_channels_and_lock(backend: Backend) {
    let server = Server::shared(backend);
    let engine = connect(backend).await;
    echo(&engine, "t.wire").await;
    let mut raw = RawSubscriber::psubscribe(server, "gilmour.*");
    let response = engine
        .request("t.wire", json!({"k": [1, 2]}), quick())
        .await
        .expect("request");
    let sender = response.sender.to_string();

    let (channel, payload) = raw.next();
    assert_eq!(channel, "gilmour.request.t.wire");
    assert_eq!(
        payload,
        format!(r#"{{"data":{{"k":[1,2]}},"code":200,"sender":"{sender}"}}"#)
    );
    let (channel, payload) = raw.next();
    assert_eq!(channel, format!("gilmour.response.{sender}"));
    assert_eq!(
        payload,
        format!(r#"{{"data":{{"k":[1,2]}},"code":200,"sender":"gilmour.response.{sender}"}}"#)
    );
    let lock = format!("{sender}_default");
    assert_eq!(server.command(&["GET", &lock]), lock);
    let ttl: i64 = server.command(&["TTL", &lock]).parse().expect("ttl");
    assert!(
        (590..=600).contains(&ttl),
        "lock expires after 600 s, ttl {ttl}"
    );

    let signal_sender = engine
        .signal("t.wire-signal", json!("s"))
        .await
        .expect("signal");
    let (channel, payload) = raw.next();
    assert_eq!(channel, "gilmour.slot.t.wire-signal");
    assert_eq!(
        payload,
        format!(r#"{{"data":"s","code":200,"sender":"{signal_sender}"}}"#)
    );
}

async fn engine_with(backend: Backend, policy: ErrorPolicy, prefix: &str) -> Engine {
    Engine::builder(&Server::shared(backend).url())
        .prefix(prefix)
        .error_policy(policy)
        .connect()
        .await
        .expect("connect")
}

async fn publish_policy_sends_a_record_with_named_fields(backend: Backend) {
    let server = Server::shared(backend);
    let engine = engine_with(backend, ErrorPolicy::Publish, "pubpol").await;
    engine
        .reply_to(
            "fail",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::with_code(503, "down for maintenance") },
        )
        .await
        .expect("reply_to");
    let mut raw = RawSubscriber::psubscribe(server, "pubpol.errors");
    let response = engine
        .request("fail", json!({"q": 1}), quick())
        .await
        .expect("request");
    assert_eq!(response.code(), Code(503));
    let (channel, payload) = raw.next();
    assert_eq!(channel, "pubpol.errors");
    let value: Value = serde_json::from_str(&payload).expect("record json");
    assert_eq!(value["topic"], "pubpol.request.fail");
    assert_eq!(value["request_data"], r#"{"q":1}"#);
    assert_eq!(value["user_data"], "down for maintenance");
    assert_eq!(value["sender"], response.sender.as_str());
    assert_eq!(value["multi_process"], false);
    assert_eq!(value["code"], 503);
    assert!(value["backtrace"].is_null());
    assert!(chrono::DateTime::parse_from_rfc3339(value["timestamp"].as_str().expect("ts")).is_ok());
}

async fn queue_policy_pushes_and_trims_and_ignore_does_nothing(backend: Backend) {
    let server = Server::shared(backend);
    let engine = engine_with(backend, ErrorPolicy::Queue, "qpol").await;
    engine
        .reply_to(
            "boom",
            HandlerOptions::default(),
            |_request: Request| async move { panic!("exploded") },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request("boom", json!(1), quick())
        .await
        .expect("request");
    assert_eq!(response.code(), Code::INTERNAL);
    // The record is queued before the reply is published.
    assert_eq!(server.command(&["LLEN", "qpol.errorqueue"]), "1");
    let record = server.command(&["LINDEX", "qpol.errorqueue", "0"]);
    let record = ErrorRecord::parse(record.as_bytes()).expect("record");
    assert_eq!(record.code, Code::INTERNAL);
    assert_eq!(record.sender, response.sender);
    assert_eq!(record.backtrace, json!("handler panicked: exploded"));

    let quiet = engine_with(backend, ErrorPolicy::Ignore, "ipol").await;
    quiet
        .reply_to(
            "boom",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::with_code(500, "x") },
        )
        .await
        .expect("reply_to");
    quiet
        .request("boom", json!(1), quick())
        .await
        .expect("request");
    assert_eq!(server.command(&["LLEN", "ipol.errorqueue"]), "0");
}

async fn malformed_json_is_reported_and_the_engine_keeps_serving(backend: Backend) {
    let server = Server::shared(backend);
    let engine = engine_with(backend, ErrorPolicy::Queue, "malformed").await;
    echo(&engine, "echo").await;
    server.command(&["PUBLISH", "malformed.request.echo", "{not json"]);
    let response = engine
        .request("echo", json!("still here"), quick())
        .await
        .expect("request");
    assert_eq!(response.data(), &json!("still here"));
    let record = server.command(&["LINDEX", "malformed.errorqueue", "0"]);
    let record = ErrorRecord::parse(record.as_bytes()).expect("record");
    assert_eq!(record.code, Code::BAD_REQUEST);
    assert_eq!(record.topic, "malformed.request.echo");
    assert_eq!(record.request_data, json!("\"{not json\""));
}

async fn health_ident_hash_entry_and_reply_listing_topics(backend: Backend) {
    let server = Server::shared(backend);
    let engine = Engine::builder(&server.url())
        .prefix("health")
        .health(true)
        .connect()
        .await
        .expect("connect");
    let ident = engine.ident().expect("ident").clone();
    assert_eq!(
        server.command(&["HGET", "health.known_host.health", ident.as_str()]),
        "true"
    );
    echo(&engine, "svc.a").await;
    engine
        .slot(
            "svc.events.*",
            HandlerOptions::default(),
            |_request: Request| async move {},
        )
        .await
        .expect("slot");
    let caller = Engine::builder(&server.url())
        .prefix("health")
        .connect()
        .await
        .expect("caller");
    let response = caller
        .request(&format!("health.health.{ident}"), json!(null), quick())
        .await
        .expect("health ping");
    assert_eq!(response.code(), Code::OK);
    assert_eq!(
        response.data(),
        &json!(["health.request.svc.a", "health.slot.svc.events.*"])
    );
    engine.shutdown().await.expect("shutdown");
    assert_eq!(
        server.command(&["HEXISTS", "health.known_host.health", ident.as_str()]),
        "0"
    );
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

async fn broadcast_reaches_responders_and_slots(backend: Backend) {
    let engine = connect(backend).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tx_reply = tx.clone();
    engine
        .reply_to(
            "t.bcast",
            HandlerOptions::default(),
            move |request: Request| {
                let _ = tx_reply.send(("reply", request.sender().clone()));
                async move { Reply::ok(1) }
            },
        )
        .await
        .expect("reply_to");
    engine
        .slot(
            "t.bcast",
            HandlerOptions::default(),
            move |request: Request| {
                let _ = tx.send(("slot", request.sender().clone()));
                async move {}
            },
        )
        .await
        .expect("slot");
    let sender = engine
        .broadcast("t.bcast", json!("all"))
        .await
        .expect("broadcast");
    let mut got = vec![recv(&mut rx).await, recv(&mut rx).await];
    got.sort_by_key(|(kind, _)| *kind);
    assert_eq!(got, vec![("reply", sender.clone()), ("slot", sender)]);
}
