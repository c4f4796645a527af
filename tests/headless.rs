//! The library behind the headless faces, against a real redis-server: services (hosts
//! pinged, listeners, pruning), the error queue (pages, delete, trims at the cap) and the
//! metrics counted from a live capture. Each test has a prefix of its own.

mod support;

use gilmour::engine::{Engine, ErrorPolicy, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::inspect::errors::{ErrorQueue, QUEUE_CAP, QueuedError};
use gilmour::inspect::metrics::{Metrics, MetricsOptions, OTHER_TOPIC};
use gilmour::inspect::services::{self, Dead, Health, HostState, PingOptions};
use gilmour::inspect::{Filter, Update};
use gilmour::protocol::RecordLayout;
use std::time::Duration;
use support::watch::Watch;
use support::{Backend, RawSubscriber, Server};

fn server() -> &'static Server {
    Server::shared(Backend::Redis)
}

async fn engine(prefix: &str) -> Engine {
    Engine::builder(&server().url())
        .prefix(prefix)
        .connect()
        .await
        .expect("connect")
}

async fn serving(prefix: &str, policy: ErrorPolicy) -> Engine {
    Engine::builder(&server().url())
        .prefix(prefix)
        .health(true)
        .error_policy(policy)
        .connect()
        .await
        .expect("connect")
}

/// Pings quick enough for tests, with a slow threshold no healthy test host reaches.
fn quick() -> PingOptions {
    PingOptions {
        timeout: Duration::from_millis(500),
        slow_after: Duration::from_millis(200),
    }
}

/// Announces an ident in the health hash whose health channel `answer` serves.
async fn fake_host<F, Fut>(engine: &Engine, ident: &str, answer: F)
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let channels = engine.channels();
    engine
        .commands()
        .hash_set(channels.health_hash(), ident, "true")
        .await
        .expect("hset");
    let channel = channels.health(&gilmour::protocol::Ident(ident.to_owned()));
    engine
        .reply_to(
            &channel,
            HandlerOptions::default().group("exclusive"),
            answer,
        )
        .await
        .expect("serve health");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_answers_its_ping_with_an_error_is_failing_not_silent() {
    let prefix = "hl.failing";
    let engine = engine(prefix).await;
    fake_host(&engine, "sick", |_| async {
        Reply::with_code(500, "database unreachable")
    })
    .await;
    let health = services::ping(&engine, "sick", quick()).await;
    match &health {
        Health::Failing { code, reply, .. } => {
            assert_eq!((*code, reply.as_str()), (500, Some("database unreachable")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(health.describe(), "answered 500: database unreachable");
    // A health handler that timed out answers 499: an answer, not silence.
    fake_host(&engine, "stuck", |_| async {
        Reply::with_code(499, "Execution timed out")
    })
    .await;
    let health = services::ping(&engine, "stuck", quick()).await;
    assert_eq!(health.state(), HostState::Failing, "{health:?}");
    engine.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_are_alive_slow_or_dead_and_only_the_gone_are_pruned() {
    let prefix = "hl.hosts";
    let service = serving(prefix, ErrorPolicy::Ignore).await;
    support::engine::echo(&service, "echo").await;
    service
        .slot("event.*", HandlerOptions::default(), |_| async {})
        .await
        .expect("slot");
    let monitor = engine(prefix).await;
    fake_host(&monitor, "slow", |_| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Reply::ok(serde_json::json!(["hl.hosts.request.slowpoke"]))
    })
    .await;
    let channels = monitor.channels().clone();
    let hash = channels.health_hash().to_owned();
    // Crashed: still in the hash, nobody listens. Hung: subscribed, never answers.
    monitor
        .commands()
        .hash_set(&hash, "crashed", "true")
        .await
        .expect("hset");
    monitor
        .commands()
        .hash_set(&hash, "hung", "active")
        .await
        .expect("hset");
    let hung_channel = channels.health(&gilmour::protocol::Ident("hung".into()));
    let _hung = RawSubscriber::subscribe(server(), &hung_channel);

    // Room for a slow answer on a busy machine; the hung host costs the whole timeout.
    let options = PingOptions {
        timeout: Duration::from_secs(2),
        slow_after: Duration::from_millis(200),
    };
    let survey = services::survey(&monitor, options).await.expect("survey");
    let by_ident = |ident: &str| {
        survey
            .hosts
            .iter()
            .find(|host| host.ident == ident)
            .unwrap_or_else(|| panic!("{ident} in {:?}", survey.hosts))
    };
    let own = service.ident().expect("ident").as_str();
    let alive = by_ident(own);
    assert_eq!(alive.health.state(), HostState::Alive, "{alive:?}");
    assert_eq!(
        alive.health.topics(),
        ["hl.hosts.request.echo", "hl.hosts.slot.event.*"]
    );
    assert_eq!(by_ident("slow").health.state(), HostState::Slow);
    assert_eq!(
        by_ident("crashed").health,
        Health::Dead {
            reason: Dead::NoListener
        }
    );
    assert_eq!(
        by_ident("hung").health,
        Health::Dead {
            reason: Dead::NoAnswer(Duration::from_secs(2))
        }
    );
    assert_eq!(by_ident("hung").value, "active");
    assert!(!survey.all_healthy());
    assert_eq!(survey.count(HostState::Dead), 2);
    let echo = survey
        .listeners
        .requests
        .iter()
        .find(|listened| listened.topic == "echo")
        .expect("echo listened");
    assert_eq!(
        (echo.channel.as_str(), echo.listeners),
        ("hl.hosts.request.echo", 1)
    );
    assert_eq!(survey.patterns.len(), 1, "{:?}", survey.patterns);
    assert_eq!(survey.patterns[0].pattern, "hl.hosts.slot.event.*");
    assert_eq!(survey.patterns[0].hosts, [own]);
    assert!(survey.listeners.pattern_subscriptions >= 2);

    let removed = services::prune_dead(&monitor, &survey.hosts, quick(), Duration::ZERO)
        .await
        .expect("prune");
    assert_eq!(removed, ["crashed"]);
    let left: Vec<String> = services::known_hosts(&monitor)
        .await
        .expect("hash")
        .into_iter()
        .map(|(ident, _)| ident)
        .collect();
    assert!(left.contains(&"hung".to_owned()), "{left:?}");
    assert!(!left.contains(&"crashed".to_owned()), "{left:?}");
    service.shutdown().await.expect("shutdown");
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_comes_back_between_the_two_pings_is_not_pruned() {
    let prefix = "hl.back";
    let monitor = engine(prefix).await;
    let hash = monitor.channels().health_hash().to_owned();
    monitor
        .commands()
        .hash_set(&hash, "restarting", "true")
        .await
        .expect("hset");
    let first = services::ping_all(&monitor, quick()).await.expect("ping");
    assert_eq!(first[0].health.state(), HostState::Dead);
    // It subscribes again (a restart) before the confirming ping.
    fake_host(&monitor, "restarting", |_| async {
        Reply::ok(Vec::<String>::new())
    })
    .await;
    let removed = services::prune_dead(&monitor, &first, quick(), Duration::ZERO)
        .await
        .expect("prune");
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(
        services::known_hosts(&monitor).await.expect("hash").len(),
        1
    );
    monitor.shutdown().await.expect("shutdown");
}

/// Pushes entries `names` (the last ends up newest) straight onto a list.
fn push(list: &str, names: impl IntoIterator<Item = String>) {
    let mut args = vec!["LPUSH".to_owned(), list.to_owned()];
    args.extend(names);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server().command(&args);
}

fn list(list: &str) -> Vec<String> {
    let all = server().command(&["LRANGE", list, "0", "-1"]);
    if all.is_empty() {
        Vec::new()
    } else {
        all.lines().map(str::to_owned).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trim_at_the_cap_keeps_what_was_shown_and_what_came_since() {
    let prefix = "hl.cap";
    let engine = engine(prefix).await;
    let queue = ErrorQueue::new(&engine);
    let name = queue.name().to_owned();
    // The queue sits at its cap: 10,000 entries, old-0 the oldest.
    push(&name, (0..QUEUE_CAP).map(|n| format!("old-{n}")));
    let page = queue.page(0, 50).await.expect("page");
    assert_eq!(page.total, QUEUE_CAP);
    assert_eq!(page.entries[0].raw, "old-9999");
    // The user chose to keep the 3 newest they saw; 5 records came meanwhile, each
    // pushing one old record off the tail, so the length still says 10,000.
    for n in 0..5 {
        engine
            .commands()
            .queue_error(&name, &format!("new-{n}"))
            .await
            .expect("push");
    }
    assert_eq!(queue.len().await.expect("len"), QUEUE_CAP);
    let trimmed = queue
        .trim_from(&page.entries[3])
        .await
        .expect("trim")
        .expect("entry still there");
    assert_eq!(trimmed.removed, QUEUE_CAP - 8);
    assert_eq!(
        list(&name),
        [
            "new-4", "new-3", "new-2", "new-1", "new-0", "old-9999", "old-9998", "old-9997"
        ]
    );
    // Below the cursor: the entry stays, what is older goes.
    let below = queue
        .trim_below(&page.entries[1])
        .await
        .expect("trim")
        .expect("entry still there");
    assert_eq!(below.removed, 1);
    assert_eq!(list(&name).last().map(String::as_str), Some("old-9998"));
    let again = queue.trim_below(&page.entries[1]).await.expect("trim");
    assert_eq!(again.map(|report| report.removed), Some(0));
    // Below an entry that is gone by now, nothing is cut.
    let gone = QueuedError::read(engine.channels(), 40, "old-5".to_owned());
    assert_eq!(queue.trim_from(&gone).await.expect("trim"), None);
    assert_eq!(list(&name).len(), 7);
    // Keeping none empties it (LTRIM 0 -1 would keep everything).
    assert_eq!(queue.keep_newest(0).await.expect("trim").removed, 7);
    assert!(queue.is_empty().await.expect("len"));
    engine.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trim_below_an_entry_holds_while_records_keep_coming() {
    let prefix = "hl.busy";
    let engine = engine(prefix).await;
    let queue = ErrorQueue::new(&engine);
    let name = queue.name().to_owned();
    push(&name, (0..100).map(|n| format!("old-{n:03}")));
    let page = queue.page(0, 10).await.expect("page");
    let pusher = {
        let commands = engine.commands().clone();
        let name = name.clone();
        tokio::spawn(async move {
            for n in 0..300 {
                commands
                    .queue_error(&name, &format!("new-{n:03}"))
                    .await
                    .expect("push");
                tokio::task::yield_now().await;
            }
        })
    };
    let trimmed = queue.trim_from(&page.entries[4]).await.expect("trim");
    assert!(trimmed.is_some());
    pusher.await.expect("pusher");
    let left = list(&name);
    let mut expected: Vec<String> = (0..300).rev().map(|n| format!("new-{n:03}")).collect();
    expected.extend((96..100).rev().map(|n| format!("old-{n:03}")));
    assert_eq!(left, expected);
    engine.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_records_of_every_layout_read_alike_and_resend_when_they_can() {
    let prefix = "hl.layouts";
    let service = serving(prefix, ErrorPolicy::Queue).await;
    service
        .reply_to(
            "users.find",
            HandlerOptions::default(),
            |request: Request| async move {
                if request.data() == &serde_json::json!("x") {
                    Reply::ok("found x")
                } else {
                    Reply::with_code(500, "no such user")
                }
            },
        )
        .await
        .expect("serve");
    let caller = engine(prefix).await;
    let failed = caller
        .request(
            "users.find",
            "nobody",
            RequestOptions::timeout(Duration::from_secs(5)),
        )
        .await
        .expect("request");
    assert_eq!(failed.code().0, 500);
    let queue = ErrorQueue::new(&caller);
    let name = queue.name().to_owned();
    // Ours is queued by the responder (the reply reaches the caller first: wait for it).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while queue.len().await.expect("len") == 0 {
        assert!(std::time::Instant::now() < deadline, "no record queued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let go = r#"{"topic":"{\"data\":\"boom\",\"code\":500,\"sender\":\"hl.layouts.response.4f1c\"}","request_data":"","user_data":"hl.layouts.response.4f1c","sender":"hl.layouts.response.4f1c","multi_process":false,"timestamp":"2026-12-01T19:08:39Z","backtrace":"","code":500}"#;
    let ruby = r#"{"data":{"backtrace":"no such user","code":500,"topic":"hl.layouts.request.users.find","request_data":"x","userdata":"{}","sender":"9a8b7c6d","multi_process":false,"timestamp":"2026-12-01 19:05:47 UTC"},"code":0,"sender":"0123"}"#;
    push(
        &name,
        [go.to_owned(), ruby.to_owned(), "not a record".to_owned()],
    );
    let page = queue.page(0, 10).await.expect("page");
    let layouts: Vec<Option<RecordLayout>> = page
        .entries
        .iter()
        .map(|entry| entry.record.as_ref().map(|record| record.layout))
        .collect();
    assert_eq!(
        layouts,
        [
            None,
            Some(RecordLayout::Ruby),
            Some(RecordLayout::GoScrambled),
            Some(RecordLayout::Named)
        ]
    );
    let ours = &page.entries[3];
    assert_eq!(
        ours.request().expect("target"),
        ("users.find".to_owned(), serde_json::json!("nobody"))
    );
    assert_eq!(
        page.entries[2].request().expect_err("go"),
        "the record does not say its topic (Go-style records lose it)"
    );
    assert_eq!(page.entries[2].to_json()["sender"], "4f1c");
    // Ruby's record names its channel: it is re-sent there, with its data.
    let answer = queue
        .resend(&caller, &page.entries[1], Duration::from_secs(5))
        .await
        .expect("resend");
    assert_eq!(answer.data(), &serde_json::json!("found x"));
    // Filters read entries as they read traces.
    let matching = |text: &str| -> Vec<usize> {
        let filter: Filter = text.parse().expect("filter");
        page.entries
            .iter()
            .filter(|entry| filter.matches(*entry))
            .map(|entry| entry.index)
            .collect()
    };
    assert_eq!(matching("topic:users.*"), [1, 3]);
    assert_eq!(matching("sender:4f1c"), [2]);
    assert_eq!(matching(r#"data:"nobody""#), [3]);
    // Deleting works by value, once.
    assert!(queue.delete(&page.entries[2]).await.expect("delete"));
    assert!(!queue.delete(&page.entries[2]).await.expect("delete"));
    assert_eq!(queue.len().await.expect("len"), 3);
    service.shutdown().await.expect("shutdown");
    caller.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_each_completed_trace_by_topic_within_the_label_limit() {
    let prefix = "hl.metrics";
    let service = serving(prefix, ErrorPolicy::Ignore).await;
    for topic in ["a", "b", "c"] {
        support::engine::echo(&service, topic).await;
    }
    let mut watch = Watch::start(server(), prefix).await;
    let metrics = Metrics::new(MetricsOptions { max_topics: 2 });
    let caller = engine(prefix).await;
    let options = RequestOptions::timeout(Duration::from_secs(5));
    for topic in ["a", "a", "b", "c", "c", "c"] {
        caller
            .request(topic, "hi", options.clone())
            .await
            .expect("request");
    }
    caller.signal("tick", 1).await.expect("signal");
    let deadline = tokio::time::Instant::now() + support::watch::WAIT;
    let mut completed = 0;
    while completed < 7 {
        let event = tokio::time::timeout_at(deadline, watch.events.recv())
            .await
            .expect("traffic in time")
            .expect("capture");
        let update = watch.inspector.ingest(event);
        if matches!(update, Update::Completed(_)) {
            completed += 1;
        }
        metrics.apply(&watch.inspector, update);
    }
    metrics.sync(&watch.inspector, 0);
    let text = metrics.encode();
    for line in [
        r#"gilmour_requests_total{topic="a",class="2xx"} 2"#,
        r#"gilmour_requests_total{topic="b",class="2xx"} 1"#,
        &format!(r#"gilmour_requests_total{{topic="{OTHER_TOPIC}",class="2xx"}} 3"#),
        &format!(r#"gilmour_signals_total{{topic="{OTHER_TOPIC}"}} 1"#),
        r#"gilmour_request_latency_seconds_count{topic="a"} 2"#,
        "gilmour_topics_folded_total 4",
        "gilmour_topics 2",
        "gilmour_capture_connected 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
    assert!(text.ends_with("# EOF\n"));
    service.shutdown().await.expect("shutdown");
    caller.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_scripts_a_trim_falls_back_to_watch() {
    // A user who may do everything but run scripts.
    let server = Server::start_with(&[
        "--user",
        "default",
        "on",
        "nopass",
        "~*",
        "&*",
        "+@all",
        "-@scripting",
    ]);
    let engine = Engine::builder(&server.url())
        .prefix("hl.noscript")
        .connect()
        .await
        .expect("connect");
    let refused = server.command(&["EVAL", "return 1", "0"]);
    assert!(refused.contains("NOPERM"), "{refused}");
    let queue = ErrorQueue::new(&engine);
    let name = queue.name().to_owned();
    let mut args = vec!["LPUSH".to_owned(), name.clone()];
    args.extend((0..10).map(|n| format!("e{n}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server.command(&args);
    let page = queue.page(0, 10).await.expect("page");
    engine
        .commands()
        .queue_error(&name, "late")
        .await
        .expect("push");
    let trimmed = queue.trim_from(&page.entries[2]).await.expect("trim");
    assert_eq!(trimmed.map(|report| report.removed), Some(8));
    let left = server.command(&["LRANGE", &name, "0", "-1"]);
    assert_eq!(left, "late\ne9\ne8");
    let below = queue.trim_below(&page.entries[0]).await.expect("trim");
    assert_eq!(below.map(|report| report.removed), Some(1));
    assert_eq!(server.command(&["LRANGE", &name, "0", "-1"]), "late\ne9");
    assert_eq!(queue.keep_newest(0).await.expect("trim").removed, 2);
    assert!(queue.is_empty().await.expect("len"));
    engine.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_built_in_broker_a_trim_still_cuts_where_it_was_shown() {
    let broker = Server::shared(Backend::Broker);
    let engine = Engine::builder(&broker.url())
        .prefix("hl.broker")
        .connect()
        .await
        .expect("connect");
    let queue = ErrorQueue::new(&engine);
    let name = queue.name().to_owned();
    support::engine::queue_errors(&engine, &name, 6).await;
    let page = queue.page(0, 10).await.expect("page");
    engine
        .commands()
        .queue_error(&name, "late")
        .await
        .expect("push");
    let below = queue.trim_below(&page.entries[1]).await.expect("trim");
    assert_eq!(below.map(|report| report.removed), Some(4));
    let from = queue.trim_from(&page.entries[1]).await.expect("trim");
    assert_eq!(from.map(|report| report.removed), Some(1));
    assert_eq!(broker.command(&["LRANGE", &name, "0", "-1"]), "late\ne5");
    assert_eq!(queue.keep_newest(1).await.expect("trim").removed, 1);
    assert_eq!(broker.command(&["LRANGE", &name, "0", "-1"]), "late");
    engine.shutdown().await.expect("shutdown");
}
