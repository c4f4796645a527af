//! What the inspector shows must be true for real Go and Ruby traffic, and bounded by
//! bytes. Each test publishes the exact bytes the real libraries put on the wire (see
//! PROTOCOL.md, "Seen on the wire") to a real redis-server.

mod support;

use chrono::Utc;
use gilmour::inspect::export::trace_json;
use gilmour::inspect::stats::{NO_TOPIC_LABEL, ORPHAN_LABEL};
use gilmour::inspect::{
    Capture, Event, EventKind, Inspector, InspectorOptions, MessageEvent, TraceKind, TraceStatus,
    file,
};
use gilmour::protocol::{Channels, Code, RecordLayout};
use gilmour::transport::RedisConfig;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use support::watch::{WAIT, Watch};
use support::{Backend, Server};

const GO_SID: &str = "5f1a6d0c-2b8e-4c1e-9a77-3d2f1e0b9c44";
const RUBY_SID: &str = "9a8b7c6d5e4f30211203948576abcdef";

fn go_record(sid: &str) -> String {
    // gilmour-e-go's record, as captured: the reply JSON in `topic`, the reply channel in
    // `user_data` and `sender`.
    format!(
        r#"{{"topic":"{{\"data\":\"boom\",\"code\":500,\"sender\":\"gilmour.response.{sid}\"}}","request_data":"","user_data":"gilmour.response.{sid}","sender":"gilmour.response.{sid}","multi_process":false,"timestamp":"2026-12-01T19:08:39Z","backtrace":"","code":500}}"#
    )
}

fn ruby_record(sid: &str, topic: &str) -> String {
    format!(
        r#"{{"data":{{"backtrace":"no such user","code":500,"topic":"gilmour.request.{topic}","request_data":"x","userdata":"{{}}","sender":"{sid}","multi_process":false,"timestamp":"2026-12-01 19:05:47 UTC"}},"code":0,"sender":"0123456789abcdef0123456789abcdef"}}"#
    )
}

fn publish(server: &Server, channel: &str, payload: &str) {
    server.command(&["PUBLISH", channel, payload]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_error_record_attaches_to_its_request_unscrambled() {
    let server = Server::start(Backend::Redis);
    let mut watch = Watch::start(&server, "gilmour").await;
    publish(
        &server,
        "gilmour.request.users.find",
        &format!(r#"{{"data":"x","code":200,"sender":"{GO_SID}"}}"#),
    );
    publish(
        &server,
        &format!("gilmour.response.{GO_SID}"),
        &format!(r#"{{"data":"boom","code":500,"sender":"gilmour.response.{GO_SID}"}}"#),
    );
    publish(&server, "gilmour.errors", &go_record(GO_SID));
    watch.messages(3).await;

    let traces = watch.traces();
    assert_eq!(traces.len(), 1, "no stand-alone error trace: {traces:#?}");
    let trace = traces[0];
    assert_eq!(
        (trace.kind, trace.status, &*trace.topic),
        (TraceKind::Request, TraceStatus::Error, "users.find")
    );
    assert_eq!(trace.errors.len(), 1);
    let record = &trace.errors[0];
    assert_eq!(
        &*record.sender, GO_SID,
        "the reply channel prefix is stripped"
    );
    assert_eq!(record.layout, Some(RecordLayout::GoScrambled));
    assert!(
        trace.notes().iter().any(|note| note.contains("Go-style")),
        "{:?}",
        trace.notes()
    );
    let json = trace_json(trace);
    let unscrambled = &json["errors"][0]["record"];
    assert_eq!(unscrambled["layout"], "go");
    assert_eq!(unscrambled["sender"], GO_SID);
    assert_eq!(unscrambled["reply"], "boom");
    assert_eq!(unscrambled["code"], 500);
    let counters = watch.inspector.counters();
    assert_eq!((counters.traces, counters.errors), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_before_its_request_and_reply_is_counted_once() {
    let server = Server::start(Backend::Redis);
    let mut watch = Watch::start(&server, "gilmour").await;
    // Ruby publishes the record and the reply from two jobs: here the record wins, and
    // the capture saw it before the request (it started in between).
    publish(
        &server,
        "gilmour.error",
        &ruby_record(RUBY_SID, "users.find"),
    );
    publish(
        &server,
        "gilmour.request.users.find",
        &format!(r#"{{"data":"x","code":0,"sender":"{RUBY_SID}"}}"#),
    );
    publish(
        &server,
        &format!("gilmour.response.{RUBY_SID}"),
        r#"{"data":"no such user","code":500,"sender":"3c5e0f7a9b1d2e4f6a8c0e2f4a6c8e0f"}"#,
    );
    watch.messages(3).await;
    let now = Utc::now();
    let figures = watch
        .inspector
        .stats()
        .topic("users.find", now)
        .expect("figures");
    assert_eq!((figures.count, figures.errors), (1, 1), "one request, once");
    let overall = watch.inspector.stats().overall(now);
    assert_eq!((overall.count, overall.errors), (1, 1));
    assert!(
        overall.latency.is_some(),
        "its latency counts once it has one"
    );
    let trace = watch.traces()[0];
    assert_eq!(trace.errors[0].layout, Some(RecordLayout::Ruby));
    assert_eq!(watch.inspector.counters().errors, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_are_counted_under_their_own_label_then_move_to_their_topic() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "o5").await;
    publish(server, "o5.response.orph", r#"{"data":1,"code":200}"#);
    publish(
        server,
        "o5.errors",
        r#"{"code":500,"topic":"","sender":""}"#,
    );
    watch.messages(2).await;
    let now = Utc::now();
    let stats = watch.inspector.stats();
    let labels: Vec<String> = stats
        .topics(now)
        .iter()
        .map(|s| s.topic.to_string())
        .collect();
    assert!(!labels.iter().any(String::is_empty), "{labels:?}");
    assert_eq!(stats.topic(ORPHAN_LABEL, now).map(|s| s.count), Some(1));
    assert_eq!(stats.topic(NO_TOPIC_LABEL, now).map(|s| s.count), Some(1));

    publish(server, "o5.request.late", r#"{"data":1,"sender":"orph"}"#);
    watch.messages(3).await;
    let stats = watch.inspector.stats();
    assert_eq!(stats.topic(ORPHAN_LABEL, now).map(|s| s.count), Some(0));
    assert_eq!(stats.topic("late", now).map(|s| s.count), Some(1));
    assert_eq!(stats.overall(now).count, 2);
}

/// Events at chosen times, as a capture file replays them.
fn at(seconds: i64, channel: &str, payload: &str) -> Event {
    let when = chrono::DateTime::from_timestamp(1_764_615_600 + seconds, 0).expect("time");
    Event::Message(MessageEvent::read(
        &Channels::default(),
        when,
        channel,
        Arc::from(payload.as_bytes()),
    ))
}

#[test]
fn a_stale_reply_is_not_adopted_by_a_new_request() {
    let mut inspector = Inspector::default();
    inspector.ingest(at(0, "gilmour.response.s", r#"{"data":"old","code":500}"#));
    // Ten minutes later a new request reuses the sender.
    inspector.ingest(at(600, "gilmour.request.t", r#"{"data":1,"sender":"s"}"#));
    let traces: Vec<_> = inspector.store().newest_first().rev().collect();
    assert_eq!(traces.len(), 2);
    assert_eq!(
        traces[0].status,
        TraceStatus::Orphan,
        "the old reply stays an orphan"
    );
    assert_eq!(
        traces[1].status,
        TraceStatus::Pending,
        "the new request waits"
    );
    assert_eq!(inspector.counters().orphans, 1);
    // Within the window it is adopted.
    inspector.ingest(at(700, "gilmour.response.u", r#"{"data":1,"code":200}"#));
    inspector.ingest(at(701, "gilmour.request.t", r#"{"data":1,"sender":"u"}"#));
    assert_eq!(inspector.store().len(), 3);
    assert_eq!(inspector.counters().orphans, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_is_not_utf8_keeps_its_bytes_through_a_capture_file() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "u6").await;
    let channel = b"u6.request.caf\xe9";
    server.publish_bytes(channel, br#"{"data":1,"sender":"nb"}"#);
    watch.messages(1).await;
    let trace = watch.traces()[0];
    assert_eq!(&*trace.topic, "caf\\xe9", "shown escaped, not as `?`");
    let request = trace.request.as_ref().expect("request");
    assert_eq!(request.channel_bytes(), channel);

    let mut capture_file = Vec::new();
    file::write_event(&mut capture_file, &Event::Message(request.clone())).expect("write");
    let line = String::from_utf8(capture_file.clone()).expect("a text line");
    assert!(
        line.contains(r#""channel_hex":"75362e726571756573742e636166e9""#),
        "{line}"
    );
    let replayed: Vec<Event> = file::read_events(&capture_file[..], Channels::new("u6"))
        .collect::<Result<_, _>>()
        .expect("read back");
    let Event::Message(again) = &replayed[0] else {
        panic!("a message")
    };
    assert_eq!(again.channel_bytes(), channel);
    assert_eq!(
        (&*again.topic, again.kind),
        ("caf\\xe9", EventKind::Request)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_that_are_not_messages_are_flagged_with_the_reason() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "f7").await;
    let deep = format!(
        r#"{{"data":{}1{},"sender":"deep"}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    server.publish_bytes(b"f7.slot.raw", b"hello there");
    server.publish_bytes(b"f7.slot.binary", b"\xff\xfe\x00\x01");
    server.publish_bytes(b"f7.slot.deep", deep.as_bytes());
    server.publish_bytes(b"f7.slot.badbytes", b"{\"data\":\"\xff\",\"sender\":\"b\"}");
    server.publish_bytes(b"f7.slot.bare", b"[1,2]");
    server.publish_bytes(b"f7.slot.fine", br#"{"data":1,"sender":"ok"}"#);
    watch.messages(6).await;
    let why = |topic: &str| -> Option<String> {
        let trace = watch
            .inspector
            .store()
            .by_topic(topic)
            .next()
            .expect("trace");
        let event = trace.request.as_ref().expect("event");
        event.payload_error.as_deref().map(str::to_owned)
    };
    assert!(
        why("raw").is_some_and(|why| why.starts_with("not JSON")),
        "{:?}",
        why("raw")
    );
    assert!(why("binary").is_some_and(|why| why.contains("not UTF-8")));
    assert!(
        why("deep")
            .is_some_and(|why| why.contains("envelope did not parse") && why.contains("recursion")),
        "{:?}",
        why("deep")
    );
    assert!(why("badbytes").is_some_and(|why| why.contains("envelope did not parse")));
    assert!(why("bare").is_some_and(|why| why.contains("bare JSON")));
    assert_eq!(why("fine"), None);

    let deep_trace = watch
        .inspector
        .store()
        .by_topic("deep")
        .next()
        .expect("deep");
    let event = deep_trace.request.as_ref().expect("event");
    assert_eq!(
        event.data(),
        None,
        "a broken envelope is never shown as the data"
    );
    assert!(deep_trace.is_flagged());
    let json = trace_json(deep_trace);
    assert!(
        json["payload_error"]
            .as_str()
            .is_some_and(|why| why.contains("envelope did not parse")),
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_reply_after_a_timeout_keeps_both_facts_and_a_spurious_499_is_no_failure() {
    let server = Server::shared(Backend::Redis);
    let mut watch = Watch::start(server, "l8").await;
    // Our caller's timeout notice, then the responder's real answer.
    publish(
        server,
        "l8.request.slow",
        r#"{"data":1,"code":200,"sender":"late"}"#,
    );
    publish(
        server,
        "l8.response.late",
        r#"{"data":"Execution timed out","code":499,"sender":"late"}"#,
    );
    publish(
        server,
        "l8.response.late",
        r#"{"data":"done","code":200,"sender":"x"}"#,
    );
    // Go: a 200, then its never-cancelled timer's 499.
    publish(
        server,
        "l8.request.fast",
        r#"{"data":1,"code":200,"sender":"go"}"#,
    );
    publish(
        server,
        "l8.response.go",
        r#"{"data":"ok","code":200,"sender":"l8.response.go"}"#,
    );
    publish(
        server,
        "l8.response.go",
        r#"{"data":"Execution timed out","code":499,"sender":"go"}"#,
    );
    watch.messages(6).await;

    let slow = watch
        .inspector
        .store()
        .by_topic("slow")
        .next()
        .expect("slow");
    assert_eq!(slow.status, TraceStatus::Timeout, "the caller did time out");
    let (_, code) = slow
        .answered_after_timeout()
        .expect("and the responder answered");
    assert_eq!(code, Code::OK);
    assert!(slow.notes()[0].starts_with("timed out at the caller; the responder answered 200"));

    let fast = watch
        .inspector
        .store()
        .by_topic("fast")
        .next()
        .expect("fast");
    assert_eq!(fast.status, TraceStatus::Ok);
    assert_eq!(fast.spurious_timeouts(), 1);
    assert!(fast.notes()[0].starts_with("spurious timeout notice after success"));
    let now = Utc::now();
    let figures = watch.inspector.stats().topic("fast", now).expect("fast");
    assert_eq!((figures.count, figures.errors), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_bounded_by_bytes_payloads_cut_short_and_extras_capped() {
    let server = Server::shared(Backend::Redis);
    let options = InspectorOptions {
        max_memory: 1 << 20,
        ..InspectorOptions::default()
    };
    let mut watch = Watch::with(server, "m9", options).await;
    let big = format!(r#"{{"data":"{}","sender":"big"}}"#, "x".repeat(200 << 10));
    for _ in 0..30 {
        publish(server, "m9.slot.big", &big);
    }
    watch.messages(30).await;
    let store = watch.inspector.store();
    assert!(store.bytes() <= 1 << 20, "{} bytes held", store.bytes());
    assert!(store.evicted() > 0 && store.evicted_bytes() > 0);
    let newest = store.newest_first().next().expect("newest");
    let event = newest.request.as_ref().expect("signal");
    assert_eq!(
        event.payload.len(),
        (64 << 10) - 16,
        "a prefix is kept, in 64 KiB with its counts"
    );
    assert_eq!(event.payload_len(), big.len(), "with its full length");
    assert_eq!(newest.size(), big.len());
    assert!(
        newest
            .notes()
            .iter()
            .any(|note| note.contains("only its first 65520 bytes"))
    );
    assert_eq!(watch.inspector.counters().truncated, 30);

    // One request, 150 replies: the first and 100 later ones are kept, the rest counted.
    publish(server, "m9.request.many", r#"{"data":1,"sender":"many"}"#);
    for n in 0..150 {
        publish(
            server,
            "m9.response.many",
            &format!(r#"{{"data":{n},"code":200}}"#),
        );
    }
    watch.messages(181).await;
    let trace = watch
        .inspector
        .store()
        .by_topic("many")
        .next()
        .expect("many");
    assert_eq!((trace.later_replies.len(), trace.cut), (100, 49));
    assert_eq!(watch.inspector.counters().cut, 49);
}

#[test]
fn interned_names_are_pruned_with_their_traces() {
    let mut inspector = Inspector::new(InspectorOptions {
        capacity: 10,
        ..InspectorOptions::default()
    });
    for n in 0..5_000 {
        inspector.ingest(at(
            n,
            &format!("gilmour.slot.entity.{n}"),
            r#"{"data":1,"sender":"s"}"#,
        ));
    }
    assert_eq!(inspector.store().len(), 10);
    let stats_topics = inspector.stats().topics(Utc::now()).len();
    assert!(stats_topics <= gilmour::inspect::stats::MAX_TOPICS);
    // What the store no longer uses is let go (the statistics keep their own names).
    let interned = inspector.interned();
    assert!(
        interned < 300,
        "{interned} names interned for a store of 10 traces"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loss_keeps_its_place_when_the_buffer_is_full() {
    let server = Server::start(Backend::Redis);
    let mut redis = RedisConfig::new(server.url());
    redis.min_backoff = Duration::from_millis(20);
    let (capture, mut events) = Capture::start(redis, Channels::default(), 4)
        .await
        .expect("capture");
    for n in 0..10 {
        publish(
            &server,
            "gilmour.slot.before",
            &json!({"data": n, "sender": format!("b{n}")}).to_string(),
        );
    }
    let deadline = std::time::Instant::now() + WAIT;
    while capture.received() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the messages did not arrive"
        );
        tokio::task::yield_now().await;
    }
    // The buffer is full (4 of 10 kept) when the link is lost.
    assert_eq!(server.command(&["CLIENT", "KILL", "TYPE", "pubsub"]), "1");
    let mut seen = Vec::new();
    while !seen.iter().any(|event| matches!(event, Event::Gap(_))) {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("events keep coming")
            .expect("capture running");
        seen.push(event);
    }
    let lost_at = seen
        .iter()
        .position(|event| matches!(event, Event::Lost { .. }))
        .expect("the loss");
    assert_eq!(
        lost_at, 4,
        "the loss comes after the 4 messages before it: {seen:#?}"
    );
    assert!(
        seen[..4]
            .iter()
            .all(|event| matches!(event, Event::Message(_)))
    );
    assert_eq!(capture.dropped(), 6);
    publish(
        &server,
        "gilmour.slot.after",
        r#"{"data":"after","sender":"a"}"#,
    );
    let next = tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("more")
        .expect("running");
    assert!(
        matches!(&next, Event::Message(m) if &*m.topic == "after"),
        "{next:?}"
    );
}

#[test]
fn a_reply_after_the_unanswered_window_keeps_both_facts() {
    let mut inspector = Inspector::default();
    inspector.ingest(at(0, "gilmour.request.slow", r#"{"data":1,"sender":"w"}"#));
    let mut updates = Vec::new();
    let swept = chrono::DateTime::from_timestamp(1_764_615_600 + 31, 0).expect("time");
    inspector.sweep(swept, |update| updates.push(update));
    assert!(matches!(
        updates[..],
        [gilmour::inspect::Update::Completed(_)]
    ));
    let update = inspector.ingest(at(40, "gilmour.response.w", r#"{"data":1,"code":200}"#));
    assert!(
        matches!(update, gilmour::inspect::Update::Changed(_)),
        "{update:?}"
    );
    let trace = inspector.store().newest_first().next().expect("trace");
    assert_eq!((trace.status, trace.revision), (TraceStatus::Ok, 1));
    assert_eq!(trace.unanswered_at, Some(swept));
    assert_eq!(
        trace.notes(),
        ["shown as unanswered after 31.0s; the reply came 40.0s after the request"]
    );
    let figures = inspector.stats().topic("slow", swept).expect("figures");
    assert_eq!((figures.count, figures.errors), (1, 0));
    assert_eq!(figures.latency.map(|l| l.max.as_secs()), Some(40));
    assert_eq!(inspector.counters().unanswered, 0);
}
