//! `gilmour bench ingest`: how fast the inspector takes traffic in, how much memory a
//! stored trace costs, and how fast a filter runs over a full store.
//!
//! Live: 64 callers publish request/reply pairs to Redis while a capture feeds an
//! inspector; the figure is events ingested per second and the number dropped. Offline:
//! synthetic pairs fill a store to measure correlation alone, resident memory per trace
//! and filter time; and large pairs (1 MiB payloads by default) go through an inspector
//! with the default bounds, to show that memory stays under its byte budget.

use crate::cli::Connection;
use anyhow::Context;
use chrono::Utc;
use clap::Args;
use gilmour::inspect::{
    Capture, Event, Filter, Inspector, InspectorOptions, MessageEvent, capture,
};
use gilmour::protocol::Channels;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `gilmour bench ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Messages published for the live measurement (half requests, half replies).
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Traces stored for the memory and filter measurements.
    #[arg(long, default_value_t = 1_000_000)]
    traces: usize,
    /// Bytes of data in each payload.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Messages per second published in the live measurement (0: as fast as possible).
    #[arg(long, default_value_t = 150_000)]
    rate: u64,
    /// Traces with large payloads fed through an inspector with the default bounds.
    #[arg(long, default_value_t = 10_000)]
    large_traces: usize,
    /// Bytes of data in each large payload (request and reply).
    #[arg(long, default_value_t = 1 << 20)]
    large_size: usize,
    /// Print every figure as one JSON object.
    #[arg(long)]
    json: bool,
    /// Only the large-payload measurement, as JSON (run in a process of its own, so
    /// that nothing measured before it is still resident).
    #[arg(long, hide = true)]
    large_only: bool,
}

/// PUBLISH commands per pipeline in the live measurement.
const PIPELINE: usize = 2048;

#[derive(Debug, Serialize)]
struct Live {
    published: usize,
    publish_rate: f64,
    received: u64,
    dropped: u64,
    seconds: f64,
    events_per_second: f64,
}

#[derive(Debug, Serialize)]
struct FilterRun {
    filter: String,
    matched: usize,
    milliseconds: f64,
}

#[derive(Debug, Serialize, serde::Deserialize)]
struct Large {
    traces: usize,
    payload_bytes: usize,
    budget_bytes: usize,
    store_bytes: usize,
    traces_kept: usize,
    evicted: u64,
    evicted_bytes: u64,
    resident_bytes: usize,
    peak_resident_bytes: usize,
}

#[derive(Debug, Serialize)]
struct Report {
    payload_bytes: usize,
    large: Large,
    live: Live,
    correlation_events_per_second: f64,
    traces_stored: usize,
    resident_bytes_per_trace: f64,
    filters: Vec<FilterRun>,
}

/// Runs `gilmour bench ingest`.
pub async fn run(connection: &Connection, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let channels = Channels::new(&connection.prefix);
    if args.large_only {
        let large = large(&channels, args.large_traces, args.large_size);
        println!("{}", serde_json::to_string(&large)?);
        return Ok(ExitCode::SUCCESS);
    }
    let data = "x".repeat(args.size);
    // Memory first, while the process is fresh.
    let (inspector, correlation_rate, bytes_per_trace) = fill(&channels, &data, args.traces);
    let filters = run_filters(&inspector)?;
    drop(inspector);
    let live = live(connection, &channels, &data, args.messages, args.rate).await?;
    let large = large_in_own_process(connection, &args)?;
    let report = Report {
        payload_bytes: args.size,
        large,
        live,
        correlation_events_per_second: correlation_rate,
        traces_stored: args.traces,
        resident_bytes_per_trace: bytes_per_trace,
        filters,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "live capture + correlation  {:>9.0} events/s  ({} published, {} received, {} dropped)",
        report.live.events_per_second,
        report.live.published,
        report.live.received,
        report.live.dropped
    );
    eprintln!("correlation alone           {correlation_rate:>9.0} events/s");
    eprintln!(
        "resident memory             {bytes_per_trace:>9.0} bytes per stored trace ({} traces, {}-byte data)",
        args.traces, args.size
    );
    let large = &report.large;
    eprintln!(
        "large payloads              {:>9.1} MiB resident (peak {:.1} MiB) after {} traces of {} KiB: {:.1} MiB held of a {:.0} MiB budget, {} traces kept, {} evicted",
        mib(large.resident_bytes),
        mib(large.peak_resident_bytes),
        large.traces,
        large.payload_bytes >> 10,
        mib(large.store_bytes),
        mib(large.budget_bytes),
        large.traces_kept,
        large.evicted
    );
    for run in &report.filters {
        eprintln!(
            "filter {:<28} {:>7.1} ms over {} traces ({} matched)",
            run.filter, run.milliseconds, args.traces, run.matched
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Runs the large-payload measurement in a fresh process of this binary.
fn large_in_own_process(connection: &Connection, args: &IngestArgs) -> anyhow::Result<Large> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--prefix",
            &connection.prefix,
            "bench",
            "ingest",
            "--large-only",
        ])
        .args(["--large-traces", &args.large_traces.to_string()])
        .args(["--large-size", &args.large_size.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run the large-payload measurement")?;
    anyhow::ensure!(
        output.status.success(),
        "the large-payload measurement failed"
    );
    serde_json::from_slice(&output.stdout).context("the large-payload measurement's report")
}

/// Feeds `traces` pairs with `size`-byte payloads through an inspector with the default
/// bounds, and reads the process's memory after.
fn large(channels: &Channels, traces: usize, size: usize) -> Large {
    let data = "x".repeat(size);
    let mut inspector = Inspector::default();
    for n in 0..traces {
        for event in pair(channels, &data, n) {
            inspector.ingest(event);
        }
    }
    let store = inspector.store();
    Large {
        traces,
        payload_bytes: size,
        budget_bytes: store.max_bytes(),
        store_bytes: store.bytes(),
        traces_kept: store.len(),
        evicted: store.evicted(),
        evicted_bytes: store.evicted_bytes(),
        resident_bytes: resident_bytes(),
        peak_resident_bytes: peak_resident_bytes(),
    }
}

fn pair(channels: &Channels, data: &str, n: usize) -> [Event; 2] {
    let sender = format!("{:032x}-{n}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let topic = format!("bench.t{}", n % 10);
    let code = if n.is_multiple_of(100) { 500 } else { 200 };
    let reply_channel = format!("{}.response.{sender}", channels.prefix());
    // Built at their exact size, as a payload read off the socket is.
    let envelope = |code: u16, sender: &str| {
        let mut text = String::with_capacity(data.len() + sender.len() + 40);
        text.push_str(r#"{"data":""#);
        text.push_str(data);
        text.push_str(r#"","code":"#);
        text.push_str(&code.to_string());
        text.push_str(r#","sender":""#);
        text.push_str(sender);
        text.push_str(r#""}"#);
        text
    };
    let request = envelope(200, &sender);
    let reply = envelope(code, &reply_channel);
    let now = Utc::now();
    [
        Event::Message(MessageEvent::read(
            channels,
            now,
            &channels.request(&topic),
            Arc::from(request.into_bytes()),
        )),
        Event::Message(MessageEvent::read(
            channels,
            now,
            &reply_channel,
            Arc::from(reply.into_bytes()),
        )),
    ]
}

/// Fills a store with `traces` request/reply pairs; returns it with the correlation rate
/// and the resident memory each trace added.
fn fill(channels: &Channels, data: &str, traces: usize) -> (Inspector, f64, f64) {
    let before = resident_bytes();
    // Every trace is kept: this measures what a stored trace costs, not eviction.
    let mut inspector = Inspector::new(InspectorOptions {
        capacity: traces,
        max_memory: usize::MAX,
        ..InspectorOptions::default()
    });
    let mut busy = Duration::ZERO;
    for n in 0..traces {
        let events = pair(channels, data, n);
        let started = Instant::now();
        for event in events {
            inspector.ingest(event);
        }
        busy += started.elapsed();
    }
    let after = resident_bytes();
    let rate = (traces * 2) as f64 / busy.as_secs_f64().max(f64::EPSILON);
    let per_trace = after.saturating_sub(before) as f64 / traces.max(1) as f64;
    (inspector, rate, per_trace)
}

fn run_filters(inspector: &Inspector) -> anyhow::Result<Vec<FilterRun>> {
    let expressions = [
        "topic:bench.t1*",
        "code:>=500",
        "status:error or latency:>10ms",
        "not kind:health topic:/t[0-3]$/",
        "data:\"needle\"",
    ];
    let mut runs = Vec::new();
    for expression in expressions {
        let filter: Filter = expression.parse().context("benchmark filter")?;
        let started = Instant::now();
        let matched = inspector
            .store()
            .newest_first()
            .filter(|trace| filter.matches(*trace))
            .count();
        runs.push(FilterRun {
            filter: expression.to_owned(),
            matched,
            milliseconds: started.elapsed().as_secs_f64() * 1000.0,
        });
    }
    Ok(runs)
}

async fn live(
    connection: &Connection,
    channels: &Channels,
    data: &str,
    messages: usize,
    rate: u64,
) -> anyhow::Result<Live> {
    let redis = connection.builder().redis_config();
    let (capture, mut events) =
        Capture::start(redis, channels.clone(), capture::DEFAULT_BUFFER).await?;
    let publisher = connection.builder().connect().await?;
    let pairs = messages / 2;
    let consumer = tokio::spawn(async move {
        let mut inspector = Inspector::default();
        let mut batch = Vec::with_capacity(4096);
        let mut received = 0u64;
        let mut first = None;
        let mut last = Instant::now();
        while received < (pairs * 2) as u64 {
            let got =
                tokio::time::timeout(Duration::from_secs(5), events.recv_many(&mut batch, 4096))
                    .await
                    .unwrap_or(0);
            if got == 0 {
                break;
            }
            first.get_or_insert_with(Instant::now);
            for event in batch.drain(..) {
                inspector.ingest(event);
            }
            received += got as u64;
            last = Instant::now();
        }
        let seconds = first.map_or(0.0, |first| (last - first).as_secs_f64());
        (received, seconds)
    });
    // One publisher sending a pipeline of PUBLISH every millisecond, paced to the rate,
    // so that the capture is measured at a steady load rather than in bursts.
    let commands = publisher.commands().clone();
    let started = Instant::now();
    let mut batch = Vec::new();
    let mut sent = 0usize;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while sent < pairs {
        ticker.tick().await;
        let due = if rate == 0 {
            pairs
        } else {
            let elapsed = started.elapsed().as_secs_f64();
            ((elapsed * rate as f64 / 2.0) as usize).min(pairs)
        };
        let due = due.min(sent + PIPELINE);
        for n in sent..due {
            let sender = format!("{n:032x}");
            let topic = format!("bench.live.t{}", n % 10);
            let request = format!(r#"{{"data":"{data}","code":200,"sender":"{sender}"}}"#);
            let reply_channel = channels.response(&sender.as_str().into());
            let reply = format!(r#"{{"data":"{data}","code":200,"sender":"{reply_channel}"}}"#);
            batch.push((channels.request(&topic), request));
            batch.push((reply_channel, reply));
        }
        sent = due.max(sent);
        commands.publish_all(&batch).await?;
        batch.clear();
    }
    let publish_seconds = started.elapsed().as_secs_f64();
    let (received, seconds) = consumer.await?;
    let dropped = capture.dropped();
    capture.close().await;
    publisher.shutdown().await?;
    Ok(Live {
        published: pairs * 2,
        publish_rate: (pairs * 2) as f64 / publish_seconds,
        received,
        dropped,
        seconds,
        events_per_second: received as f64 / seconds.max(f64::EPSILON),
    })
}

/// The most resident memory this process has had, from /proc (0 where there is none).
fn peak_resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// This process's resident memory, from /proc (0 where there is none).
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}
