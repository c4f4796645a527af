//! The engine's promises under faults, against a real redis-server: a request never
//! outlives its timeout however Redis freezes (SIGSTOP), subscriptions say what Redis
//! confirmed, lock and LREM outcomes are never guessed by a blind retry, replies reach a
//! caller that subscribes late, a shutdown answers the callers of handlers it gives up on,
//! and an engine whose handlers hold only weak handles is freed with its last user.

mod support;

use gilmour::engine::{
    Engine, EngineError, HandlerOptions, Reply, Request, RequestOptions, SHUTTING_DOWN, TIMED_OUT,
};
use gilmour::protocol::Code;
use gilmour::transport::{Commands, RedisConfig, TransportError};
use serde_json::json;
use std::future::Future;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::engine::{echo, quick, recv};
use support::process::{gilmour, text};
use support::{Backend, Proxy, RawSubscriber, Server};
use tokio::sync::mpsc;

/// What a deadline may overshoot a request's timeout by.
const SLACK: Duration = Duration::from_millis(500);

async fn engine(server: &Server) -> Engine {
    Engine::connect(&server.url()).await.expect("connect")
}

/// Waits until `check` holds, failing the test after a few seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Serves `topic` with a handler that says when a request arrived and never answers.
async fn serve_black_hole(engine: &Engine, topic: &str) -> mpsc::UnboundedReceiver<()> {
    let (arrived, rx) = mpsc::unbounded_channel();
    engine
        .reply_to(
            topic,
            HandlerOptions::default(),
            move |_request: Request| {
                let arrived = arrived.clone();
                async move {
                    let _ = arrived.send(());
                    std::future::pending::<Reply>().await
                }
            },
        )
        .await
        .expect("reply_to");
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_fails_within_its_timeout_when_redis_is_frozen_before_it() {
    let server = Server::start(Backend::Redis);
    let engine = engine(&server).await;
    echo(&engine, "frozen.before").await;
    let frozen = server.freeze();
    let started = Instant::now();
    let result = engine
        .request(
            "frozen.before",
            json!(1),
            RequestOptions::timeout(Duration::from_secs(1)),
        )
        .await;
    let took = started.elapsed();
    assert!(
        matches!(
            result,
            Err(EngineError::Transport(TransportError::Timeout { .. }))
        ),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
    frozen.thaw();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_flight_request_gets_its_499_in_time_when_redis_freezes() {
    let server = Server::start(Backend::Redis);
    let responder = engine(&server).await;
    let mut arrived = serve_black_hole(&responder, "frozen.during").await;
    let caller = engine(&server).await;
    let started = Instant::now();
    let request = tokio::spawn(async move {
        caller
            .request(
                "frozen.during",
                json!(1),
                RequestOptions::timeout(Duration::from_secs(1)),
            )
            .await
    });
    recv(&mut arrived).await;
    let frozen = server.freeze();
    let response = request.await.expect("join").expect("a 499, not an error");
    let took = started.elapsed();
    assert_eq!(response.code(), Code::TIMEOUT);
    assert_eq!(response.data(), &json!(TIMED_OUT));
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
    frozen.thaw();
}

#[test]
fn the_cli_request_returns_within_its_timeout_whatever_redis_does() {
    let server = Server::start(Backend::Redis);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let responder = runtime.block_on(engine(&server));
    runtime.block_on(echo(&responder, "cli.frozen"));
    let mut arrived = runtime.block_on(serve_black_hole(&responder, "cli.hole"));

    // Frozen before it starts: it cannot connect in time, and says so with exit code 3.
    let frozen = server.freeze();
    let started = Instant::now();
    let output = gilmour(&server)
        .args(["request", "cli.frozen", "x", "--timeout", "1"])
        .output()
        .expect("run");
    let took = started.elapsed();
    drop(frozen);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
    assert!(text(&output.stderr).contains("cannot connect to Redis"));

    // Frozen while it waits for the reply: its 499 comes on time, exit code 1.
    let started = Instant::now();
    let child = gilmour(&server)
        .args(["request", "cli.hole", "x", "--timeout", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    runtime.block_on(recv(&mut arrived));
    let frozen = server.freeze();
    let output = child.wait_with_output().expect("wait");
    let took = started.elapsed();
    drop(frozen);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr),
        "gilmour: cli.hole answered 499: \"Execution timed out\"\n"
    );
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_to_fails_when_redis_refuses_the_subscribe() {
    let server = Server::shared(Backend::Redis);
    // May subscribe to patterns (its replies) but not to channels (requests).
    server.command(&[
        "ACL",
        "SETUSER",
        "nosub",
        "on",
        ">pw",
        "~*",
        "&*",
        "+@all",
        "-subscribe",
    ]);
    let url = format!("redis://nosub:pw@127.0.0.1:{}", server.port());
    let engine = Engine::connect(&url).await.expect("connect");
    let result = engine
        .reply_to(
            "refused.topic",
            HandlerOptions::default(),
            |request| async move { Reply::ok(request.into_data()) },
        )
        .await;
    let Err(EngineError::Transport(TransportError::Refused { target, reason })) = result else {
        panic!("expected a refusal, got {:?}", result.err());
    };
    assert_eq!(target, "gilmour.request.refused.topic");
    assert!(reason.contains("no permissions"), "{reason}");
    assert!(engine.served().is_empty(), "nothing is advertised");
    // The link survives a refusal: this engine can still call others.
    let other = Engine::connect(&server.url()).await.expect("connect");
    echo(&other, "refused.other").await;
    let response = engine
        .request("refused.other", json!("ok"), quick())
        .await
        .expect("request");
    assert_eq!(response.data(), &json!("ok"));

    // The CLI does not claim to serve what it cannot.
    let output = support::process::gilmour_at(&url)
        .args(["reply", "refused.cli"])
        .output()
        .expect("run");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("serving"), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_added_while_another_unsubscribes_stays_subscribed() {
    let server = Server::shared(Backend::Redis);
    let caller = engine(server).await;
    let engine = engine(server).await;
    for trial in 0..50 {
        let topic = format!("race.{trial}");
        let first = engine
            .reply_to(&topic, HandlerOptions::default().group("a"), |_| async {
                Reply::ok("a")
            })
            .await
            .expect("reply_to a");
        let (left, joined) = tokio::join!(
            first.unsubscribe(),
            engine.reply_to(&topic, HandlerOptions::default().group("b"), |_| async {
                Reply::ok("b")
            })
        );
        left.expect("unsubscribe a");
        joined.expect("reply_to b");
        let channel = format!("gilmour.request.{topic}");
        assert_eq!(
            server.command(&["PUBSUB", "NUMSUB", &channel]),
            format!("{channel}\n1"),
            "trial {trial}: group b is advertised and must be subscribed"
        );
        let response = caller
            .request(&topic, json!(trial), quick())
            .await
            .expect("request");
        assert_eq!(response.data(), &json!("b"), "trial {trial}");
    }
}

/// A command connection through the proxy, its socket open.
async fn commands_through(proxy: &Proxy) -> Commands {
    let commands = Commands::connect(&RedisConfig::new(proxy.url()))
        .await
        .expect("connect");
    commands.ping().await.expect("ping");
    commands
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_whose_reply_was_lost_is_unknown_not_lost() {
    let server = Server::shared(Backend::Redis);
    let proxy = Proxy::start(server.port());
    let commands = commands_through(&proxy).await;
    proxy.lose_the_next_reply();
    let outcome = commands.take_lock("lost-reply-lock").await;
    assert!(
        outcome.is_err(),
        "the SET ran but its reply was lost: the outcome is unknown, got {outcome:?}"
    );
    assert_eq!(
        server.command(&["GET", "lost-reply-lock"]),
        "lost-reply-lock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_lost_with_its_link_before_it_ran_is_tried_again() {
    let server = Server::shared(Backend::Redis);
    let proxy = Proxy::start(server.port());
    let commands = commands_through(&proxy).await;
    proxy.lose_the_next_command();
    let won = commands
        .take_lock("lost-command-lock")
        .await
        .expect("the SET never ran: trying it again is safe");
    assert!(won);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_lrem_whose_reply_was_lost_removes_one_record_only() {
    let server = Server::shared(Backend::Redis);
    server.command(&["RPUSH", "lrem-twice", "same", "same"]);
    let proxy = Proxy::start(server.port());
    let commands = commands_through(&proxy).await;
    proxy.lose_the_next_reply();
    assert!(commands.remove_one("lrem-twice", "same").await.is_err());
    // The caller hears of the lost link at once, maybe before Redis has run the LREM it
    // was sent: wait for it to run. The call has returned, so nothing can retry it since.
    eventually("the LREM ran", || async {
        server.command(&["LLEN", "lrem-twice"]) != "2"
    })
    .await;
    assert_eq!(server.command(&["LLEN", "lrem-twice"]), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_lock_outcome_is_counted() {
    let server = Server::shared(Backend::Redis);
    let proxy = Proxy::start(server.port());
    // No heartbeat during the test: the next command on a link open now is the SET.
    let responder = Engine::builder(&proxy.url())
        .redis(|redis| redis.heartbeat_interval = Duration::from_secs(600))
        .connect()
        .await
        .expect("connect");
    echo(&responder, "unknown.lock").await;
    let caller = engine(server).await;
    proxy.lose_the_next_reply();
    let response = caller
        .request(
            "unknown.lock",
            json!(1),
            RequestOptions::timeout(Duration::from_millis(500)),
        )
        .await
        .expect("request");
    // The one member cannot know it won, so nobody answers; it says so.
    assert_eq!(response.code(), Code::TIMEOUT);
    eventually("the unknown outcome is counted", || async {
        responder.stats().lock_unknown == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_reaches_a_caller_that_subscribes_5_ms_after_its_request() {
    let server = Server::shared(Backend::Redis);
    let responder = engine(server).await;
    echo(&responder, "late.subscriber").await;
    for trial in 0..5 {
        let sender = format!("late-caller-{trial}");
        let request = json!({"data": trial, "code": 0, "sender": sender}).to_string();
        // As the Ruby library does: publish first, subscribe to the reply after.
        server.command(&["PUBLISH", "gilmour.request.late.subscriber", &request]);
        std::thread::sleep(Duration::from_millis(5));
        let mut replies = RawSubscriber::subscribe(server, &format!("gilmour.response.{sender}"));
        let (_, payload) = replies.next();
        let reply: serde_json::Value = serde_json::from_str(&payload).expect("json");
        assert_eq!(reply["data"], trial);
    }
    assert!(responder.stats().replies_republished >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_503_for_handlers_it_gives_up_on() {
    let server = Server::shared(Backend::Redis);
    let responder = Engine::builder(&server.url())
        .shutdown_timeout(Duration::from_millis(200))
        .connect()
        .await
        .expect("connect");
    let mut arrived = serve_black_hole(&responder, "shutdown.stuck").await;
    let caller = engine(server).await;
    let started = Instant::now();
    let request = tokio::spawn(async move {
        caller
            .request(
                "shutdown.stuck",
                json!(1),
                RequestOptions::timeout(Duration::from_secs(30)),
            )
            .await
    });
    recv(&mut arrived).await;
    responder.shutdown().await.expect("shutdown");
    let response = request.await.expect("join").expect("request");
    assert_eq!(response.code(), Code::UNAVAILABLE);
    assert_eq!(response.data(), &json!(SHUTTING_DOWN));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_whose_handlers_hold_weak_handles_is_freed_with_its_last_user() {
    let server = Server::shared(Backend::Redis);
    let engine = engine(server).await;
    let weak = engine.downgrade();
    let own = engine.downgrade();
    engine
        .reply_to("weak.handle", HandlerOptions::default(), move |_request| {
            let own = own.clone();
            async move { Reply::ok(own.upgrade().is_some()) }
        })
        .await
        .expect("reply_to");
    let caller = self::engine(server).await;
    let response = caller
        .request("weak.handle", json!(null), quick())
        .await
        .expect("request");
    assert_eq!(
        response.data(),
        &json!(true),
        "the handler reaches its engine"
    );
    drop(engine);
    assert!(weak.upgrade().is_none(), "nothing else holds the engine");
    eventually("the freed engine's subscription leaves Redis", || async {
        server.command(&["PUBSUB", "NUMSUB", "gilmour.request.weak.handle"])
            == "gilmour.request.weak.handle\n0"
    })
    .await;
}
