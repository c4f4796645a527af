//! The engine on a real Redis Cluster (three primaries, three replicas): callers and
//! responders whose subscribers sit on different nodes, exclusive groups across nodes,
//! "nobody listens" summed over every node, wildcard slots, and the keys (group locks,
//! the error queue, the health hash) on their slot's primary. One cluster for the whole
//! file; each test has its own topics.

mod support;

use gilmour::engine::{Engine, EngineError, ErrorPolicy, HandlerOptions, Reply, Request};
use gilmour::protocol::Code;
use gilmour::transport::{ClusterPubSub, HOME_SLOT, Topology};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::cluster::Cluster;
use support::engine::{quick, recv};
use tokio::sync::mpsc;

/// An engine whose only seed, and so its subscriber's node, is the node on `port`, and
/// which publishes by the channel's slot: placed as Go and Ruby peers spread over a
/// cluster are, so that its messages cross the cluster bus.
async fn engine_on(port: u16) -> Engine {
    Engine::builder(&Cluster::shared().url_at(port))
        .redis(|redis| redis.cluster_pubsub = ClusterPubSub::Seeds)
        .connect()
        .await
        .expect("connect to the cluster")
}

/// An engine seeded at the node on `port`, with pub/sub at its home (the default).
async fn engine_at_home_via(port: u16) -> Engine {
    Engine::connect(&Cluster::shared().url_at(port))
        .await
        .expect("connect to the cluster")
}

/// The port of the primary serving the home slot, and two other nodes (a primary and
/// a replica, of shards other than the home's).
fn home_and_two_others() -> (u16, u16, u16) {
    let cluster = Cluster::shared();
    let home = cluster.primary_for("gilmour");
    let home_id = cluster
        .nodes()
        .into_iter()
        .find(|node| node.port == home)
        .map(|node| node.id)
        .expect("the home primary");
    let others: Vec<_> = cluster
        .nodes()
        .into_iter()
        .filter(|node| {
            !node.failed && node.port != home && node.primary_id.as_ref() != Some(&home_id)
        })
        .collect();
    let primary = others
        .iter()
        .find(|node| node.primary)
        .expect("another primary")
        .port;
    let replica = others
        .iter()
        .find(|node| !node.primary)
        .expect("another shard's replica")
        .port;
    (home, primary, replica)
}

/// Two different nodes: a primary and a replica of another shard.
fn two_nodes() -> (u16, u16) {
    let cluster = Cluster::shared();
    let primaries = cluster.primaries();
    let replicas = cluster.replicas();
    (primaries[0], replicas[replicas.len() - 1])
}

/// How many exact subscribers `channel` has on the node on `port` alone.
fn numsub_on(port: u16, channel: &str) -> String {
    Cluster::shared()
        .server(port)
        .command(&["PUBSUB", "NUMSUB", channel])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_reply_between_nodes() {
    let (a, b) = two_nodes();
    let responder = engine_on(a).await;
    assert_eq!(responder.commands().topology(), Topology::Cluster);
    support::engine::echo(&responder, "c.echo").await;
    let caller = engine_on(b).await;
    // The responder's subscription is on its own node only.
    assert_eq!(
        numsub_on(a, "gilmour.request.c.echo"),
        "gilmour.request.c.echo\n1"
    );
    assert_eq!(
        numsub_on(b, "gilmour.request.c.echo"),
        "gilmour.request.c.echo\n0"
    );
    for n in 0..20 {
        let response = caller
            .request("c.echo", json!({"n": n}), quick())
            .await
            .expect("request across nodes");
        assert_eq!(response.code(), Code::OK);
        assert_eq!(response.data(), &json!({"n": n}));
    }
    // The group lock of the last one is on its key's primary.
    let response = caller
        .request("c.echo", json!("last"), quick())
        .await
        .expect("request");
    let key = format!("{}_default", response.sender.as_str());
    let cluster = Cluster::shared();
    let owner = cluster.primary_for(&key);
    assert_eq!(cluster.server(owner).command(&["EXISTS", &key]), "1");
    assert_eq!(
        cluster
            .server(owner)
            .command(&["TTL", &key])
            .parse::<u64>()
            .map(|ttl| ttl > 590),
        Ok(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_listens_is_summed_over_every_node() {
    let (a, b) = two_nodes();
    let caller = engine_on(b).await;
    let error = caller
        .request("c.lonely", json!(1), quick())
        .await
        .expect_err("nobody serves it");
    assert!(matches!(error, EngineError::NoListeners { .. }), "{error}");
    // A responder on another node, seen by no other: the caller still finds it.
    let responder = engine_on(a).await;
    support::engine::echo(&responder, "c.lonely").await;
    assert_eq!(
        caller
            .commands()
            .numsub("gilmour.request.c.lonely")
            .await
            .expect("numsub"),
        1
    );
    let counts = caller
        .commands()
        .numsub_many(&["gilmour.request.c.lonely", "gilmour.request.c.none"])
        .await
        .expect("numsub");
    assert_eq!(
        counts,
        vec![
            ("gilmour.request.c.lonely".to_owned(), 1),
            ("gilmour.request.c.none".to_owned(), 0)
        ]
    );
    let response = caller
        .request("c.lonely", json!("found"), quick())
        .await
        .expect("found across nodes");
    assert_eq!(response.data(), &json!("found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_group_across_nodes_answers_each_request_once() {
    let cluster = Cluster::shared();
    let primaries = cluster.primaries();
    let replicas = cluster.replicas();
    let handled = Arc::new(AtomicUsize::new(0));
    let mut members = Vec::new();
    for port in [primaries[0], primaries[1], replicas[0]] {
        let member = engine_on(port).await;
        let handled = handled.clone();
        member
            .reply_to(
                "c.group",
                HandlerOptions::default().group("workers"),
                move |request: Request| {
                    let handled = handled.clone();
                    async move {
                        handled.fetch_add(1, Ordering::SeqCst);
                        Reply::ok(request.into_data())
                    }
                },
            )
            .await
            .expect("reply_to");
        members.push(member);
    }
    let caller = engine_on(replicas[replicas.len() - 1]).await;
    let requests = (0..300).map(|n| {
        let caller = caller.clone();
        async move { caller.request("c.group", json!(n), quick()).await }
    });
    let responses = futures_util::future::join_all(requests).await;
    for (n, response) in responses.into_iter().enumerate() {
        let response = response.expect("request");
        assert_eq!(response.data(), &json!(n));
    }
    // Every member received every request; the lock let exactly one handle each.
    assert_eq!(handled.load(Ordering::SeqCst), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_slots_receive_signals_from_other_nodes() {
    let (a, b) = two_nodes();
    let listener = engine_on(a).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    listener
        .slot(
            "c.users.*",
            HandlerOptions::default(),
            move |request: Request| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((request.topic().to_owned(), request.data().clone()));
                }
            },
        )
        .await
        .expect("slot");
    let sender = engine_on(b).await;
    for n in 0..5 {
        sender
            .signal(&format!("c.users.{n}"), json!({"n": n}))
            .await
            .expect("signal: a pattern subscriber is on another node");
        assert_eq!(
            recv(&mut rx).await,
            (format!("c.users.{n}"), json!({"n": n}))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_queue_and_health_hash_live_on_their_slots_primary() {
    let (a, b) = two_nodes();
    let prefix = "cq";
    let responder = Engine::builder(&Cluster::shared().url_at(a))
        .prefix(prefix)
        .error_policy(ErrorPolicy::Queue)
        .health(true)
        .connect()
        .await
        .expect("connect");
    responder
        .reply_to(
            "fail",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::with_code(500, "broken") },
        )
        .await
        .expect("reply_to");
    let caller = Engine::builder(&Cluster::shared().url_at(b))
        .prefix(prefix)
        .connect()
        .await
        .expect("connect");
    let response = caller
        .request("fail", json!("x"), quick())
        .await
        .expect("request");
    assert_eq!(response.code(), Code::from(500));

    let cluster = Cluster::shared();
    let queue = responder.channels().error_queue().to_owned();
    let owner = cluster.server(cluster.primary_for(&queue));
    cluster.wait_until("the error record is queued", support::engine::WAIT, || {
        owner.command(&["LLEN", &queue]) == "1"
    });
    let record = owner.command(&["LINDEX", &queue, "0"]);
    assert!(record.contains(response.sender.as_str()), "{record}");

    let hash = responder.channels().health_hash().to_owned();
    let ident = responder.ident().expect("health on").as_str().to_owned();
    let owner = cluster.server(cluster.primary_for(&hash));
    assert_eq!(owner.command(&["HGET", &hash, &ident]), "true");
    // The health responder answers across nodes too.
    let health = caller
        .request(
            &format!("gilmour.health.{ident}").replace("gilmour", prefix),
            json!(""),
            quick(),
        )
        .await
        .expect("health ping");
    assert_eq!(health.code(), Code::OK);
    responder.shutdown().await.expect("shutdown");
    assert_eq!(owner.command(&["HEXISTS", &hash, &ident]), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_answers_between_nodes() {
    let (a, b) = two_nodes();
    let cluster = Cluster::shared();
    let _reply =
        support::process::Background::serving_at(&cluster.url_at(a), &["reply", "c.cli.echo"]);
    let output = support::process::gilmour_at(&cluster.url_at(b))
        .args(["request", "c.cli.echo", "hi"])
        .output()
        .expect("run gilmour request");
    assert!(
        output.status.success(),
        "{}",
        support::process::text(&output.stderr)
    );
    assert_eq!(support::process::text(&output.stdout).trim(), "\"hi\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_capture_monitors_every_node_and_names_caller_responder_and_lock_race() {
    use gilmour::inspect::deep::{DEFAULT_DEEP_BUFFER, DeepCapture};
    use gilmour::inspect::{InspectorOptions, TraceKind};
    use gilmour::protocol::Channels;
    use gilmour::transport::RedisConfig;

    let cluster = Cluster::shared();
    let primaries = cluster.primaries();
    let replicas = cluster.replicas();
    let prefix = "cd";
    let mut members = Vec::new();
    for port in [primaries[1], replicas[0]] {
        let member = Engine::builder(&cluster.url_at(port))
            .prefix(prefix)
            .connect()
            .await
            .expect("connect");
        member
            .reply_to(
                "echo",
                HandlerOptions::default().group("pool"),
                |request: Request| async move { Reply::ok(request.into_data()) },
            )
            .await
            .expect("reply_to");
        members.push(member);
    }
    let mut watch = support::watch::Watch::at(
        &cluster.url_at(primaries[2]),
        prefix,
        InspectorOptions::default(),
    )
    .await;
    let (deep_capture, mut deep) = DeepCapture::start(
        RedisConfig::new(cluster.url()),
        Channels::new(prefix),
        DEFAULT_DEEP_BUFFER,
    )
    .await
    .expect("deep capture");
    assert_eq!(
        deep_capture.nodes(),
        support::cluster::NODES,
        "MONITOR on every node"
    );

    let caller = Engine::builder(&cluster.url_at(replicas[1]))
        .prefix(prefix)
        .connect()
        .await
        .expect("connect");
    let mut senders = Vec::new();
    for n in 0..10 {
        let response = caller
            .request("echo", json!(n), quick())
            .await
            .expect("request");
        senders.push(response.sender.to_string());
    }
    let told = |watch: &support::watch::Watch| {
        watch
            .inspector
            .store()
            .newest_first()
            .filter(|trace| trace.kind == TraceKind::Request && trace.is_complete())
            .filter(|trace| {
                trace.deep.as_ref().is_some_and(|deep| {
                    deep.caller.is_some()
                        && deep.responder.is_some()
                        && deep
                            .locks
                            .first()
                            .is_some_and(|race| race.contenders() == 2)
                })
            })
            .count()
    };
    let deadline = tokio::time::Instant::now() + support::engine::WAIT;
    while told(&watch) < 10 {
        tokio::select! {
            Some(event) = watch.events.recv() => { watch.inspector.ingest(event); }
            Some(event) = deep.recv() => { watch.inspector.ingest_deep(event); }
            () = tokio::time::sleep_until(deadline) => panic!("only {} traces told in full", told(&watch)),
        }
    }
    for sender in senders {
        let id = watch.inspector.store().by_sender(&sender).expect("traced");
        let trace = watch.inspector.store().get(id).expect("trace");
        let deep = trace.deep.as_ref().expect("deep facts");
        let race = &deep.locks[0];
        assert_eq!(&*race.key, format!("{sender}pool"));
        let winner = race.winner().expect("a winner");
        // Each member's lock bid and reply come from its own cluster connection to the
        // key's and the reply channel's nodes: by name, the winner answered.
        assert_eq!(
            deep.responder
                .as_ref()
                .and_then(|client| client.name.clone()),
            winner.name.clone(),
            "the lock's winner answered"
        );
        // The caller is not asserted by name: the cluster client PINGs each new
        // connection before CLIENT SETNAME, and CLIENT LIST read at that PING is kept.
        assert!(deep.caller.is_some(), "the caller is known");
        assert!(
            deep.server_latency().is_some(),
            "Redis's timing, across nodes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_list_the_clusters_nodes() {
    let cluster = Cluster::shared();
    let engine = Engine::connect(&cluster.url()).await.expect("connect");
    let nodes = gilmour::inspect::services::nodes(&engine)
        .await
        .expect("nodes");
    assert_eq!(nodes.len(), support::cluster::NODES);
    let primaries: Vec<u16> = nodes
        .iter()
        .filter(|node| node.role == gilmour::transport::cluster::Role::Primary)
        .filter_map(|node| node.host_port().map(|(_, port)| port))
        .collect();
    let mut expected = cluster.primaries();
    expected.sort_unstable();
    let mut found = primaries.clone();
    found.sort_unstable();
    assert_eq!(found, expected);
    assert_eq!(
        nodes.iter().map(|node| node.slots).sum::<usize>(),
        16384,
        "the primaries serve every slot"
    );
    let output = support::process::gilmour_at(&cluster.url())
        .args(["health"])
        .output()
        .expect("run gilmour health");
    let table = support::process::text(&output.stdout);
    assert_eq!(
        table
            .lines()
            .filter(|line| line.starts_with("node "))
            .count(),
        support::cluster::NODES,
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_a_replica_counts_as_a_listener() {
    let cluster = Cluster::shared();
    let replica = cluster.replicas()[0];
    let caller = engine_on(cluster.primaries()[0]).await;
    let _listener = support::RawSubscriber::subscribe(cluster.server(replica), "c.replica.raw");
    assert_eq!(
        caller
            .commands()
            .numsub("c.replica.raw")
            .await
            .expect("numsub"),
        1
    );
    // A responder whose only subscription is on a replica is found and answers.
    let responder = engine_on(replica).await;
    support::engine::echo(&responder, "c.replica.echo").await;
    let response = caller
        .request("c.replica.echo", json!("via a replica"), quick())
        .await
        .expect("a responder on a replica is a listener");
    assert_eq!(response.data(), &json!("via a replica"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gilmour_processes_meet_on_the_home_primary() {
    let cluster = Cluster::shared();
    let (home, primary, replica) = home_and_two_others();
    // The home slot is the key `gilmour`'s, as Redis computes it.
    assert_eq!(
        cluster
            .server(home)
            .command(&["CLUSTER", "KEYSLOT", "gilmour"]),
        HOME_SLOT.to_string()
    );
    // Seeded at two nodes of other shards, both subscribe on the home primary.
    let responder = engine_at_home_via(replica).await;
    support::engine::echo(&responder, "c.home.echo").await;
    let caller = engine_at_home_via(primary).await;
    let channel = "gilmour.request.c.home.echo";
    assert_eq!(numsub_on(home, channel), format!("{channel}\n1"));
    assert_eq!(numsub_on(replica, channel), format!("{channel}\n0"));
    assert_eq!(
        caller.commands().home().await.expect("home"),
        Some(format!("127.0.0.1:{home}"))
    );
    for n in 0..20 {
        let response = caller
            .request("c.home.echo", json!({"n": n}), quick())
            .await
            .expect("request at home");
        assert_eq!(response.data(), &json!({"n": n}));
    }
    // PUBLISH goes to the home primary whatever the channel's slot: a subscriber there
    // is counted by the node that took it.
    let far = (0..100)
        .map(|n| format!("c.home.far.{n}"))
        .find(|channel| cluster.primary_for(channel) != home)
        .expect("a channel whose slot is elsewhere");
    let mut listener = support::RawSubscriber::subscribe(cluster.server(home), &far);
    let receivers = caller
        .commands()
        .publish(&far, "hi")
        .await
        .expect("publish");
    assert_eq!(receivers.count(), 1, "published on the home primary");
    assert_eq!(listener.next(), (far.clone(), "hi".to_owned()));
    // A listener check is answered by the home primary alone when it has a subscriber,
    // and by every node when not.
    assert!(caller.commands().subscribed(channel).await.expect("check"));
    let _elsewhere = support::RawSubscriber::subscribe(cluster.server(replica), "c.home.raw");
    assert!(
        caller
            .commands()
            .subscribed("c.home.raw")
            .await
            .expect("check")
    );
    assert!(
        !caller
            .commands()
            .subscribed("c.home.none")
            .await
            .expect("check")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_subscribed_elsewhere_still_talk_with_the_home() {
    let (_home, primary, replica) = home_and_two_others();
    // A peer placed as Go or Ruby ones are: subscribed on a replica of another shard,
    // publishing by the channel's slot.
    let peer = engine_on(replica).await;
    support::engine::echo(&peer, "c.peer.echo").await;
    let ours = engine_at_home_via(primary).await;
    support::engine::echo(&ours, "c.ours.echo").await;
    for n in 0..10 {
        let response = ours
            .request("c.peer.echo", json!(n), quick())
            .await
            .expect("from the home to a peer elsewhere");
        assert_eq!(response.data(), &json!(n));
        let response = peer
            .request("c.ours.echo", json!(n), quick())
            .await
            .expect("from a peer elsewhere to the home");
        assert_eq!(response.data(), &json!(n));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_scripts_a_trim_of_the_error_queue_watches_on_its_slots_primary() {
    use gilmour::inspect::errors::ErrorQueue;

    let cluster = Cluster::shared();
    // A user who may do everything but run scripts, on every node.
    for server in cluster.servers() {
        support::engine::add_noscript_user(server);
    }
    let (_, b) = two_nodes();
    let url = format!("redis+cluster://noscript:secret@127.0.0.1:{b}");
    let engine = Engine::builder(&url)
        .prefix("cw")
        .connect()
        .await
        .expect("connect as noscript");
    let queue = ErrorQueue::new(&engine);
    let name = queue.name().to_owned();
    let owner = cluster.server(cluster.primary_for(&name));
    support::engine::queue_errors(&engine, &name, 10).await;
    let page = queue.page(0, 10).await.expect("page");
    engine
        .commands()
        .queue_error(&name, "late")
        .await
        .expect("push");
    let trimmed = queue.trim_from(&page.entries[2]).await.expect("trim");
    assert_eq!(trimmed.map(|report| report.removed), Some(8));
    assert_eq!(owner.command(&["LRANGE", &name, "0", "-1"]), "late\ne9\ne8");
    engine.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connections_to_replicas_carry_the_engines_name() {
    let cluster = Cluster::shared();
    let engine = engine_on(cluster.primaries()[0]).await;
    let name = engine.redis().client_name.clone().expect("a name");
    // Asking every node opens a connection to each replica.
    assert!(
        !engine
            .commands()
            .subscribed("c.named.nobody")
            .await
            .expect("check")
    );
    for replica in cluster.replicas() {
        let clients = cluster.server(replica).command(&["CLIENT", "LIST"]);
        assert!(
            clients
                .lines()
                .any(|line| line.contains(&format!(" name={name} "))),
            "replica {replica}: {clients}"
        );
    }
}
