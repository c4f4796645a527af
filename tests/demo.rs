//! The demo's services on both backends: the talk's pipelines give the expected answers,
//! the flaky service fails and queues its errors, game events reach each group once, the
//! traffic generator follows its rate; and where the demo's Redis comes from.

mod support;

use gilmour::compose::{ExecuteOptions, parse};
use gilmour::demo::{
    Demo, DemoOptions, EVENTS, RedisSource, Search, WEATHER, WORD_COUNT, find_redis_in,
};
use gilmour::engine::{Engine, RequestOptions};
use gilmour::protocol::{Code, ErrorRecord};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};
use support::{Backend, RawSubscriber, Server, on_both_backends};

const WAIT: Duration = Duration::from_secs(10);

on_both_backends! {
    pipelines_return_the_expected_results,
    flaky_fails_and_queues_its_errors,
    game_events_reach_each_group_once_and_badges_are_announced,
    every_service_process_announces_its_health,
    traffic_starts_when_given_a_rate,
}

/// The demo with a prefix of its own (the generator paused), and a caller on it.
async fn demo(backend: Backend, prefix: &str) -> (Demo, Engine) {
    let url = Server::shared(backend).url();
    let options = DemoOptions {
        prefix: prefix.to_owned(),
        rate: 0.0,
    };
    let demo = Demo::start(&url, options).await.expect("demo starts");
    let caller = Engine::builder(&url)
        .prefix(prefix)
        .connect()
        .await
        .expect("caller");
    (demo, caller)
}

fn quick() -> RequestOptions {
    RequestOptions::timeout(WAIT)
}

async fn pipelines_return_the_expected_results(backend: Backend) {
    let (demo, caller) = demo(backend, "demo-pipes").await;
    let options = ExecuteOptions::step_timeout(WAIT);

    let words = parse(WORD_COUNT).expect("word count parses");
    let outcome = words
        .execute(&caller, json!("https://example.org/any/url"), options)
        .await;
    assert_eq!(outcome.code, Code::OK, "{}", outcome.data);
    // The Gettysburg Address without stop words: "far" wins the four-way tie of
    // three-letter words seen twice (far, men, new, war) alphabetically.
    assert_eq!(
        outcome.data,
        json!([
            {"word": "far", "count": 2},
            {"word": "here", "count": 8},
            {"word": "great", "count": 3},
        ])
    );
    assert_eq!(outcome.steps.len(), 7);

    let weather = parse(WEATHER).expect("weather parses");
    let outcome = weather.execute(&caller, json!(null), options).await;
    assert_eq!(outcome.code, Code::OK, "{}", outcome.data);
    assert_eq!(
        outcome.data,
        json!([
            {"Cairo": 30, "Lima": 17, "Oslo": 0, "Pune": 25},
            {"Cairo": 40, "Lima": 21, "Oslo": 10, "Pune": 35},
        ])
    );

    let echo = caller.request("echo", "hi", quick()).await.expect("echo");
    assert_eq!(echo.data(), &json!("Pong hi"));
    let echo = caller
        .request("echo", json!({"n": 1}), quick())
        .await
        .expect("echo");
    assert_eq!(echo.data(), &json!(r#"Pong {"n":1}"#));
    demo.shutdown().await;
}

async fn flaky_fails_and_queues_its_errors(backend: Backend) {
    let server = Server::shared(backend);
    let (demo, caller) = demo(backend, "demo-flaky").await;
    let ask = |mode: &'static str| caller.request("example.flaky", json!({"mode": mode}), quick());
    assert_eq!(ask("ok").await.expect("ok").code(), Code::OK);
    let failed = ask("fail").await.expect("fail");
    assert_eq!(failed.code(), Code::INTERNAL);
    let stuck = ask("slow").await.expect("slow");
    assert_eq!(stuck.code(), Code::TIMEOUT, "the handler timeout answers");
    // The queue policy queues each record before the reply is published.
    let queue = "demo-flaky.errorqueue";
    assert_eq!(server.command(&["LLEN", queue]), "2");
    let newest =
        ErrorRecord::parse(server.command(&["LINDEX", queue, "0"]).as_bytes()).expect("a record");
    let oldest =
        ErrorRecord::parse(server.command(&["LINDEX", queue, "1"]).as_bytes()).expect("a record");
    assert_eq!(
        (oldest.code, &oldest.sender),
        (Code::INTERNAL, &failed.sender)
    );
    assert_eq!(
        (newest.code, &newest.sender),
        (Code::TIMEOUT, &stuck.sender)
    );
    assert_eq!(newest.topic, "demo-flaky.request.example.flaky");
    demo.shutdown().await;
}

async fn game_events_reach_each_group_once_and_badges_are_announced(backend: Backend) {
    let server = Server::shared(backend);
    let (demo, caller) = demo(backend, "demo-games").await;
    let mut log = RawSubscriber::psubscribe(server, "demo-games.slot.example.log");
    for player in ["ada", "grace"] {
        caller
            .signal("event.level.completed", json!({"player": player}))
            .await
            .expect("someone hears the event");
    }
    // Badges run in two processes, so the two announcements may come in either order;
    // were a signal handled twice, one player's badge would be among the first two twice.
    let mut announced: Vec<Value> = (0..2)
        .map(|_| {
            let (_, payload) = log.next();
            let message: Value = serde_json::from_str(&payload).expect("json");
            message["data"].clone()
        })
        .collect();
    announced.sort_by_key(|data| data["player"].to_string());
    assert_eq!(
        announced,
        [
            json!({"badge": "explorer", "player": "ada"}),
            json!({"badge": "explorer", "player": "grace"})
        ]
    );
    for topic in EVENTS {
        caller
            .signal(topic, json!({"player": "ken"}))
            .await
            .expect("every event has slots");
    }
    demo.shutdown().await;
}

async fn every_service_process_announces_its_health(backend: Backend) {
    let server = Server::shared(backend);
    let (demo, _caller) = demo(backend, "demo-health").await;
    let hash = "demo-health.known_host.health";
    assert_eq!(server.command(&["HLEN", hash]), "6");
    demo.shutdown().await;
    assert_eq!(server.command(&["HLEN", hash]), "0");
}

async fn traffic_starts_when_given_a_rate(backend: Backend) {
    let server = Server::shared(backend);
    let (demo, _caller) = demo(backend, "demo-traffic").await;
    assert_eq!(demo.traffic().fired(), 0, "paused at rate 0");
    let mut raw = RawSubscriber::psubscribe(server, "demo-traffic.*");
    demo.traffic().set_rate(40.0);
    assert_eq!(demo.traffic().rate(), 40.0);
    let wanted: BTreeSet<&str> = [
        "demo-traffic.request.echo",
        "demo-traffic.request.example.flaky",
        "demo-traffic.request.example.fetch",
        "demo-traffic.request.example.popular5",
        "demo-traffic.request.weather.max",
        "demo-traffic.slot.example.log",
        "demo-traffic.slot.event.player.joined",
        "demo-traffic.slot.event.level.completed",
    ]
    .into_iter()
    .collect();
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    while !wanted.iter().all(|channel| seen.contains(*channel)) {
        assert!(Instant::now() < deadline, "only saw {seen:?}");
        seen.insert(raw.next().0);
    }
    assert!(demo.traffic().fired() >= 7);
    demo.traffic().set_rate(-1.0);
    assert_eq!(demo.traffic().rate(), 0.0, "a negative rate pauses");
    demo.shutdown().await;
}

fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

fn pong(url: &str) -> bool {
    let addr = url.trim_start_matches("redis://");
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    std::io::Write::write_all(&mut stream, b"PING\r\n").is_ok() && {
        let mut reply = [0; 7];
        std::io::Read::read_exact(&mut stream, &mut reply).is_ok() && &reply == b"+PONG\r\n"
    }
}

#[tokio::test]
async fn a_given_url_is_used_as_it_is() {
    let search = Search {
        local: closed_port(),
        redis_server: "/nonexistent/redis-server".to_owned(),
    };
    let source = find_redis_in(Some("redis://db.example:7000/2"), search)
        .await
        .expect("source");
    assert!(matches!(source, RedisSource::Given(_)));
    assert_eq!(source.url(), "redis://db.example:7000/2");
    assert_eq!(
        source.to_string(),
        "redis://db.example:7000/2 (the Redis given)"
    );
}

#[tokio::test]
async fn a_running_redis_comes_before_starting_one() {
    let server = Server::start(Backend::Redis);
    let search = Search {
        local: SocketAddr::from(([127, 0, 0, 1], server.port())),
        redis_server: "redis-server".to_owned(),
    };
    let source = find_redis_in(None, search).await.expect("source");
    assert!(matches!(source, RedisSource::Running(_)), "{source:?}");
    assert_eq!(source.url(), server.url());
}

#[tokio::test]
async fn an_installed_redis_server_is_started_privately_and_stopped_on_drop() {
    let search = Search {
        local: closed_port(),
        redis_server: "redis-server".to_owned(),
    };
    let source = find_redis_in(None, search).await.expect("source");
    assert!(matches!(source, RedisSource::Private(_)), "{source:?}");
    let url = source.url();
    assert!(pong(&url), "the private server answers");
    drop(source);
    assert!(!pong(&url), "the private server is gone once dropped");
}

#[tokio::test]
async fn without_any_redis_the_built_in_broker_serves() {
    let search = Search {
        local: closed_port(),
        redis_server: "/nonexistent/redis-server".to_owned(),
    };
    let source = find_redis_in(None, search).await.expect("source");
    assert!(matches!(source, RedisSource::Builtin(_)), "{source:?}");
    assert!(source.to_string().ends_with("(the built-in broker)"));
    assert!(pong(&source.url()));
}
