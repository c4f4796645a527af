//! The inspector against a real redis-server: generated traffic becomes exactly the
//! expected traces.

mod support;

use chrono::Utc;
use gilmour::engine::{Engine, ErrorPolicy, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::inspect::{Capture, EventKind, InspectorOptions, TraceKind, TraceStatus};
use gilmour::protocol::{Channels, Code, Payload};
use gilmour::transport::RedisConfig;
use serde_json::json;
use std::time::Duration;
use support::watch::{WAIT, Watch};
use support::{Backend, Server};

async fn engine(server: &Server, prefix: &str, policy: ErrorPolicy) -> Engine {
    Engine::builder(&server.url())
        .prefix(prefix)
        .error_policy(policy)
        .connect()
        .await
        .expect("connect")
}

fn quick() -> RequestOptions {
    RequestOptions::timeout(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_and_its_reply_make_one_trace() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "i1").await;
    let engine = engine(server, "i1", ErrorPolicy::Ignore).await;
    engine
        .reply_to(
            "echo",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request("echo", json!("hi"), quick())
        .await
        .expect("request");
    watch
        .until("the trace", |inspector| {
            inspector.counters().traces == 1
                && inspector.store().newest_first().all(|t| t.is_complete())
        })
        .await;
    let traces = watch.traces();
    assert_eq!(traces.len(), 1);
    let trace = traces[0];
    assert_eq!(trace.kind, TraceKind::Request);
    assert_eq!(trace.status, TraceStatus::Ok);
    assert_eq!(&*trace.topic, "echo");
    assert_eq!(&*trace.sender, response.sender.as_str());
    assert_eq!(trace.code(), Some(Code::OK));
    assert!(trace.latency().is_some());
    let request = trace.request.as_ref().expect("request event");
    assert_eq!(&*request.channel, "i1.request.echo");
    let reply = trace.reply.as_ref().expect("reply event");
    assert_eq!(reply.kind, EventKind::Response);
    assert_eq!(&*reply.channel, format!("i1.response.{}", response.sender));
    let stats = watch
        .inspector
        .stats()
        .topic("echo", Utc::now())
        .expect("stats");
    assert_eq!(stats.count, 1);
    assert!(stats.latency.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_timeout_is_a_timeout_and_the_late_reply_is_kept() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "i2").await;
    let engine = engine(server, "i2", ErrorPolicy::Ignore).await;
    engine
        .reply_to(
            "slow",
            HandlerOptions::default(),
            |_request: Request| async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Reply::ok("late")
            },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request(
            "slow",
            json!(1),
            RequestOptions::timeout(Duration::from_millis(50)),
        )
        .await
        .expect("request");
    assert_eq!(response.code(), Code::TIMEOUT);
    watch
        .until("the late reply", |inspector| {
            inspector
                .store()
                .newest_first()
                .any(|trace| !trace.later_replies.is_empty())
        })
        .await;
    let trace = watch.traces()[0];
    assert_eq!(trace.status, TraceStatus::Timeout);
    assert_eq!(trace.code(), Some(Code::TIMEOUT));
    assert_eq!(trace.later_replies[0].code, Some(Code::OK));
    assert_eq!(watch.inspector.counters().timeouts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_records_attach_to_their_trace_in_both_formats() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "i3").await;
    let engine = engine(server, "i3", ErrorPolicy::Publish).await;
    engine
        .reply_to(
            "fail",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::with_code(500, "broken") },
        )
        .await
        .expect("reply_to");
    let response = engine
        .request("fail", json!({"q": 1}), quick())
        .await
        .expect("request");
    watch
        .until("the error record", |inspector| {
            inspector
                .store()
                .newest_first()
                .any(|trace| !trace.errors.is_empty() && trace.is_complete())
        })
        .await;
    let trace = watch.traces()[0];
    assert_eq!(trace.status, TraceStatus::Error);
    assert_eq!(trace.errors.len(), 1);
    assert_eq!(&*trace.errors[0].channel, "i3.errors");

    // Ruby's format: the record wrapped in an envelope on <prefix>.error, `userdata`.
    let record = json!({"topic": "i3.request.fail", "request_data": "{}", "userdata": "ruby",
        "sender": response.sender.as_str(), "multi_process": false,
        "timestamp": "2026-01-01T00:00:00Z", "backtrace": null, "code": 500});
    let envelope = json!({"data": record, "code": 500, "sender": "ruby-sender"}).to_string();
    server.command(&["PUBLISH", "i3.error", &envelope]);
    watch
        .until("the Ruby record", |inspector| {
            inspector
                .store()
                .newest_first()
                .any(|trace| trace.errors.len() == 2)
        })
        .await;
    assert_eq!(watch.traces().len(), 1, "no new trace for a known sender");
    assert_eq!(&*watch.traces()[0].errors[1].channel, "i3.error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_wildcard_slots_orphans_and_malformed_payloads() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "i4").await;
    let engine = engine(server, "i4", ErrorPolicy::Ignore).await;
    engine
        .slot(
            "user.*",
            HandlerOptions::default(),
            |_request: Request| async move {},
        )
        .await
        .expect("slot");
    engine
        .signal("user.created", json!({"id": 1}))
        .await
        .expect("signal");
    server.command(&[
        "PUBLISH",
        "i4.response.nobody-asked",
        r#"{"data":1,"code":200}"#,
    ]);
    server.command(&["PUBLISH", "i4.request.echo", "\u{1b}[2Jnot json"]);
    server.command(&["PUBLISH", "i4.slot.user.bare", "[1,2,3]"]);
    watch
        .until("four traces", |inspector| inspector.store().len() == 4)
        .await;
    let traces = watch.traces();
    let signal = traces[0];
    assert_eq!(
        (signal.kind, signal.status, &*signal.topic),
        (TraceKind::Signal, TraceStatus::Ok, "user.created")
    );
    let orphan = traces[1];
    assert_eq!(
        (orphan.kind, orphan.status, &*orphan.sender),
        (TraceKind::Request, TraceStatus::Orphan, "nobody-asked")
    );
    let raw = traces[2];
    assert_eq!(
        raw.status,
        TraceStatus::Unanswered,
        "a request without a sender can never be answered"
    );
    assert_eq!(
        raw.request.as_ref().map(|event| event.shape),
        Some(Payload::Raw)
    );
    let bare = traces[3];
    assert_eq!(
        (bare.kind, bare.request.as_ref().map(|event| event.shape)),
        (TraceKind::Signal, Some(Payload::Bare))
    );
    let counters = watch.inspector.counters();
    assert_eq!(
        (counters.orphans, counters.malformed, counters.unanswered),
        (1, 2, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_are_marked_after_the_window() {
    let server = Server::shared(Backend::Redis);
    let options = InspectorOptions {
        unanswered_after: Duration::from_secs(5),
        ..InspectorOptions::default()
    };
    let mut watch = Watch::with(server, "i5", options).await;
    // A request whose responder died after NUMSUB: published by hand.
    server.command(&[
        "PUBLISH",
        "i5.request.lost",
        r#"{"data":1,"code":200,"sender":"s-lost"}"#,
    ]);
    watch
        .until("the request", |inspector| inspector.store().len() == 1)
        .await;
    assert_eq!(watch.traces()[0].status, TraceStatus::Pending);
    let mut completed = Vec::new();
    watch
        .inspector
        .sweep(Utc::now(), |update| completed.push(update));
    assert!(completed.is_empty(), "not yet");
    watch
        .inspector
        .sweep(Utc::now() + chrono::Duration::seconds(6), |update| {
            completed.push(update)
        });
    assert_eq!(completed.len(), 1);
    assert_eq!(watch.traces()[0].status, TraceStatus::Unanswered);
    // A reply that comes after all corrects the status.
    server.command(&["PUBLISH", "i5.response.s-lost", r#"{"data":1,"code":200}"#]);
    watch
        .until("the late reply", |inspector| {
            inspector.counters().unanswered == 0
        })
        .await;
    assert_eq!(watch.traces()[0].status, TraceStatus::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_pings_are_health_traces() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "i6").await;
    let service = Engine::builder(&server.url())
        .prefix("i6")
        .health(true)
        .connect()
        .await
        .expect("service");
    let ident = service.ident().expect("ident").clone();
    let caller = engine(server, "i6", ErrorPolicy::Ignore).await;
    caller
        .request(&format!("i6.health.{ident}"), json!(null), quick())
        .await
        .expect("ping");
    watch
        .until("the health trace", |inspector| {
            inspector
                .store()
                .newest_first()
                .any(|trace| trace.is_complete())
        })
        .await;
    let trace = watch.traces()[0];
    assert_eq!(trace.kind, TraceKind::Health);
    assert_eq!(&*trace.topic, ident.as_str());
    assert_eq!(
        trace.reply.as_ref().map(|event| event.kind),
        Some(EventKind::HealthReply)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_is_a_gap_and_capture_resumes() {
    let server = Server::start(Backend::Redis);
    let mut watch = Watch::start(&server, "gilmour").await;
    assert_eq!(server.command(&["CLIENT", "KILL", "TYPE", "pubsub"]), "1");
    watch
        .until("the gap", |inspector| inspector.counters().gaps == 1)
        .await;
    let gap = watch.traces()[0];
    assert_eq!(gap.kind, TraceKind::Gap);
    assert!(
        gap.gap
            .as_ref()
            .is_some_and(|gap| gap.reason.contains("closed")),
        "{gap:?}"
    );
    assert!(watch.inspector.lost_since().is_none());
    server.command(&[
        "PUBLISH",
        "gilmour.slot.after",
        r#"{"data":1,"sender":"x"}"#,
    ]);
    watch
        .until("traffic after the gap", |inspector| {
            inspector.store().len() == 2
        })
        .await;
    assert!(watch.capture.is_connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_keeps_its_bound_and_counts_evictions() {
    let server = Server::shared(Backend::Redis);
    let options = InspectorOptions {
        capacity: 10,
        ..InspectorOptions::default()
    };
    let mut watch = Watch::with(server, "i8", options).await;
    for n in 0..25 {
        let payload = json!({"data": n, "code": 200, "sender": format!("s{n}")}).to_string();
        server.command(&["PUBLISH", "i8.slot.tick", &payload]);
    }
    watch
        .until("25 signals", |inspector| inspector.counters().traces == 25)
        .await;
    assert_eq!(watch.inspector.store().len(), 10);
    assert_eq!(watch.inspector.store().evicted(), 15);
    assert_eq!(watch.complete(), 10);
    let newest = watch
        .inspector
        .store()
        .newest_first()
        .next()
        .expect("newest");
    assert_eq!(&*newest.sender, "s24");
    assert_eq!(watch.capture.dropped(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_drops_messages_but_never_the_news_of_a_gap() {
    let server = Server::start(Backend::Redis);
    let mut redis = RedisConfig::new(server.url());
    redis.min_backoff = Duration::from_millis(20);
    let (capture, mut events) = Capture::start(redis, Channels::default(), 1)
        .await
        .expect("capture");
    for n in 0..5 {
        let payload = json!({"data": n, "sender": format!("f{n}")}).to_string();
        server.command(&["PUBLISH", "gilmour.slot.flood", &payload]);
    }
    // Redis may discard what it has not yet written to a client it kills: let all five
    // reach the capture first.
    let deadline = std::time::Instant::now() + WAIT;
    while capture.received() < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the messages did not arrive"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(server.command(&["CLIENT", "KILL", "TYPE", "pubsub"]), "1");
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|event| matches!(event, gilmour::inspect::Event::Gap(_)))
    {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("events keep coming")
            .expect("capture running");
        seen.push(event);
    }
    assert!(
        seen.iter()
            .any(|event| matches!(event, gilmour::inspect::Event::Lost { .. }))
    );
    assert!(capture.dropped() >= 3, "{} dropped", capture.dropped());
    let messages = seen
        .iter()
        .filter(|event| matches!(event, gilmour::inspect::Event::Message(_)))
        .count() as u64;
    assert_eq!(
        messages + capture.dropped(),
        5,
        "every message is either delivered or counted"
    );
}
