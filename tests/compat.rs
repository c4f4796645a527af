//! Wire compatibility with the Go and Ruby libraries: peers that speak to Redis exactly
//! as gilmour-e-go and the Ruby gem do (their bytes, their sender ids, their lock keys),
//! driven over raw RESP connections, call our services and answer our requests.

mod support;

use gilmour::engine::{Engine, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::protocol::Code;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Backend, RawSubscriber, Server};

fn quick() -> RequestOptions {
    RequestOptions::timeout(Duration::from_secs(5))
}

/// Calls a topic the way a Go caller does: NUMSUB, subscribe to its own reply channel,
/// publish `{"data":…,"code":200,"sender":"<uuid v4>"}`; returns the reply payload.
fn go_style_request(server: &Server, topic: &str, data: &str) -> Value {
    let sender = "6ba7b810-9dad-41d1-80b4-00c04fd430c8";
    let channel = format!("gilmour.request.{topic}");
    assert_eq!(
        server.command(&["PUBSUB", "NUMSUB", &channel]),
        format!("{channel}\n1")
    );
    let mut replies = RawSubscriber::psubscribe(server, &format!("gilmour.response.{sender}"));
    let request = format!(r#"{{"data":{data},"code":200,"sender":"{sender}"}}"#);
    assert_eq!(server.command(&["PUBLISH", &channel, &request]), "1");
    let (reply_channel, payload) = replies.next();
    assert_eq!(reply_channel, format!("gilmour.response.{sender}"));
    // The lock a Go responder would have raced for is ours too.
    assert_eq!(
        server.command(&["EXISTS", &format!("{sender}_default")]),
        "1"
    );
    serde_json::from_str(&payload).expect("a JSON reply")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_caller_calls_our_service() {
    let server = Server::shared(Backend::Redis);
    let engine = Engine::connect(&server.url()).await.expect("connect");
    engine
        .reply_to(
            "compat.echo",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(json!({"echo": request.into_data()})) },
        )
        .await
        .expect("reply_to");
    // Go's encoding/json escapes <, > and & in strings.
    let reply = tokio::task::spawn_blocking(|| {
        go_style_request(
            Server::shared(Backend::Redis),
            "compat.echo",
            r#""\u003cb\u003e \u0026""#,
        )
    })
    .await
    .expect("go caller");
    assert_eq!(reply["data"], json!({"echo": "<b> &"}));
    assert_eq!(reply["code"], 200);
    assert_eq!(
        reply["sender"],
        "gilmour.response.6ba7b810-9dad-41d1-80b4-00c04fd430c8"
    );
    let keys: Vec<&str> = reply
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 3, "exactly data, code and sender: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ruby_caller_with_code_0_and_a_hex_sender_calls_our_service() {
    let server = Server::shared(Backend::Redis);
    let engine = Engine::connect(&server.url()).await.expect("connect");
    engine
        .reply_to(
            "compat.ruby",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await
        .expect("reply_to");
    let reply = tokio::task::spawn_blocking(|| {
        let server = Server::shared(Backend::Redis);
        let sender = "0f8fad5bd9cb469fa16570867728950e";
        let mut replies = RawSubscriber::psubscribe(server, &format!("gilmour.response.{sender}"));
        let request = format!(r#"{{"data":{{"a":1}},"code":0,"sender":"{sender}"}}"#);
        server.command(&["PUBLISH", "gilmour.request.compat.ruby", &request]);
        replies.next()
    })
    .await
    .expect("ruby caller");
    let value: Value = serde_json::from_str(&reply.1).expect("json");
    assert_eq!(
        (value["data"].clone(), value["code"].clone()),
        (json!({"a": 1}), json!(200))
    );
}

/// Serves one request the way a Go responder does: lock with the sender and group, reply
/// with the reply channel as sender.
fn go_style_responder(server: &Server, mut requests: RawSubscriber, code: i64) {
    let (_, payload) = requests.next();
    let request: Value = serde_json::from_str(&payload).expect("our request is JSON");
    let keys: Vec<&str> = request
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["code", "data", "sender"], "exactly the three fields");
    assert_eq!(request["code"], 200, "requests carry code 200, as Go's do");
    let sender = request["sender"].as_str().expect("sender");
    let lock = format!("{sender}_default");
    assert_eq!(
        server.command(&["SET", &lock, &lock, "NX", "EX", "600"]),
        "OK"
    );
    let reply_channel = format!("gilmour.response.{sender}");
    let reply = json!({"data": {"got": request["data"]}, "code": code, "sender": reply_channel});
    server.command(&["PUBLISH", &reply_channel, &reply.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_call_a_go_service() {
    let server = Server::shared(Backend::Redis);
    let requests = RawSubscriber::subscribe(server, "gilmour.request.compat.go-service");
    let responder = std::thread::spawn(move || {
        go_style_responder(Server::shared(Backend::Redis), requests, 200);
    });
    let engine = Engine::connect(&server.url()).await.expect("connect");
    let response = engine
        .request("compat.go-service", json!([1, "two"]), quick())
        .await
        .expect("answered");
    assert_eq!(response.code(), Code::OK);
    assert_eq!(response.data(), &json!({"got": [1, "two"]}));
    responder.join().expect("responder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_subscriber_is_not_a_listener() {
    let server = Server::shared(Backend::Redis);
    // Like an inspector's PSUBSCRIBE: NUMSUB does not count it, so nothing is published.
    let _watcher = RawSubscriber::psubscribe(server, "gilmour.request.compat.watched*");
    let engine = Engine::connect(&server.url()).await.expect("connect");
    let error = engine
        .request("compat.watched", json!(1), quick())
        .await
        .expect_err("nobody serves it");
    assert!(matches!(
        error,
        gilmour::engine::EngineError::NoListeners { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_go_service_reaches_us_as_its_code() {
    let server = Server::shared(Backend::Redis);
    let requests = RawSubscriber::subscribe(server, "gilmour.request.compat.go-fail");
    let responder = std::thread::spawn(move || {
        go_style_responder(Server::shared(Backend::Redis), requests, 503);
    });
    let engine = Engine::connect(&server.url()).await.expect("connect");
    let response = engine
        .request("compat.go-fail", json!("x"), quick())
        .await
        .expect("answered");
    assert_eq!(response.code(), Code(503));
    assert_eq!(response.data(), &json!({"got": "x"}));
    responder.join().expect("responder");
}
