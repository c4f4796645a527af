//! `gilmour bench`: request/reply round trips and signals per second against an echo
//! responder it starts itself, next to a plain Redis PUBLISH baseline measured in the
//! same run, so that the figures mean something on any machine.

use super::Connection;
use anyhow::Context;
use clap::{Args, Subcommand};
use gilmour::engine::{Engine, HandlerOptions, Reply, Request, RequestOptions};
use gilmour::transport::Commands;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Arguments of `gilmour bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: Option<BenchWhat>,
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
}

/// Other things to measure.
#[derive(Debug, Subcommand)]
enum BenchWhat {
    /// Frame times of the terminal app with a full store while traffic arrives (no
    /// Redis needed; build with --release for figures that mean something).
    Render(RenderArgs),
}

/// Arguments of `gilmour bench render`.
#[derive(Debug, Args)]
struct RenderArgs {
    /// Traces in the store.
    #[arg(long, default_value_t = 1_000_000)]
    traces: usize,
    /// Events per second arriving while frames are drawn.
    #[arg(long, default_value_t = 10_000)]
    rate: usize,
    /// Frames measured per scenario.
    #[arg(long, default_value_t = 300)]
    frames: usize,
    /// Print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

fn render(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let report = crate::tui::bench::measure(crate::tui::bench::Options {
        traces: args.traces,
        rate: args.rate,
        frames: args.frames,
        size: (160, 45),
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} traces (filled in {:.1} s), {} events/s = {} events per frame at 30 fps, 160x45:",
        report.traces, report.fill_seconds, report.rate, report.events_per_frame
    );
    for figures in &report.scenarios {
        println!(
            "  {:<24} update {:>6.2} ms   draw p50 {:>6.2} ms  p99 {:>6.2} ms   slowest frame {:>6.2} ms",
            figures.scenario,
            figures.update_mean_ms,
            figures.draw_p50_ms,
            figures.draw_p99_ms,
            figures.frame_max_ms
        );
    }
    Ok(ExitCode::SUCCESS)
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

/// Everything one run measured.
#[derive(Debug, Serialize)]
struct Report {
    payload_bytes: usize,
    seconds_per_measurement: f64,
    round_trips: Vec<RoundTrips>,
    signals_per_second: f64,
    publish_baseline_per_second: f64,
    /// Round trips per second at the highest concurrency, over the baseline.
    fraction_of_baseline: f64,
}

/// Runs `gilmour bench`.
pub async fn run(connection: &Connection, args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(BenchWhat::Render(render_args)) = &args.what {
        return render(render_args);
    }
    let window =
        Duration::try_from_secs_f64(args.seconds).context("--seconds must be a positive number")?;
    let topic = format!("bench.echo.{}", uuid::Uuid::new_v4().simple());
    let responder = connection.builder().connect().await?;
    responder
        .reply_to(
            &topic,
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.into_data()) },
        )
        .await?;
    let caller = connection.builder().connect().await?;
    let payload = serde_json::Value::String("x".repeat(args.size.saturating_sub(2)));

    let mut round_trips = Vec::new();
    for &concurrency in &args.concurrency {
        let measured = measure_round_trips(&caller, &topic, &payload, concurrency, window).await?;
        if !args.json {
            eprintln!(
                "request/reply  c={:<3} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  {:.1} Redis commands/request",
                measured.concurrency,
                measured.requests_per_second,
                measured.p50_ms,
                measured.p99_ms,
                measured.redis_commands_per_request
            );
        }
        round_trips.push(measured);
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
        signals_per_second,
        publish_baseline_per_second: baseline,
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
