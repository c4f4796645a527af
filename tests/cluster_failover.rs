//! A primary of a real Redis Cluster killed while requests flow: once the cluster has
//! promoted its replica, the engine goes on. The requests in flight fail with a clear
//! error (never a hang), new ones succeed again within seconds, and the caller's
//! subscriber and an inspector's capture report the gap, and the capture goes on. The
//! primary killed is the home of pub/sub, where every subscriber sits. The cluster is
//! this file's own (its nodes time out after 1 s, so that the failover is quick).

mod support;

use gilmour::engine::{Engine, HandlerOptions, Reply, Request};
use gilmour::inspect::InspectorOptions;
use std::time::{Duration, Instant};
use support::cluster::Cluster;
use support::traffic::{Traffic, saw_gap};
use support::watch::Watch;

/// How long after the kill every request must be succeeding again.
const RECOVERY: Duration = Duration::from_secs(15);

/// An engine that notices a dead link and retries quickly.
pub async fn engine_on(url: &str) -> Engine {
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
        .expect("connect to the cluster")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_costs_only_the_requests_in_flight() {
    let cluster = Cluster::start(1_000);
    // The home of pub/sub dies: every subscriber sits there (the caller's, the
    // responder's, the inspector's) and every PUBLISH goes there.
    let victim = cluster.primary_for("gilmour");
    let survivor = cluster
        .primaries()
        .into_iter()
        .find(|port| *port != victim)
        .expect("another primary");
    let responder = engine_on(&cluster.url_at(survivor)).await;
    responder
        .reply_to(
            "f.echo",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await
        .expect("reply_to");
    let caller = engine_on(&format!("{},127.0.0.1:{survivor}", cluster.url_at(victim))).await;
    let mut events = caller.events();
    // An inspector whose subscription is on the node that dies, too.
    let mut watch = Watch::at(
        &format!("{},127.0.0.1:{survivor}", cluster.url_at(victim)),
        "gilmour",
        InspectorOptions::default(),
    )
    .await;
    let traffic = Traffic::start(&caller, "f.echo", 4);
    while traffic.count() < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(traffic.all_well(), "all well before the kill");

    let killed = Instant::now();
    cluster.server(victim).kill();
    traffic
        .wait_recovered(killed, 200, RECOVERY + Duration::from_secs(5))
        .await;
    traffic.check((killed, killed), RECOVERY, 200).await;
    assert!(
        saw_gap(&mut events),
        "the caller's gap is reported and closed"
    );
    // The inspector's capture shows the gap and goes on.
    watch.shows_the_gap_and_goes_on(&caller, "f.echo").await;
}
