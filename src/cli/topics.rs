//! `gilmour topics`: watch the traffic for a while, then print the per-topic figures:
//! count, rate, error share, latency quantiles, and who listens.

use super::{Connection, interrupted, parse_seconds};
use clap::Args;
use gilmour::inspect::deep::{self, DeepCapture};
use gilmour::inspect::sanitize::{clean, column};
use gilmour::inspect::stats::Summary;
use gilmour::inspect::{Capture, Inspector, Update, capture};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `gilmour topics`.
#[derive(Debug, Args)]
pub struct TopicsArgs {
    /// How long to watch, in seconds (Ctrl-C stops early and prints what was seen).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    seconds: Duration,
    /// One JSON object per topic.
    #[arg(long)]
    json: bool,
    /// Deep capture: also MONITOR Redis, to name who answered each topic's requests.
    /// MONITOR costs Redis throughput.
    #[arg(long)]
    deep: bool,
}

/// Runs `gilmour topics`.
pub async fn run(connection: &Connection, args: TopicsArgs) -> anyhow::Result<ExitCode> {
    let builder = connection.builder();
    let channels = builder.channels();
    let (capture, mut events) = Capture::start(
        builder.redis_config(),
        channels.clone(),
        capture::DEFAULT_BUFFER,
    )
    .await?;
    let (deep, mut deep_events) = if args.deep {
        match DeepCapture::start(
            builder.redis_config(),
            channels.clone(),
            deep::DEFAULT_DEEP_BUFFER,
        )
        .await
        {
            Ok((deep, events)) => (Some(deep), Some(events)),
            Err(error) => {
                eprintln!("gilmour: {error}");
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    let stop = interrupted();
    eprintln!(
        "gilmour: watching {} on {} for {:.1} s",
        capture.pattern(),
        gilmour::transport::redact_url(connection.url()),
        args.seconds.as_secs_f64()
    );
    let started = std::time::Instant::now();
    let mut inspector = Inspector::default();
    // Health pings are named after idents: they are not topics.
    let mut health: HashSet<String> = HashSet::new();
    let mut batch = Vec::with_capacity(1024);
    let mut deep_batch = Vec::with_capacity(1024);
    let deadline = tokio::time::sleep(args.seconds);
    tokio::pin!(stop, deadline);
    loop {
        tokio::select! {
            received = events.recv_many(&mut batch, 1024) => {
                if received == 0 {
                    break;
                }
                for event in batch.drain(..) {
                    if let Update::Completed(id) = inspector.ingest(event)
                        && let Some(trace) = inspector.store().get(id)
                        && trace.is_health()
                    {
                        health.insert(trace.topic.to_string());
                    }
                }
            }
            received = gilmour::inspect::deep::next_batch(deep_events.as_mut(), &mut deep_batch, 1024) => {
                if received == 0 {
                    deep_events = None;
                    continue;
                }
                for event in deep_batch.drain(..) {
                    inspector.ingest_deep(event);
                }
            }
            () = &mut deadline => break,
            () = &mut stop => break,
        }
    }
    let watched = started.elapsed().as_secs_f64().max(f64::EPSILON);
    let dropped = capture.dropped() + deep.as_ref().map_or(0, DeepCapture::dropped);
    capture.close().await;
    let summaries: Vec<Summary> = inspector
        .stats()
        .topics(chrono::Utc::now())
        .into_iter()
        .filter(|summary| !health.contains(&*summary.topic))
        .collect();
    let listeners = listeners(connection, &summaries).await;
    let mut out = std::io::stdout().lock();
    if !args.json && !summaries.is_empty() {
        writeln!(
            out,
            "{:<32} {:>7} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9}  responders",
            "topic", "count", "rate/s", "errors", "p50", "p90", "p99", "listeners"
        )?;
    }
    for summary in &summaries {
        let listening = listeners.get(&*summary.topic).copied();
        if args.json {
            writeln!(out, "{}", topic_json(summary, watched, listening))?;
        } else {
            writeln!(out, "{}", topic_line(summary, watched, listening))?;
        }
    }
    out.flush()?;
    drop(out);
    eprintln!(
        "gilmour: {} topics, {} traces in {:.1} s ({} dropped)",
        summaries.len(),
        summaries.iter().map(|summary| summary.count).sum::<u64>(),
        watched,
        dropped
    );
    Ok(ExitCode::SUCCESS)
}

/// Request listeners per topic now (`PUBSUB NUMSUB`); none when Redis does not answer
/// (the figures watched are still worth printing).
async fn listeners(connection: &Connection, summaries: &[Summary]) -> HashMap<String, usize> {
    let builder = connection.builder();
    let channels = builder.channels();
    let topics: Vec<String> = summaries
        .iter()
        .map(|summary| channels.request(&summary.topic))
        .collect();
    let counted = async {
        let engine = builder.connect().await.ok()?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let counts = if names.is_empty() {
            Vec::new()
        } else {
            engine.commands().numsub_many(&names).await.ok()?
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), engine.shutdown()).await;
        Some(counts)
    };
    let counts = tokio::time::timeout(Duration::from_secs(5), counted)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    summaries
        .iter()
        .zip(counts)
        .map(|(summary, (_, count))| (summary.topic.to_string(), count))
        .collect()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn topic_json(summary: &Summary, watched: f64, listeners: Option<usize>) -> serde_json::Value {
    json!({
        "topic": &*summary.topic,
        "count": summary.count,
        "rate": summary.count as f64 / watched,
        "errors": summary.errors,
        "error_share": summary.error_rate(),
        "p50_ms": summary.latency.map(|latency| millis(latency.p50)),
        "p90_ms": summary.latency.map(|latency| millis(latency.p90)),
        "p99_ms": summary.latency.map(|latency| millis(latency.p99)),
        "max_ms": summary.latency.map(|latency| millis(latency.max)),
        "listeners": listeners,
        "responders": summary.responders.iter()
            .map(|(name, count)| json!({"name": &**name, "count": count}))
            .collect::<Vec<_>>(),
    })
}

fn topic_line(summary: &Summary, watched: f64, listeners: Option<usize>) -> String {
    let quantile = |pick: fn(&gilmour::inspect::stats::Latency) -> Duration| {
        summary.latency.as_ref().map_or_else(
            || "-".to_owned(),
            |latency| format!("{:.2}ms", millis(pick(latency))),
        )
    };
    let responders: Vec<String> = summary
        .responders
        .iter()
        .map(|(name, count)| format!("{} ({count})", clean(name, 30)))
        .collect();
    format!(
        "{} {:>7} {:>8.2} {:>6.1}% {:>9} {:>9} {:>9} {:>9}  {}",
        column(&summary.topic, 32),
        summary.count,
        summary.count as f64 / watched,
        summary.error_rate() * 100.0,
        quantile(|latency| latency.p50),
        quantile(|latency| latency.p90),
        quantile(|latency| latency.p99),
        listeners.map_or_else(|| "-".to_owned(), |count| count.to_string()),
        responders.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilmour::inspect::sanitize::display_width;

    #[test]
    fn the_count_column_lines_up_after_cjk_and_emoji_topics() {
        let summary = |topic: &str| Summary {
            topic: topic.into(),
            count: 12,
            errors: 0,
            rate_1s: 0.0,
            rate_10s: 0.0,
            rate_60s: 0.0,
            latency: None,
            responders: Vec::new(),
        };
        let lines: Vec<String> = [
            "echo",
            "注文.作成",
            "🙂.ping",
            "注文.作成.確認.送信.完了.通知.すべて",
        ]
        .iter()
        .map(|topic| topic_line(&summary(topic), 1.0, Some(1)))
        .collect();
        let count = |line: &str| display_width(&line[..line.find(" 12 ").expect("the count")]);
        for line in &lines {
            assert_eq!(count(line), count(&lines[0]), "{lines:#?}");
        }
    }
}
