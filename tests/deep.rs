//! Deep capture against a real redis-server: MONITOR names who answered, who lost the
//! lock race and Redis's own timing; a refused MONITOR leaves the normal capture going.

mod support;

use gilmour::engine::{Engine, RequestOptions};
use gilmour::inspect::deep::{DEFAULT_DEEP_BUFFER, DeepCapture, DeepError};
use gilmour::inspect::{TraceKind, TraceStatus};
use gilmour::protocol::Channels;
use gilmour::transport::RedisConfig;
use serde_json::json;
use std::time::{Duration, Instant};
use support::process::{Background, run, text};
use support::watch::{WAIT, Watch};
use support::{Backend, Server};

support::on_both_backends!(every_trace_names_the_winner_among_two_contenders_and_redis_timing);

async fn every_trace_names_the_winner_among_two_contenders_and_redis_timing(backend: Backend) {
    let server = Server::start(backend);
    // Two processes serve one group: one SET NX wins each request.
    let _first = Background::serving(&server, &["reply", "echo", "--group", "pool"]);
    let _second = Background::serving(&server, &["reply", "echo", "--group", "pool"]);
    let mut watch = Watch::start(&server, "gilmour").await;
    let (_deep, mut deep) = DeepCapture::start(
        RedisConfig::new(server.url()),
        Channels::default(),
        DEFAULT_DEEP_BUFFER,
    )
    .await
    .expect("deep capture");
    // Hostile commands first: quotes, escapes, binary and huge arguments.
    server.publish_bytes(
        b"gilmour.request.caf\xe9 \"x\"",
        b"\x00\xff\"\\\n{\"sender\":",
    );
    server.publish_bytes(b"gilmour.slot.big", &vec![b'"'; 200_000]);
    server.command(&["SET", "\"odd key\\", "v", "NX", "EX", "5"]);

    let caller = Engine::connect(&server.url()).await.expect("caller");
    let mut round_trips = Vec::new();
    for n in 0..10 {
        let started = Instant::now();
        let response = caller
            .request(
                "echo",
                json!(n),
                RequestOptions::timeout(Duration::from_secs(5)),
            )
            .await
            .expect("answered");
        round_trips.push((response.sender.to_string(), started.elapsed()));
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    let answered = |watch: &Watch| {
        watch
            .inspector
            .store()
            .newest_first()
            .filter(|trace| {
                trace.kind == TraceKind::Request && &*trace.topic == "echo" && trace.is_complete()
            })
            .filter(|trace| {
                trace.deep.as_ref().is_some_and(|deep| {
                    deep.reply_at.is_some()
                        && deep
                            .locks
                            .first()
                            .is_some_and(|race| race.contenders() == 2)
                })
            })
            .count()
    };
    while answered(&watch) < 10 {
        tokio::select! {
            Some(event) = watch.events.recv() => { watch.inspector.ingest(event); }
            Some(event) = deep.recv() => { watch.inspector.ingest_deep(event); }
            () = tokio::time::sleep_until(deadline) => panic!("only {} traces told in full", answered(&watch)),
        }
    }
    let last_sender = round_trips
        .last()
        .map(|(sender, _)| sender.clone())
        .expect("ten");
    for (sender, round_trip) in round_trips {
        let id = watch.inspector.store().by_sender(&sender).expect("traced");
        let trace = watch.inspector.store().get(id).expect("trace");
        assert_eq!(trace.status, TraceStatus::Ok);
        let deep = trace.deep.as_ref().expect("deep facts");
        let race = &deep.locks[0];
        assert_eq!(
            &*race.key,
            format!("{sender}pool"),
            "the lock key is <sender><group>"
        );
        assert_eq!(race.ttl, Some(600));
        let winner = race.winner().expect("a winner");
        assert_eq!(
            deep.responder.as_ref().map(|client| &client.addr),
            Some(&winner.addr),
            "the lock's winner answered"
        );
        assert_ne!(
            race.bids[1].client.addr, winner.addr,
            "the other process lost"
        );
        let caller_client = deep.caller.as_ref().expect("caller");
        assert_ne!(caller_client.addr, winner.addr);
        assert_eq!(
            caller_client.name.as_deref(),
            caller.redis().client_name.as_deref(),
            "processes have names"
        );
        assert!(
            winner
                .name
                .as_deref()
                .is_some_and(|name| name.starts_with("gilmour:")),
            "{winner:?}"
        );
        assert!(
            deep.calls.iter().any(|call| call
                .command
                .starts_with("PUBSUB NUMSUB gilmour.request.echo")),
            "the caller's NUMSUB belongs to its request: {:?}",
            deep.calls
        );
        let server_latency = deep.server_latency().expect("server latency");
        assert!(
            server_latency <= round_trip,
            "{sender}: Redis saw {server_latency:?}, the caller waited {round_trip:?}"
        );
        assert!(deep.lock_latency().expect("lock latency") <= server_latency);
    }
    let select = |text: &str| {
        let filter: gilmour::inspect::Filter = text.parse().expect("filter");
        watch
            .inspector
            .store()
            .newest_first()
            .filter(|trace| filter.matches(*trace))
            .count()
    };
    assert_eq!(select("topic:echo contenders:>1"), 10);
    // The talk's load balancing, made visible: who won how many.
    let figures = watch
        .inspector
        .stats()
        .topic("echo", chrono::Utc::now())
        .expect("echo");
    let answered: u64 = figures.responders.iter().map(|(_, count)| count).sum();
    assert_eq!(answered, 10, "{:?}", figures.responders);
    assert!((1..=2).contains(&figures.responders.len()));
    assert!(
        figures
            .responders
            .iter()
            .all(|(name, _)| name.starts_with("gilmour:"))
    );
    assert_eq!(select("contenders:>2"), 0);
    let some_winner = {
        let id = watch
            .inspector
            .store()
            .by_sender(&last_sender)
            .expect("traced");
        let trace = watch.inspector.store().get(id).expect("trace");
        trace
            .deep
            .as_ref()
            .and_then(|deep| deep.responder.clone())
            .expect("responder")
            .addr
    };
    assert!(select(&format!("responder:\"{some_winner}\"")) >= 1);
    assert_eq!(select("caller:nobody-at-all"), 0);
    caller.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_monitor_is_one_clear_line_and_the_capture_goes_on() {
    let server = Server::start(Backend::Redis);
    server.command(&[
        "ACL",
        "SETUSER",
        "watcher",
        "on",
        ">secret-pw",
        "~*",
        "&*",
        "+@all",
        "-monitor",
    ]);
    let url = format!("redis://watcher:secret-pw@127.0.0.1:{}", server.port());
    let refused = DeepCapture::start(RedisConfig::new(url.clone()), Channels::default(), 16).await;
    assert!(
        matches!(refused, Err(DeepError::Refused(_))),
        "{:?}",
        refused.err()
    );

    let tail = Background::start_at(&url, &["tail", "--deep"]);
    let first = tail.stderr_line();
    assert!(
        first.starts_with("gilmour: Redis refused MONITOR")
            && first.contains("normal capture goes on"),
        "{first}"
    );
    assert!(!first.contains("secret-pw"), "never the password: {first}");
    let second = tail.stderr_line();
    assert!(
        second.contains("tailing") && !second.contains("deep capture is on"),
        "{second}"
    );
    let output = run(&server, &["signal", "news", "\"hi\""]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let line = tail.stdout_line();
    assert!(line.contains(" slot ") && line.contains("news"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_names_its_connection_and_the_name_survives_a_reconnect() {
    let server = Server::start(Backend::Redis);
    let engine = Engine::connect(&server.url()).await.expect("engine");
    let name = engine.redis().client_name.clone().expect("a name");
    assert!(
        name.starts_with("gilmour:") && name.contains("-pid-"),
        "{name}"
    );
    let named = |server: &Server| {
        server
            .command(&["CLIENT", "LIST"])
            .lines()
            .filter(|line| line.contains(&format!(" name={name} ")))
            .count()
    };
    assert_eq!(named(&server), 1);
    let killed = server.command(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
    assert!(
        killed.parse::<u32>().is_ok_and(|count| count >= 1),
        "{killed}"
    );
    // The first command after the loss finds the socket dead; the ones after run on a
    // new socket, named again.
    let deadline = Instant::now() + WAIT;
    while named(&server) == 0 {
        assert!(
            Instant::now() < deadline,
            "the new connection was not named"
        );
        let _ = engine.signal("nobody.listens", json!(1)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine.shutdown().await.expect("shutdown");
}

/// The first object `tail --json` prints whose `kind` is `kind` and whose spans name
/// `topic`, read within [`WAIT`].
fn tree_naming(tail: &Background, kind: &str, topic: &str) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "no {kind} tree naming {topic}");
        let line = tail.stdout_line();
        let object: serde_json::Value = serde_json::from_str(&line).expect("json");
        let names_it = object["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|span| span["topic"] == topic));
        if object["kind"] == kind && names_it {
            return object;
        }
    }
}

/// (depth, step, topic) of each span, the steps under one parent in step order (two
/// parallel branches start in either order).
fn shape(tree: &serde_json::Value) -> Vec<(u64, Option<String>, String)> {
    let mut rows: Vec<(u64, Option<String>, String)> = tree["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|span| {
            (
                span["depth"].as_u64().expect("depth"),
                span["step"].as_str().map(str::to_owned),
                span["topic"].as_str().expect("topic").to_owned(),
            )
        })
        .collect();
    rows[1..].sort_by(|a, b| a.1.cmp(&b.1));
    rows
}

#[test]
fn a_composition_fired_by_gilmour_compose_is_one_tree() {
    let server = Server::shared(Backend::Redis);
    let _a = Background::serving(server, &["reply", "tree.a", "--exec", "tr a-z A-Z"]);
    let _b = Background::serving(server, &["reply", "tree.b"]);
    let _c = Background::serving(server, &["reply", "tree.c", "--exec", "sleep 0.02; cat"]);
    let tail = Background::start(server, &["tail", "--tree", "--json", "-f", "topic:tree.*"]);
    assert!(tail.stderr_line().contains("tailing"));
    let output = run(server, &["compose", "tree.a | [tree.b, tree.c]", "\"x\""]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), r#"["X","X"]"#);

    let tree = tree_naming(&tail, "comp", "tree.a");
    let step = |place: &str| Some(place.to_owned());
    assert_eq!(
        shape(&tree),
        [
            (0, None, "(composition)".to_owned()),
            (1, step("1"), "tree.a".to_owned()),
            (1, step("2.1"), "tree.b".to_owned()),
            (1, step("2.2"), "tree.c".to_owned()),
        ]
    );
    assert_eq!(tree["status"], "ok");
    assert_eq!(tree["children"].as_array().map(Vec::len), Some(3));
    // The branches start after the first step ends, and the whole outlasts its slowest.
    let spans = tree["spans"].as_array().expect("spans");
    let ms = |span: &serde_json::Value, field: &str| span[field].as_f64().expect(field);
    let first = spans
        .iter()
        .find(|span| span["step"] == "1")
        .expect("step 1");
    for branch in spans
        .iter()
        .filter(|span| span["depth"] == 1 && span["step"] != "1")
    {
        assert!(ms(branch, "start_ms") >= ms(first, "start_ms") + ms(first, "duration_ms"));
        assert!(
            ms(branch, "start_ms") + ms(branch, "duration_ms")
                <= ms(&spans[0], "duration_ms") + 0.001
        );
    }
}

#[test]
fn a_nested_exec_service_is_one_tree() {
    let server = Server::shared(Backend::Redis);
    let inner = format!(
        "{} request tree.inner \"$(cat)\"",
        env!("CARGO_BIN_EXE_gilmour")
    );
    let _outer = Background::serving(server, &["reply", "tree.outer", "--exec", &inner]);
    let _inner = Background::serving(server, &["reply", "tree.inner"]);
    let tail = Background::start(
        server,
        &["tail", "--tree", "--json", "-f", "topic:tree.outer"],
    );
    assert!(tail.stderr_line().contains("tailing"));
    let output = run(server, &["request", "tree.outer", r#"{"n":1}"#]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), r#"{"n":1}"#);

    let tree = tree_naming(&tail, "req", "tree.inner");
    assert_eq!(
        shape(&tree),
        [
            (0, None, "tree.outer".to_owned()),
            (1, None, "tree.inner".to_owned()),
        ]
    );
    let spans = tree["spans"].as_array().expect("spans");
    assert_eq!(tree["children"], json!([spans[1]["sender"]]));
    assert_eq!(tree["status"], "ok");
}

#[test]
fn reply_exec_tells_its_command_the_parent_unless_told_not_to() {
    let server = Server::shared(Backend::Redis);
    let show = r#"echo "\"${GILMOUR_PARENT:-none}\"""#;
    let _told = Background::serving(server, &["reply", "tree.env", "--exec", show]);
    let _untold = Background::serving(
        server,
        &["reply", "tree.env-off", "--exec", show, "--no-call-context"],
    );
    let output = run(server, &["request", "tree.env", "1", "--full"]);
    let reply: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let sender = reply["sender"].as_str().expect("sender");
    assert_eq!(
        Some(reply["data"].as_str().expect("data")),
        sender.strip_prefix("gilmour.response."),
        "GILMOUR_PARENT is the sender of the request being handled"
    );
    let output = run(server, &["request", "tree.env-off", "1"]);
    assert_eq!(text(&output.stdout).trim(), r#""none""#);
}

#[test]
fn deep_capture_infers_the_pipe_of_a_caller_that_sends_no_context() {
    let server = Server::start(Backend::Redis);
    let _up = Background::serving(&server, &["reply", "infer.up", "--exec", "tr a-z A-Z"]);
    let _rev = Background::serving(&server, &["reply", "infer.rev", "--exec", "rev"]);
    let tail = Background::start(&server, &["tail", "--deep", "--tree", "--json"]);
    assert!(tail.stderr_line().contains("deep capture is on"));
    // A caller like Go's or Ruby's: its messages name no parent and no composition.
    let output = run(
        &server,
        &[
            "compose",
            "--no-call-context",
            "infer.up | infer.rev",
            "\"abc\"",
        ],
    );
    assert_eq!(text(&output.stdout).trim(), r#""CBA""#);

    let tree = tree_naming(&tail, "comp", "infer.rev");
    assert_eq!(tree["inferred"], true);
    let step = |place: &str| Some(place.to_owned());
    assert_eq!(
        shape(&tree),
        [
            (0, None, "(composition)".to_owned()),
            (1, step("1"), "infer.up".to_owned()),
            (1, step("2"), "infer.rev".to_owned()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_link_that_goes_silent_is_replaced() {
    use gilmour::inspect::deep::Fact;

    let server = Server::start(Backend::Redis);
    let proxy = support::Proxy::start(server.port());
    let (_deep, mut deep) = DeepCapture::start(
        RedisConfig::new(proxy.url()),
        Channels::default(),
        DEFAULT_DEEP_BUFFER,
    )
    .await
    .expect("deep capture through the proxy");
    let _responder = Background::serving(&server, &["reply", "silent.echo"]);
    let caller = Engine::connect(&server.url()).await.expect("caller");
    // The MONITOR link (and its CLIENT LIST link) carry nothing for a minute, without
    // closing: a server gone from the network.
    proxy.stall_open_links(Duration::from_secs(60));
    let stalled = Instant::now();
    // Within seconds the capture has a new link, and sees new requests again.
    loop {
        assert!(
            stalled.elapsed() < Duration::from_secs(10),
            "deep capture still silent"
        );
        let response = caller
            .request("silent.echo", json!(1), RequestOptions::timeout(WAIT))
            .await
            .expect("request");
        let sender = response.sender.to_string();
        let seen = tokio::time::timeout(Duration::from_millis(500), async {
            while let Some(event) = deep.recv().await {
                if matches!(&event.fact, Fact::Request { sender: seen } if **seen == *sender) {
                    return true;
                }
            }
            false
        })
        .await;
        if seen == Ok(true) {
            break;
        }
    }
}
