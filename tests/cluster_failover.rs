//! A primary of a real Redis Cluster killed while requests flow: once the cluster has
//! promoted its replica, the engine goes on. The requests in flight fail with a clear
//! error (never a hang), new ones succeed again within seconds, and the caller's
//! subscriber reports the gap. The cluster is this file's own (its nodes time out after
//! 1 s, so that the failover is quick).

mod support;

use gilmour::engine::{Engine, EngineError, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::transport::ConnectionEvent;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::cluster::Cluster;

/// Each request's own timeout.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How long after the kill every request must be succeeding again.
const RECOVERY: Duration = Duration::from_secs(15);

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
        .expect("connect to the cluster")
}

/// What one request did: when it started, how long it took, and how it ended.
struct Outcome {
    started: Instant,
    took: Duration,
    result: Result<i64, String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_costs_only_the_requests_in_flight() {
    let cluster = Cluster::start(1_000);
    let primaries = cluster.primaries();
    let victim = primaries[0];
    let survivor = primaries[1];
    // The caller's subscriber sits on the node that dies; the responder's on another.
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

    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loops = Vec::new();
    for worker in 0..4 {
        let caller = caller.clone();
        let outcomes = outcomes.clone();
        let stop = stop.clone();
        loops.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let started = Instant::now();
                let result = caller
                    .request(
                        "f.echo",
                        json!([worker, n]),
                        RequestOptions::timeout(TIMEOUT),
                    )
                    .await;
                let took = started.elapsed();
                let result = match result {
                    Ok(response) if response.data() == &json!([worker, n]) => Ok(response.code().0),
                    Ok(response) => Ok(response.code().0),
                    Err(error) => Err(describe(&error)),
                };
                let failed = !matches!(result, Ok(200));
                outcomes.lock().unwrap().push(Outcome {
                    started,
                    took,
                    result,
                });
                if failed {
                    // A caller retries after a moment, as a service would.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }

    // Traffic flows, then the primary dies.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        outcomes
            .lock()
            .unwrap()
            .iter()
            .all(|outcome| outcome.result == Ok(200)),
        "all well before the kill"
    );
    let killed = Instant::now();
    cluster.server(victim).kill();

    // Until every worker has had a good run of successes after the kill.
    let deadline = killed + RECOVERY + Duration::from_secs(5);
    loop {
        let recovered = {
            let outcomes = outcomes.lock().unwrap();
            let last_failure = outcomes
                .iter()
                .filter(|outcome| outcome.result != Ok(200))
                .map(|outcome| outcome.started)
                .max();
            let since = last_failure.unwrap_or(killed);
            outcomes
                .iter()
                .filter(|outcome| outcome.started > since && outcome.result == Ok(200))
                .count()
                >= 200
        };
        if recovered || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for handle in loops {
        handle.await.expect("worker");
    }

    let outcomes = outcomes.lock().unwrap();
    let failures: Vec<&Outcome> = outcomes
        .iter()
        .filter(|outcome| outcome.result != Ok(200))
        .collect();
    let last_failure = failures
        .iter()
        .map(|outcome| outcome.started + outcome.took)
        .max()
        .unwrap_or(killed);
    let summary: Vec<String> = failures
        .iter()
        .map(|outcome| {
            format!(
                "+{:?} ({:?}): {:?}",
                outcome.started.saturating_duration_since(killed),
                outcome.took,
                outcome.result
            )
        })
        .collect();
    eprintln!(
        "{} requests, {} failed; all succeeding again {:?} after the kill",
        outcomes.len(),
        failures.len(),
        last_failure.saturating_duration_since(killed)
    );
    for line in &summary {
        eprintln!("  {line}");
    }
    for failure in &failures {
        // No request hangs: each ends by its own timeout, a little over at most.
        assert!(
            failure.took < TIMEOUT + Duration::from_secs(1),
            "{summary:#?}"
        );
        assert!(
            failure.started + failure.took >= killed,
            "failed before the kill: {summary:#?}"
        );
    }
    assert!(
        !failures.is_empty(),
        "killing the caller's node cost nothing?"
    );
    assert!(
        last_failure.saturating_duration_since(killed) < RECOVERY,
        "still failing {RECOVERY:?} after the kill: {summary:#?}"
    );
    let after = outcomes
        .iter()
        .filter(|outcome| outcome.started > last_failure)
        .count();
    assert!(
        after >= 200,
        "only {after} requests after recovery: {summary:#?}"
    );

    // The caller's subscriber saw the gap and closed it.
    let mut saw = (false, false);
    while let Ok(event) = events.try_recv() {
        match event {
            ConnectionEvent::Disconnected { .. } => saw.0 = true,
            ConnectionEvent::Resubscribed { .. } => saw.1 = saw.0,
            ConnectionEvent::Connected { .. } => {}
        }
    }
    assert_eq!(saw, (true, true), "the gap is reported and closed");
}

fn describe(error: &EngineError) -> String {
    match error {
        EngineError::Disconnected { .. } => "disconnected".to_owned(),
        EngineError::NotConnected => "not connected".to_owned(),
        other => other.to_string(),
    }
}
