//! "Has capacity, will serve": a route's bounds against a real redis-server. A member of a
//! group at capacity lets a member with capacity win the lock, one whose queue is full
//! does not compete, an ungrouped slot sheds what it cannot hold (counted), and
//! `gilmour reply --exec` runs no more commands at once than `--max-in-flight`.

mod support;

use gilmour::engine::{Engine, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::protocol::Code;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::process::{Background, gilmour, text};
use support::{Backend, Server};
use tokio::sync::Semaphore;

async fn engine() -> Engine {
    Engine::connect(&Server::shared(Backend::Redis).url())
        .await
        .expect("connect")
}

/// How many handlers of one member run now, the most that ever ran at once, and how many
/// requests it handled.
#[derive(Default)]
struct Load {
    running: AtomicUsize,
    most: AtomicUsize,
    handled: AtomicUsize,
}

impl Load {
    async fn handle(&self, pause: Duration, request: Request) -> Reply {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(pause).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.handled.fetch_add(1, Ordering::SeqCst);
        Reply::ok(request.into_data())
    }
}

async fn serve(
    engine: &Engine,
    topic: &str,
    options: HandlerOptions,
    pause: Duration,
) -> Arc<Load> {
    let load = Arc::new(Load::default());
    let shared = load.clone();
    engine
        .reply_to(topic, options, move |request| {
            let load = shared.clone();
            async move { load.handle(pause, request).await }
        })
        .await
        .expect("reply_to");
    load
}

/// 20 callers, each sending `rounds` requests one after another; returns every answer's
/// data, failing on any answer that is not a 200.
async fn twenty_callers(topic: &str, rounds: usize) -> Vec<serde_json::Value> {
    let caller = engine().await;
    let mut callers = tokio::task::JoinSet::new();
    for who in 0..20 {
        let caller = caller.clone();
        let topic = topic.to_owned();
        callers.spawn(async move {
            let mut answers = Vec::new();
            for round in 0..rounds {
                let response = caller
                    .request(
                        &topic,
                        json!([who, round]),
                        RequestOptions::timeout(Duration::from_secs(10)),
                    )
                    .await
                    .expect("request");
                assert_eq!(response.code(), Code::OK, "{:?}", response.data());
                answers.push(response.into_data());
            }
            answers
        });
    }
    let mut all = Vec::new();
    while let Some(answers) = callers.join_next().await {
        all.extend(answers.expect("caller"));
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_at_capacity_leaves_requests_to_one_with_capacity() {
    let slow_engine = engine().await;
    let fast_engine = engine().await;
    let slow = serve(
        &slow_engine,
        "capacity.skewed",
        HandlerOptions::default().max_in_flight(1),
        Duration::from_millis(30),
    )
    .await;
    let fast = serve(
        &fast_engine,
        "capacity.skewed",
        HandlerOptions::default(),
        Duration::from_millis(1),
    )
    .await;
    let answers = twenty_callers("capacity.skewed", 10).await;
    assert_eq!(answers.len(), 200);
    let distinct: HashSet<String> = answers.iter().map(|answer| answer.to_string()).collect();
    assert_eq!(
        distinct.len(),
        200,
        "each request answered with its own data"
    );
    assert_eq!(
        slow.handled.load(Ordering::SeqCst) + fast.handled.load(Ordering::SeqCst),
        200,
        "each request handled exactly once"
    );
    assert_eq!(
        slow.most.load(Ordering::SeqCst),
        1,
        "never more than 1 at once"
    );
    assert!(
        slow_engine.stats().lock_delayed > 0,
        "{:?}",
        slow_engine.stats()
    );
    assert!(
        fast.handled.load(Ordering::SeqCst) > slow.handled.load(Ordering::SeqCst),
        "the member with capacity served most: fast {}, slow {}",
        fast.handled.load(Ordering::SeqCst),
        slow.handled.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_with_a_full_queue_does_not_compete_for_the_lock() {
    let slow_engine = engine().await;
    let fast_engine = engine().await;
    let slow = serve(
        &slow_engine,
        "capacity.full",
        HandlerOptions::default().max_in_flight(1).queue(0),
        Duration::from_millis(30),
    )
    .await;
    let fast = serve(
        &fast_engine,
        "capacity.full",
        HandlerOptions::default(),
        Duration::from_millis(1),
    )
    .await;
    let answers = twenty_callers("capacity.full", 5).await;
    assert_eq!(answers.len(), 100);
    assert_eq!(
        slow.handled.load(Ordering::SeqCst) + fast.handled.load(Ordering::SeqCst),
        100
    );
    assert_eq!(slow.most.load(Ordering::SeqCst), 1);
    assert!(
        slow_engine.stats().lock_skipped > 0,
        "{:?}",
        slow_engine.stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ungrouped_slot_sheds_what_its_queue_cannot_hold_and_counts_it() {
    let engine = engine().await;
    let gate = Arc::new(Semaphore::new(0));
    let handled = Arc::new(AtomicUsize::new(0));
    let (gate_in, handled_in) = (gate.clone(), handled.clone());
    engine
        .slot(
            "capacity.shed",
            HandlerOptions::default().max_in_flight(1).queue(1),
            move |_request| {
                let (gate, handled) = (gate_in.clone(), handled_in.clone());
                async move {
                    // Held until the test lets it go, so that the queue fills.
                    let _pass = gate.acquire().await.expect("gate");
                    handled.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .await
        .expect("slot");
    let signaller = self::engine().await;
    for n in 0..10 {
        signaller
            .signal("capacity.shed", json!(n))
            .await
            .expect("signal");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.stats().shed < 8 {
        assert!(Instant::now() < deadline, "{:?}", engine.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gate.add_permits(10);
    while handled.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the two held signals are handled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        engine.stats().shed,
        8,
        "one running, one waiting, eight shed"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 2);
}

#[test]
fn reply_exec_runs_at_most_max_in_flight_commands_at_once() {
    let server = Server::shared(Backend::Redis);
    let lock = std::env::temp_dir().join(format!("gilmour-in-flight-{}", std::process::id()));
    let lock = lock.display().to_string();
    // Fails (exit 9) whenever a second copy runs while one holds the directory.
    let script = format!("mkdir '{lock}' || exit 9; sleep 0.1; rmdir '{lock}'; echo done");
    let _serving = Background::serving(
        server,
        &[
            "reply",
            "cap.exec",
            "--exec",
            &script,
            "--max-in-flight",
            "1",
        ],
    );
    let callers: Vec<_> = (0..4)
        .map(|_| {
            gilmour(server)
                .args(["request", "cap.exec", "x", "--timeout", "10"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start")
        })
        .collect();
    for caller in callers {
        let output = caller.wait_with_output().expect("wait");
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(text(&output.stdout), "\"done\"\n");
    }
}
