//! The engine on a Sentinel-watched primary and replica (three sentinels): requests
//! through a `redis+sentinel://` URL, then a `SENTINEL FAILOVER` and a killed primary
//! while requests flow. After each, the engine follows the new primary: the requests in
//! flight fail clearly (never a hang), new ones succeed within seconds, and the gap is
//! reported, by the engine and by an inspector's capture. Each failover test has its own set; the first test shares one.

mod support;

use gilmour::engine::{Engine, HandlerOptions, Reply, Request};
use gilmour::inspect::InspectorOptions;
use gilmour::inspect::deep::{DEFAULT_DEEP_BUFFER, DeepCapture, Fact};
use gilmour::protocol::Channels;
use gilmour::protocol::Code;
use gilmour::transport::RedisConfig;
use gilmour::transport::Topology;
use serde_json::json;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::engine::quick;
use support::sentinel::Sentinels;
use support::traffic::{Traffic, saw_gap};
use support::watch::Watch;

/// How long after the failure every request must be succeeding again.
const RECOVERY: Duration = Duration::from_secs(15);

/// An engine that notices a dead link and retries quickly.
async fn engine_on(url: &str) -> Engine {
    Engine::builder(url)
        .redis(|redis| {
            redis.heartbeat_interval = Duration::from_millis(200);
            redis.heartbeat_timeout = Duration::from_millis(600);
            redis.max_backoff = Duration::from_millis(200);
            redis.command_timeout = Duration::from_secs(1);
            redis.connect_timeout = Duration::from_secs(1);
        })
        .connect()
        .await
        .expect("connect through the sentinels")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_through_the_primary_sentinel_names() {
    let set = Sentinels::shared();
    let responder = engine_on(&set.url()).await;
    assert_eq!(responder.commands().topology(), Topology::Sentinel);
    echo(&responder, "s.echo").await;
    let caller = engine_on(&set.url()).await;
    let response = caller
        .request("s.echo", json!("hi"), quick())
        .await
        .expect("request");
    assert_eq!(response.code(), Code::OK);
    assert_eq!(response.data(), &json!("hi"));
    // The lock went to the primary.
    let key = format!("{}_default", response.sender.as_str());
    let primary = set.server(set.primary_port());
    assert_eq!(primary.command(&["EXISTS", &key]), "1");
}

/// Requests flow, `fail` breaks the primary, and the engine must follow the new one.
/// `deep`: whether to check that deep capture (MONITOR) follows too.
async fn survives(set: &Sentinels, topic: &str, deep: bool, fail: impl FnOnce(&Sentinels, u16)) {
    let responder = engine_on(&set.url()).await;
    echo(&responder, topic).await;
    let caller = engine_on(&set.url()).await;
    let mut events = caller.events();
    let mut watch = Watch::at(&set.url(), "gilmour", InspectorOptions::default()).await;
    let (_deep_capture, mut deep_events) = DeepCapture::start(
        RedisConfig::new(set.url()),
        Channels::default(),
        DEFAULT_DEEP_BUFFER,
    )
    .await
    .expect("deep capture through the sentinels");
    // Read as it comes, so that its buffer never fills: the senders of requests seen.
    let monitored = Arc::new(Mutex::new(HashSet::new()));
    tokio::spawn({
        let monitored = monitored.clone();
        async move {
            while let Some(event) = deep_events.recv().await {
                if let Fact::Request { sender } = event.fact {
                    monitored.lock().unwrap().insert(sender.to_string());
                }
            }
        }
    });
    let traffic = Traffic::start(&caller, topic, 4);
    while traffic.count() < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(traffic.all_well(), "all well before the failover");
    let old = set.primary_port();
    let broke = Instant::now();
    fail(set, old);
    let new = set.wait_new_primary(old);
    assert_ne!(new, old);
    // A primary that is still up goes on taking writes until the sentinels make it a
    // replica of the new one and drop its clients (they look at it every 10 s): only
    // then has everyone moved.
    set.wait_until("the old primary is a replica or gone", || {
        support::try_command_at(old, &["ROLE"]).is_none_or(|role| role.starts_with("slave"))
    });
    let settled = Instant::now();
    traffic
        .wait_recovered(settled, 200, RECOVERY + Duration::from_secs(5))
        .await;
    traffic.check((broke, settled), RECOVERY, 200).await;
    assert!(
        saw_gap(&mut events),
        "the caller's gap is reported and closed"
    );
    // The inspector's capture shows the gap and goes on.
    watch.shows_the_gap_and_goes_on(&caller, topic).await;
    // New requests take their locks on the new primary.
    let response = caller
        .request(topic, json!("after"), quick())
        .await
        .expect("request after the failover");
    let key = format!("{}_default", response.sender.as_str());
    assert_eq!(set.server(new).command(&["EXISTS", &key]), "1");
    // Deep capture moved to the new primary too: within RECOVERY its MONITOR sees new
    // requests' PUBLISH.
    let deadline = Instant::now() + RECOVERY;
    let mut senders = vec![response.sender.to_string()];
    while deep
        && !senders
            .iter()
            .any(|sender| monitored.lock().unwrap().contains(sender))
    {
        assert!(
            Instant::now() < deadline,
            "deep capture follows the primary"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let response = caller
            .request(topic, json!("after"), quick())
            .await
            .expect("request after the failover");
        senders.push(response.sender.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_followed() {
    let set = Sentinels::start();
    survives(&set, "s.failover", true, |set, _| set.failover()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_is_followed() {
    let set = Sentinels::start();
    survives(&set, "s.killed", true, |set, old| set.server(old).kill()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_scripts_a_trim_of_the_error_queue_watches_on_the_primary() {
    use gilmour::inspect::errors::ErrorQueue;

    let set = Sentinels::shared();
    let primary = set.primary_port();
    // A user who may do everything but run scripts, on the primary.
    support::engine::add_noscript_user(set.server(primary));
    let url = set
        .url()
        .replacen("redis+sentinel://", "redis+sentinel://noscript:secret@", 1);
    let engine = Engine::builder(&url)
        .prefix("sw")
        .connect()
        .await
        .expect("connect as noscript");
    let queue = ErrorQueue::new(&engine);
    let name = queue.name().to_owned();
    support::engine::queue_errors(&engine, &name, 10).await;
    let page = queue.page(0, 10).await.expect("page");
    let trimmed = queue.trim_from(&page.entries[2]).await.expect("trim");
    assert_eq!(trimmed.map(|report| report.removed), Some(8));
    assert_eq!(
        set.server(primary).command(&["LRANGE", &name, "0", "-1"]),
        "e9\ne8"
    );
    engine.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinels_that_need_credentials_are_given_the_urls_sentinel_ones() {
    let set = Sentinels::shared();
    for port in set.sentinel_ports() {
        let created = support::command_at(
            port,
            &[
                "ACL",
                "SETUSER",
                "watcher",
                "on",
                ">s3cret",
                "allcommands",
                "allchannels",
            ],
        );
        assert_eq!(created, "OK");
    }
    let url = format!(
        "{}?sentinel_username=watcher&sentinel_password=s3cret",
        set.url()
    );
    let engine = engine_on(&url).await;
    echo(&engine, "s.credentials").await;
    let response = engine
        .request("s.credentials", json!("hi"), quick())
        .await
        .expect("request through sentinels asked with credentials");
    assert_eq!(response.data(), &json!("hi"));
    engine.shutdown().await.expect("shutdown");

    // A wrong password is a clear error that does not print it (the sentinels' default
    // user needs none: the error says the password was sent).
    let wrong = format!(
        "{}?sentinel_username=watcher&sentinel_password=wrong-one",
        set.url()
    );
    let error = match Engine::connect(&wrong).await {
        Ok(_) => panic!("connected with a wrong sentinel password"),
        Err(error) => error.to_string(),
    };
    assert!(!error.contains("wrong-one"), "{error}");
    assert!(
        error.to_ascii_lowercase().contains("pass") || error.contains("auth"),
        "{error}"
    );
}
