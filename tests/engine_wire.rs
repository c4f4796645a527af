//! What the engine leaves on both backends, a real redis-server and the built-in broker:
//! the exact messages, channels and response lock, error records under each error policy,
//! malformed requests, and the health ident (PROTOCOL.md).

mod support;

// Every test runs on two worker threads: the raw subscriber blocks its thread while it
// waits, and the engines under test must keep running meanwhile.

on_both_backends! {
    the_wire_carries_the_exact_fields_channels_and_lock,
    publish_policy_sends_a_record_with_named_fields,
    publish_policy_on_rubys_channel_sends_rubys_envelope,
    queue_policy_pushes_and_trims_and_ignore_does_nothing,
    malformed_json_is_reported_and_the_engine_keeps_serving,
    health_ident_hash_entry_and_reply_listing_topics,
    what_a_handler_sends_names_its_parent,
    an_engine_told_not_to_carry_context_sends_three_fields,
    in_context_gives_a_top_level_call_a_parent,
}

use gilmour::engine::{
    Engine, ErrorPolicy, HandlerOptions, Reply, Request, WeakEngine, current_context, in_context,
};
use gilmour::protocol::{CallContext, Code, CompositionStep, ErrorRecord, Sender};
use serde_json::{Value, json};
use support::engine::{connect, echo, engine_with, quick};
use support::{Backend, RawSubscriber, Server, on_both_backends};

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

async fn publish_policy_on_rubys_channel_sends_rubys_envelope(backend: Backend) {
    let server = Server::shared(backend);
    let engine = Engine::builder(&server.url())
        .prefix("rubypol")
        .error_policy(ErrorPolicy::Publish)
        .error_channel("rubypol.error")
        .connect()
        .await
        .expect("connect");
    engine
        .reply_to(
            "fail",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::with_code(500, "broken") },
        )
        .await
        .expect("reply_to");
    let mut raw = RawSubscriber::psubscribe(server, "rubypol.error");
    let response = engine
        .request("fail", json!("x"), quick())
        .await
        .expect("request");
    assert_eq!(response.code(), Code(500));
    let (channel, payload) = raw.next();
    assert_eq!(channel, "rubypol.error");
    let envelope: Value = serde_json::from_str(&payload).expect("envelope json");
    // Ruby's layout: a message whose data is the record, `userdata` spelled Ruby's way.
    assert_eq!(envelope["code"], 0);
    assert!(
        envelope["sender"]
            .as_str()
            .is_some_and(|sender| !sender.is_empty())
    );
    let record = &envelope["data"];
    assert_eq!(record["topic"], "rubypol.request.fail");
    assert_eq!(record["request_data"], r#""x""#);
    assert_eq!(record["userdata"], "broken");
    assert!(record.get("user_data").is_none());
    assert_eq!(record["sender"], response.sender.as_str());
    assert_eq!(record["code"], 500);
    assert_eq!(record["multi_process"], false);
    // And our own inspector reads it back.
    let read = ErrorRecord::parse(payload.as_bytes()).expect("a record");
    assert_eq!(read.sender, response.sender);
    assert_eq!(read.user_data, json!("broken"));
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

/// Serves `outer`: it requests `inner` and signals `note`, and answers with the inner
/// reply and the call context its handler ran in.
async fn serve_outer(engine: &Engine, outer: &str, inner: &'static str, note: &'static str) {
    let weak: WeakEngine = engine.downgrade();
    engine
        .reply_to(outer, HandlerOptions::default(), move |request: Request| {
            let weak = weak.clone();
            async move {
                let Some(engine) = weak.upgrade() else {
                    return Reply::with_code(503, "engine gone");
                };
                let seen = current_context();
                let inner = engine.request(inner, request.into_data(), quick()).await;
                let _ = engine.signal(note, json!("nested")).await;
                match inner {
                    Ok(response) => Reply::ok(json!({
                        "inner": response.into_data(),
                        "context": serde_json::to_value(seen).expect("context"),
                    })),
                    Err(error) => Reply::with_code(500, error.to_string()),
                }
            }
        })
        .await
        .expect("reply_to");
}

async fn what_a_handler_sends_names_its_parent(backend: Backend) {
    let server = Server::shared(backend);
    // A prefix of its own: the other tests here watch `gilmour.*`.
    let engine = engine_with(backend, ErrorPolicy::Ignore, "ctxwire").await;
    echo(&engine, "t.ctx.inner").await;
    engine
        .slot("t.ctx.note", HandlerOptions::default(), |_request| async {})
        .await
        .expect("slot");
    serve_outer(&engine, "t.ctx.outer", "t.ctx.inner", "t.ctx.note").await;
    let mut raw = RawSubscriber::psubscribe(server, "ctxwire.[rs][el]*.t.ctx.*");
    let response = engine
        .request("t.ctx.outer", json!({"n": 1}), quick())
        .await
        .expect("request");
    assert!(response.is_ok(), "{:?}", response.reply);
    let outer = response.sender.to_string();
    assert_eq!(
        response.data()["context"],
        json!({"parent": outer}),
        "the handler runs in its request's context"
    );

    let (channel, payload) = raw.next();
    assert_eq!(channel, "ctxwire.request.t.ctx.outer");
    assert_eq!(
        payload,
        format!(r#"{{"data":{{"n":1}},"code":200,"sender":"{outer}"}}"#),
        "a top-level request carries no context"
    );
    let (channel, payload) = raw.next();
    assert_eq!(channel, "ctxwire.request.t.ctx.inner");
    let inner: Value = serde_json::from_str(&payload).expect("json");
    let inner_sender = inner["sender"].as_str().expect("sender").to_owned();
    assert_eq!(
        payload,
        format!(r#"{{"data":{{"n":1}},"code":200,"sender":"{inner_sender}","parent":"{outer}"}}"#)
    );
    let (channel, payload) = raw.next();
    assert_eq!(channel, "ctxwire.slot.t.ctx.note");
    let signal: Value = serde_json::from_str(&payload).expect("json");
    assert_eq!(signal["parent"], json!(outer));
    assert_eq!(signal["data"], json!("nested"));
}

async fn an_engine_told_not_to_carry_context_sends_three_fields(backend: Backend) {
    let server = Server::shared(backend);
    let engine = Engine::builder(&server.url())
        .prefix("ctxwire")
        .call_context(false)
        .connect()
        .await
        .expect("connect");
    echo(&engine, "t.noctx.inner").await;
    engine
        .slot(
            "t.noctx.note",
            HandlerOptions::default(),
            |_request| async {},
        )
        .await
        .expect("slot");
    serve_outer(&engine, "t.noctx.outer", "t.noctx.inner", "t.noctx.note").await;
    let mut raw = RawSubscriber::psubscribe(server, "ctxwire.request.t.noctx.inner");
    let response = engine
        .request("t.noctx.outer", json!(2), quick())
        .await
        .expect("request");
    assert!(response.is_ok(), "{:?}", response.reply);
    let (_, payload) = raw.next();
    let inner: Value = serde_json::from_str(&payload).expect("json");
    let inner_sender = inner["sender"].as_str().expect("sender");
    assert_eq!(
        payload,
        format!(r#"{{"data":2,"code":200,"sender":"{inner_sender}"}}"#)
    );
}

async fn in_context_gives_a_top_level_call_a_parent(backend: Backend) {
    let server = Server::shared(backend);
    let engine = engine_with(backend, ErrorPolicy::Ignore, "ctxwire").await;
    echo(&engine, "t.inctx").await;
    let mut raw = RawSubscriber::psubscribe(server, "ctxwire.request.t.inctx");
    let context = CallContext {
        parent: Some(Sender::from("outside-1")),
        composition: Some(CompositionStep {
            id: "c-7".to_owned(),
            step: "2.1".to_owned(),
        }),
    };
    let response = in_context(context, engine.request("t.inctx", json!(null), quick()))
        .await
        .expect("request");
    let (_, payload) = raw.next();
    assert_eq!(
        payload,
        format!(
            r#"{{"data":null,"code":200,"sender":"{}","parent":"outside-1","composition":{{"id":"c-7","step":"2.1"}}}}"#,
            response.sender
        )
    );
}
