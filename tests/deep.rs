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
