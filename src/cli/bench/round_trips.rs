//! `gilmour bench`: request/reply round trips and signals per second against an echo
//! responder it starts itself, next to a plain Redis PUBLISH baseline measured in the
//! same run, so that the figures mean something on any machine.

use crate::cli::Connection;
use anyhow::Context;
use clap::Args;
use gilmour::engine::{Engine, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::transport::{ClusterPubSub, Commands, Topology};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Arguments of `gilmour bench` (round trips).
#[derive(Debug, Args)]
pub struct RoundTripArgs {
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Concurrent callers to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    concurrency: Vec<usize>,
    /// Bytes of request data.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Print every figure as one JSON object.
    #[arg(long)]
    json: bool,
    /// Measure the round trips again with a deep capture (MONITOR, read into an
    /// inspector as `tail --deep` does) attached, and report what it costs.
    #[arg(long)]
    deep: bool,
}

/// Round trips at one concurrency with a deep capture attached, against without.
#[derive(Debug, Serialize)]
struct WithDeep {
    concurrency: usize,
    requests_per_second: f64,
    p99_ms: f64,
    /// Requests per second with MONITOR attached over without.
    ratio: f64,
    monitor_lines: u64,
    deep_events_dropped: u64,
}

/// Round trips at one concurrency.
#[derive(Debug, Serialize)]
struct RoundTrips {
    concurrency: usize,
    requests: u64,
    failures: u64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    redis_commands_per_request: f64,
}

/// Round trips through a skewed group: one slow member that handles one request at a
/// time, one fast member, and where the requests went.
#[derive(Debug, Serialize)]
struct Skewed {
    concurrency: usize,
    slow_handler_ms: f64,
    requests: u64,
    failures: u64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    served_by_slow: u64,
    served_by_fast: u64,
    slow_lock_delayed: u64,
    slow_lock_skipped: u64,
}

/// One `PUBSUB NUMSUB` at a time, as a request asks it.
#[derive(Debug, Serialize)]
struct Numsub {
    /// The servers asked: 1, or every node of a cluster.
    nodes: usize,
    queries: u64,
    p50_ms: f64,
    p99_ms: f64,
    /// On a cluster, what a request asks: the home primary first, every node only when
    /// it has no subscriber.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_check_p50_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_check_p99_ms: Option<f64>,
}

/// How many NUMSUBs measure their cost.
const NUMSUB_QUERIES: u64 = 2_000;

/// How long the slow member of the skewed group takes per request.
const SLOW_HANDLER: Duration = Duration::from_millis(5);
/// Callers of the skewed group.
const SKEWED_CALLERS: usize = 20;

/// Everything one run measured.
#[derive(Debug, Serialize)]
struct Report {
    payload_bytes: usize,
    seconds_per_measurement: f64,
    round_trips: Vec<RoundTrips>,
    /// On a cluster: the round trips with the caller's and the responder's subscribers on
    /// nodes of different shards, every message crossing the cluster bus.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    across_nodes: Vec<RoundTrips>,
    skewed_group: Skewed,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    with_deep_capture: Vec<WithDeep>,
    signals_per_second: f64,
    publish_baseline_per_second: f64,
    /// What asking "does anyone listen?" costs (summed over every node of a cluster).
    numsub: Numsub,
    /// Round trips per second at the highest concurrency, over the baseline.
    fraction_of_baseline: f64,
}

/// Runs `gilmour bench`.
pub async fn run(connection: &Connection, args: RoundTripArgs) -> anyhow::Result<ExitCode> {
    let window =
        Duration::try_from_secs_f64(args.seconds).context("--seconds must be a positive number")?;
    let topic = format!("bench.echo.{}", uuid::Uuid::new_v4().simple());
    let responder = start_echo(connection.builder(), &topic).await?;
    let caller = connection.builder().connect().await?;
    if let Some(home) = caller.commands().home().await?
        && !args.json
    {
        eprintln!(
            "cluster: every subscriber on {home} (the primary of slot {})",
            gilmour::transport::HOME_SLOT
        );
    }
    let payload = serde_json::Value::String("x".repeat(args.size.saturating_sub(2)));
    let numsub = measure_numsub(&caller, &topic).await?;
    if !args.json {
        eprintln!(
            "PUBSUB NUMSUB  c=1   p50 {:>6.3} ms  p99 {:>6.3} ms  ({} node{} asked, in parallel)",
            numsub.p50_ms,
            numsub.p99_ms,
            numsub.nodes,
            if numsub.nodes == 1 { "" } else { "s" }
        );
        if let (Some(p50), Some(p99)) = (numsub.request_check_p50_ms, numsub.request_check_p99_ms) {
            eprintln!(
                "listener check c=1   p50 {p50:>6.3} ms  p99 {p99:>6.3} ms  (a request's: the home primary first)"
            );
        }
    }

    let mut round_trips = Vec::new();
    for &concurrency in &args.concurrency {
        let measured = measure_round_trips(&caller, &topic, &payload, concurrency, window).await?;
        if !args.json {
            print_round_trips("request/reply ", &measured);
        }
        round_trips.push(measured);
    }
    // On a cluster, again with the responder's subscriber on a primary and the caller's
    // on a node of another shard, each publishing by the channel's slot: every request
    // and every reply crosses the cluster bus, as between Go or Ruby peers.
    let mut across_nodes = Vec::new();
    if let Some((responder_at, caller_at)) = placements(connection).await? {
        let spread = |config: &gilmour::transport::RedisConfig| {
            connection.builder_at(&config.url).redis(|redis| {
                redis.cluster_pubsub = ClusterPubSub::Seeds;
            })
        };
        let topic = format!("bench.echo.{}", uuid::Uuid::new_v4().simple());
        let far_responder = start_echo(spread(&responder_at), &topic).await?;
        let far_caller = spread(&caller_at).connect().await?;
        if !args.json {
            eprintln!(
                "cluster: across nodes, responder subscribed on {}, caller on {}",
                first_host(&responder_at.url),
                first_host(&caller_at.url)
            );
        }
        for &concurrency in &args.concurrency {
            let measured =
                measure_round_trips(&far_caller, &topic, &payload, concurrency, window).await?;
            if !args.json {
                print_round_trips("across nodes  ", &measured);
            }
            across_nodes.push(measured);
        }
        far_caller.shutdown().await?;
        far_responder.shutdown().await?;
    }
    let skewed = measure_skewed(connection, &caller, &payload, window).await?;
    if !args.json {
        eprintln!(
            "skewed group   c={:<3} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  slow (max_in_flight 1, {} ms) served {}, fast {}; slow put off {} and skipped {} lock attempts",
            skewed.concurrency,
            skewed.requests_per_second,
            skewed.p50_ms,
            skewed.p99_ms,
            SLOW_HANDLER.as_millis(),
            skewed.served_by_slow,
            skewed.served_by_fast,
            skewed.slow_lock_delayed,
            skewed.slow_lock_skipped,
        );
    }
    let with_deep_capture = if args.deep {
        measure_with_deep(connection, &caller, &topic, &payload, &round_trips, window).await?
    } else {
        Vec::new()
    };
    if !args.json {
        for measured in &with_deep_capture {
            eprintln!(
                "with MONITOR   c={:<3} {:>9.0} req/s  p99 {:>6.2} ms  {:.0}% of the rate without ({} MONITOR lines read)",
                measured.concurrency,
                measured.requests_per_second,
                measured.p99_ms,
                measured.ratio * 100.0,
                measured.monitor_lines
            );
        }
    }
    let signals_per_second = measure_signals(&caller, &responder, &payload, window).await?;
    let baseline = measure_publish(caller.commands(), &payload, window).await?;
    responder.shutdown().await?;
    caller.shutdown().await?;

    let top = round_trips
        .iter()
        .max_by_key(|measured| measured.concurrency)
        .map_or(0.0, |measured| measured.requests_per_second);
    let report = Report {
        payload_bytes: args.size,
        seconds_per_measurement: args.seconds,
        round_trips,
        across_nodes,
        skewed_group: skewed,
        with_deep_capture,
        signals_per_second,
        publish_baseline_per_second: baseline,
        numsub,
        fraction_of_baseline: if baseline > 0.0 { top / baseline } else { 0.0 },
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        eprintln!("signals        c=64  {signals_per_second:>9.0} signals/s (sent and received)");
        eprintln!(
            "PUBLISH        c=64  {baseline:>9.0} /s  (baseline, one multiplexed connection)"
        );
        eprintln!(
            "request/reply at the highest concurrency = {:.0}% of the PUBLISH baseline",
            report.fraction_of_baseline * 100.0
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The round trips again, with a deep capture attached and read into an inspector.
async fn measure_with_deep(
    connection: &Connection,
    caller: &Engine,
    topic: &str,
    payload: &serde_json::Value,
    without: &[RoundTrips],
    window: Duration,
) -> anyhow::Result<Vec<WithDeep>> {
    let (deep, mut events) = gilmour::inspect::deep::DeepCapture::start(
        connection.builder().redis_config(),
        connection.builder().channels(),
        gilmour::inspect::deep::DEFAULT_DEEP_BUFFER,
    )
    .await?;
    let reader = tokio::spawn(async move {
        let mut inspector = gilmour::inspect::Inspector::default();
        let mut batch = Vec::with_capacity(1024);
        while events.recv_many(&mut batch, 1024).await > 0 {
            for event in batch.drain(..) {
                inspector.ingest_deep(event);
            }
        }
    });
    let mut measured = Vec::new();
    for before in without {
        let lines = deep.lines();
        let now = measure_round_trips(caller, topic, payload, before.concurrency, window).await?;
        measured.push(WithDeep {
            concurrency: now.concurrency,
            requests_per_second: now.requests_per_second,
            p99_ms: now.p99_ms,
            ratio: if before.requests_per_second > 0.0 {
                now.requests_per_second / before.requests_per_second
            } else {
                0.0
            },
            monitor_lines: deep.lines() - lines,
            deep_events_dropped: deep.dropped(),
        });
    }
    drop(deep);
    reader.abort();
    Ok(measured)
}

/// Starts a group of a slow member (one request at a time) and a fast one on a topic of
/// its own, and measures round trips through it.
async fn measure_skewed(
    connection: &Connection,
    caller: &Engine,
    payload: &serde_json::Value,
    window: Duration,
) -> anyhow::Result<Skewed> {
    let topic = format!("bench.skewed.{}", uuid::Uuid::new_v4().simple());
    let slow = connection.builder().connect().await?;
    let fast = connection.builder().connect().await?;
    let served_by_slow = Arc::new(AtomicU64::new(0));
    let served_by_fast = Arc::new(AtomicU64::new(0));
    let count = served_by_slow.clone();
    slow.reply_to(
        &topic,
        HandlerOptions::default().max_in_flight(1),
        move |request: Request| {
            let count = count.clone();
            async move {
                tokio::time::sleep(SLOW_HANDLER).await;
                count.fetch_add(1, Ordering::Relaxed);
                Reply::ok(request.into_data())
            }
        },
    )
    .await?;
    let count = served_by_fast.clone();
    fast.reply_to(
        &topic,
        HandlerOptions::default(),
        move |request: Request| {
            count.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Reply::ok(request.into_data()))
        },
    )
    .await?;
    let measured = measure_round_trips(caller, &topic, payload, SKEWED_CALLERS, window).await?;
    let stats = slow.stats();
    slow.shutdown().await?;
    fast.shutdown().await?;
    Ok(Skewed {
        concurrency: SKEWED_CALLERS,
        slow_handler_ms: SLOW_HANDLER.as_secs_f64() * 1000.0,
        requests: measured.requests,
        failures: measured.failures,
        requests_per_second: measured.requests_per_second,
        p50_ms: measured.p50_ms,
        p99_ms: measured.p99_ms,
        served_by_slow: served_by_slow.load(Ordering::Relaxed),
        served_by_fast: served_by_fast.load(Ordering::Relaxed),
        slow_lock_delayed: stats.lock_delayed,
        slow_lock_skipped: stats.lock_skipped,
    })
}

async fn measure_round_trips(
    caller: &Engine,
    topic: &str,
    payload: &serde_json::Value,
    concurrency: usize,
    window: Duration,
) -> anyhow::Result<RoundTrips> {
    let before = command_calls(caller.commands()).await?;
    let started = Instant::now();
    let deadline = started + window;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let caller = caller.clone();
        let topic = topic.to_owned();
        let payload = payload.clone();
        workers.spawn(async move {
            let mut latencies = new_histogram();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let options = RequestOptions::timeout(Duration::from_secs(5));
                match caller.request(&topic, payload.clone(), options).await {
                    Ok(response) if response.is_ok() => {
                        let micros = sent.elapsed().as_micros() as u64;
                        // Out-of-range values saturate: the histogram tracks up to 60 s.
                        let _ = latencies.record(micros.max(1));
                    }
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        });
    }
    let mut latencies = new_histogram();
    let mut failures = 0;
    while let Some(done) = workers.join_next().await {
        let (worker, failed) = done?;
        latencies.add(worker)?;
        failures += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = command_calls(caller.commands()).await?;
    let requests = latencies.len();
    // One INFO of the two is counted in the difference.
    let commands = after.saturating_sub(before).saturating_sub(1) as f64;
    let millis = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    Ok(RoundTrips {
        concurrency,
        requests,
        failures,
        requests_per_second: requests as f64 / elapsed,
        p50_ms: millis(0.5),
        p99_ms: millis(0.99),
        max_ms: latencies.max() as f64 / 1000.0,
        redis_commands_per_request: if requests > 0 {
            commands / requests as f64
        } else {
            0.0
        },
    })
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant digits: constant, valid bounds.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Sends signals from 64 callers for the window and counts them in a slot; the rate is
/// what was received, over the time until the last one arrived.
async fn measure_signals(
    caller: &Engine,
    receiver: &Engine,
    payload: &serde_json::Value,
    window: Duration,
) -> anyhow::Result<f64> {
    let topic = format!("bench.signal.{}", uuid::Uuid::new_v4().simple());
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let slot = receiver
        .slot(
            &topic,
            HandlerOptions::default(),
            move |_request: Request| {
                counter.fetch_add(1, Ordering::Relaxed);
                std::future::ready(())
            },
        )
        .await?;
    let started = Instant::now();
    let deadline = started + window;
    let mut workers = JoinSet::new();
    for _ in 0..64 {
        let caller = caller.clone();
        let topic = topic.clone();
        let payload = payload.clone();
        workers.spawn(async move {
            let mut sent = 0u64;
            while Instant::now() < deadline {
                if caller.signal(&topic, payload.clone()).await.is_ok() {
                    sent += 1;
                }
            }
            sent
        });
    }
    let mut sent = 0;
    while let Some(done) = workers.join_next().await {
        sent += done?;
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(5));
    let give_up = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < sent && Instant::now() < give_up {
        ticker.tick().await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    slot.unsubscribe().await?;
    Ok(received.load(Ordering::Relaxed) as f64 / elapsed)
}

/// Plain PUBLISH from 64 concurrent callers on one multiplexed connection, to a channel
/// nobody listens on: the most a client library can get out of this Redis.
/// On a cluster, where the responder and the caller connect to be far apart: the URL
/// seeded at a primary for the responder and at a node of another shard (a replica when
/// there is one) for the caller. `None` elsewhere.
async fn placements(
    connection: &Connection,
) -> anyhow::Result<
    Option<(
        gilmour::transport::RedisConfig,
        gilmour::transport::RedisConfig,
    )>,
> {
    let given = gilmour::transport::RedisConfig::new(connection.url());
    if given.topology() != Topology::Cluster {
        return Ok(None);
    }
    let commands = Commands::connect(&given).await?;
    let nodes = commands.nodes().await?;
    let up: Vec<_> = nodes.iter().filter(|node| !node.failed).collect();
    let Some(primary) = up
        .iter()
        .find(|node| node.role == gilmour::transport::cluster::Role::Primary)
    else {
        return Ok(None);
    };
    let other = up
        .iter()
        .rev()
        .find(|node| node.id != primary.id && node.primary.as_ref() != Some(&primary.id))
        .unwrap_or(primary);
    let at = |address: &str| given.seeded_at(address).unwrap_or_else(|| given.clone());
    Ok(Some((at(&primary.address), at(&other.address))))
}

/// An engine that answers `topic` with its request's data.
async fn start_echo(
    builder: gilmour::engine::EngineBuilder,
    topic: &str,
) -> anyhow::Result<Engine> {
    let responder = builder.connect().await?;
    responder
        .reply_to(
            topic,
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await?;
    Ok(responder)
}

fn print_round_trips(label: &str, measured: &RoundTrips) {
    eprintln!(
        "{label} c={:<3} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  {:.1} Redis commands/request",
        measured.concurrency,
        measured.requests_per_second,
        measured.p50_ms,
        measured.p99_ms,
        measured.redis_commands_per_request
    );
}

/// The first host of a URL, for a line that says where a subscriber is.
fn first_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    hosts.split(',').next().unwrap_or(hosts).to_owned()
}

async fn measure_numsub(caller: &Engine, topic: &str) -> anyhow::Result<Numsub> {
    let commands = caller.commands();
    let channel = caller.channels().request(topic);
    let nodes = match commands.topology() {
        Topology::Cluster => commands
            .nodes()
            .await?
            .iter()
            .filter(|node| !node.failed)
            .count(),
        Topology::Single | Topology::Sentinel => 1,
    };
    let mut latencies = new_histogram();
    for _ in 0..NUMSUB_QUERIES {
        let sent = Instant::now();
        commands.numsub(&channel).await?;
        let _ = latencies.record((sent.elapsed().as_micros() as u64).max(1));
    }
    let millis = |histogram: &Histogram<u64>, quantile: f64| {
        histogram.value_at_quantile(quantile) as f64 / 1000.0
    };
    let mut checks = new_histogram();
    if commands.home().await?.is_some() {
        for _ in 0..NUMSUB_QUERIES {
            let sent = Instant::now();
            commands.subscribed(&channel).await?;
            let _ = checks.record((sent.elapsed().as_micros() as u64).max(1));
        }
    }
    let checked = !checks.is_empty();
    Ok(Numsub {
        nodes,
        queries: NUMSUB_QUERIES,
        p50_ms: millis(&latencies, 0.5),
        p99_ms: millis(&latencies, 0.99),
        request_check_p50_ms: checked.then(|| millis(&checks, 0.5)),
        request_check_p99_ms: checked.then(|| millis(&checks, 0.99)),
    })
}

async fn measure_publish(
    commands: &Commands,
    payload: &serde_json::Value,
    window: Duration,
) -> anyhow::Result<f64> {
    let channel = format!("bench.baseline.{}", uuid::Uuid::new_v4().simple());
    let text = payload.to_string();
    let started = Instant::now();
    let deadline = started + window;
    let mut workers = JoinSet::new();
    for _ in 0..64 {
        let commands = commands.clone();
        let channel = channel.clone();
        let text = text.clone();
        workers.spawn(async move {
            let mut published = 0u64;
            while Instant::now() < deadline {
                if commands.publish(&channel, &text).await.is_ok() {
                    published += 1;
                }
            }
            published
        });
    }
    let mut published = 0;
    while let Some(done) = workers.join_next().await {
        published += done?;
    }
    Ok(published as f64 / started.elapsed().as_secs_f64())
}

/// The total number of commands Redis has run (`INFO commandstats`).
async fn command_calls(commands: &Commands) -> anyhow::Result<u64> {
    let info = commands.info("commandstats").await?;
    Ok(info
        .lines()
        .filter_map(|line| line.split("calls=").nth(1))
        .filter_map(|rest| rest.split(',').next())
        .filter_map(|calls| calls.parse::<u64>().ok())
        .sum())
}
