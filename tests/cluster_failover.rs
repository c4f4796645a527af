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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_failover_of_the_home_moves_every_subscriber_and_loses_nothing() {
    use std::sync::{Arc, Mutex};

    let cluster = Cluster::start(1_000);
    let home = cluster.primary_for("gilmour");
    let nodes = cluster.nodes();
    let home_id = nodes
        .iter()
        .find(|node| node.port == home)
        .map(|node| node.id.clone())
        .expect("the home");
    let replica = nodes
        .iter()
        .find(|node| node.primary_id.as_ref() == Some(&home_id))
        .map(|node| node.port)
        .expect("the home's replica");
    let listener = engine_on(&cluster.url()).await;
    let received = Arc::new(Mutex::new(Vec::new()));
    let into = received.clone();
    listener
        .slot(
            "f.moved",
            HandlerOptions::default(),
            move |request: Request| {
                let into = into.clone();
                async move {
                    into.lock()
                        .unwrap()
                        .push(request.data().as_u64().expect("n"));
                }
            },
        )
        .await
        .expect("slot");
    let channel = listener.channels().slot("f.moved");
    let numsub = |port: u16| {
        support::try_command_at(port, &["PUBSUB", "NUMSUB", &channel])
            .and_then(|reply| reply.lines().nth(1).map(str::to_owned))
    };
    assert_eq!(numsub(home).as_deref(), Some("1"), "on the home");

    // A sender that signals without pause, each signal numbered.
    let sender = engine_on(&cluster.url()).await;
    let sent = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signals = {
        let (sent, stop) = (sent.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if sender.signal("f.moved", serde_json::json!(n)).await.is_ok() {
                    sent.lock().unwrap().push(n);
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The replica takes over, the old home goes on as its replica: every socket on it
    // stays up, and the listener must move to the new home by itself.
    assert_eq!(
        cluster.server(replica).command(&["CLUSTER", "FAILOVER"]),
        "OK"
    );
    cluster.wait_until("the replica serves the home slot", RECOVERY, || {
        cluster.primary_for("gilmour") == replica
    });
    cluster.wait_until(
        "the listener is subscribed on the new home, and only there",
        RECOVERY,
        || numsub(replica).as_deref() == Some("1") && numsub(home).as_deref() == Some("0"),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    signals.await.expect("sender");

    let sent = sent.lock().unwrap().clone();
    assert!(sent.len() > 100, "{} signals sent", sent.len());
    let deadline = Instant::now() + Duration::from_secs(5);
    while received.lock().unwrap().len() < sent.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut received = received.lock().unwrap().clone();
    received.sort_unstable();
    let mut unique = received.clone();
    unique.dedup();
    let twice: Vec<_> = received
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect();
    assert!(twice.is_empty(), "handled twice across the move: {twice:?}");
    let missing: Vec<_> = sent
        .iter()
        .filter(|n| unique.binary_search(n).is_err())
        .collect();
    assert!(missing.is_empty(), "sent, never handled: {missing:?}");
    let unsent: Vec<_> = unique
        .iter()
        .filter(|n| sent.binary_search(n).is_err())
        .collect();
    assert!(
        unsent.is_empty(),
        "handled, though sending them failed: {unsent:?}"
    );

    // A handle whose slot map still names the old home finds the new one by itself: its
    // PUBLISH reaches a subscriber there without the cluster bus.
    let _raw = support::RawSubscriber::subscribe(cluster.server(replica), "f.route");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let receivers = listener
            .commands()
            .publish("f.route", "x")
            .await
            .expect("publish");
        if receivers.count() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "PUBLISH still goes to the old home"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_capture_monitors_a_node_that_joins_later() {
    use gilmour::inspect::deep::{DEFAULT_DEEP_BUFFER, DeepCapture, Fact};
    use gilmour::protocol::Channels;
    use gilmour::transport::RedisConfig;

    let cluster = Cluster::start(1_000);
    let (deep, mut events) = DeepCapture::start(
        RedisConfig::new(cluster.url()),
        Channels::default(),
        DEFAULT_DEEP_BUFFER,
    )
    .await
    .expect("deep capture");
    assert_eq!(deep.nodes(), support::cluster::NODES);
    let joined = cluster.join_new_node();
    // A peer connected to the new node alone publishes a request there.
    let deadline = Instant::now() + Duration::from_secs(30);
    let payload = r#"{"data":1,"code":0,"sender":"joined-1"}"#;
    loop {
        assert!(
            Instant::now() < deadline,
            "the new node is not monitored ({} nodes)",
            deep.nodes()
        );
        joined.command(&["PUBLISH", "gilmour.request.f.joined", payload]);
        let seen = tokio::time::timeout(Duration::from_millis(500), async {
            while let Some(event) = events.recv().await {
                if matches!(&event.fact, Fact::Request { sender } if &**sender == "joined-1") {
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
    assert_eq!(deep.nodes(), support::cluster::NODES + 1);
}
