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

/// Runs one of the peer decoders in `tests/peers` on payloads, one per line; its output
/// lines, one per payload.
fn decode_as_peer(program: &[&str], payloads: &[String]) -> Vec<Value> {
    use std::io::Write;
    let scratch = std::env::temp_dir().join(format!("gilmour-peers-{}", std::process::id()));
    let mut child = std::process::Command::new(program[0])
        .args(&program[1..])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers"))
        // Go keeps its build cache under HOME; a test machine's may not be writable.
        .env("GOCACHE", scratch.join("gocache"))
        .env("HOME", &scratch)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {program:?} (install it): {error}"));
    let mut input = child.stdin.take().expect("stdin");
    for payload in payloads {
        writeln!(input, "{payload}").expect("write");
    }
    drop(input);
    let output = child.wait_with_output().expect("decoder");
    assert!(
        output.status.success(),
        "{program:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("{program:?} said: {line}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_and_ruby_decoders_read_messages_that_carry_a_call_context() {
    let server = Server::shared(Backend::Redis);
    let engine = Engine::connect(&server.url()).await.expect("connect");
    engine
        .reply_to(
            "compat.ctx.inner",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await
        .expect("reply_to");
    engine
        .slot(
            "compat.ctx.note",
            HandlerOptions::default(),
            |_request| async {},
        )
        .await
        .expect("slot");
    let weak = engine.downgrade();
    engine
        .reply_to(
            "compat.ctx.outer",
            HandlerOptions::default(),
            move |request: Request| {
                let weak = weak.clone();
                async move {
                    let Some(engine) = weak.upgrade() else {
                        return Reply::with_code(503, "gone");
                    };
                    let data = request.into_data();
                    let nested = engine
                        .request("compat.ctx.inner", data.clone(), quick())
                        .await;
                    let _ = engine.signal("compat.ctx.note", json!("<&>")).await;
                    let pipe = support::compose::tree("compat.ctx.inner | compat.ctx.inner");
                    let piped = pipe
                        .execute(&engine, data, gilmour::compose::ExecuteOptions::default())
                        .await;
                    match nested {
                        Ok(response) if piped.is_ok() => Reply::ok(response.into_data()),
                        _ => Reply::with_code(500, "a nested call failed"),
                    }
                }
            },
        )
        .await
        .expect("reply_to");
    let mut raw = RawSubscriber::psubscribe(server, "gilmour.[rs][el]*.compat.ctx.*");
    let response = engine
        .request("compat.ctx.outer", json!({"q": "<b> & é"}), quick())
        .await
        .expect("answered");
    assert!(response.is_ok(), "{:?}", response.reply);
    // The outer request, the nested request, the signal and the composition's two steps.
    let payloads: Vec<String> = (0..5).map(|_| raw.next().1).collect();
    let with = |field: &str| {
        payloads
            .iter()
            .filter(|payload| payload.contains(&format!(r#""{field}":"#)))
            .count()
    };
    assert_eq!(
        (with("parent"), with("composition")),
        (4, 2),
        "{payloads:#?}"
    );

    let expected: Vec<Value> = payloads
        .iter()
        .map(|payload| {
            let value: Value = serde_json::from_str(payload).expect("json");
            json!({"data": value["data"], "code": value["code"], "sender": value["sender"]})
        })
        .collect();
    let go = decode_as_peer(&["go", "run", "go_decoder.go"], &payloads);
    assert_eq!(go, expected, "gilmour-e-go's decoding");
    let ruby = decode_as_peer(&["ruby", "ruby_decoder.rb"], &payloads);
    assert_eq!(ruby, expected, "the Ruby gem's decoding");
    engine.shutdown().await.expect("shutdown");
}
