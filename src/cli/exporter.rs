//! `gilmour exporter`: Prometheus metrics from passive capture, on `/metrics`.
//!
//! It pattern-subscribes to `<prefix>.*` like `tail`, correlates into traces, and counts
//! each completed trace by topic; every few seconds it also reads the error queue's
//! length and pings the hosts of the health hash. No service is instrumented.

use super::store::StoreArgs;
use super::{Connection, interrupted, parse_seconds};
use anyhow::Context;
use clap::Args;
use gilmour::inspect::metrics::{self, Metrics, MetricsOptions};
use gilmour::inspect::services::PingOptions;
use gilmour::inspect::{Capture, Inspector, capture};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `gilmour exporter`.
#[derive(Debug, Args)]
pub struct ExporterArgs {
    /// Where to serve `/metrics` (port 0 picks a free one, printed at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    listen: SocketAddr,
    #[command(flatten)]
    metrics: MetricsArgs,
    #[command(flatten)]
    store: StoreArgs,
}

/// What the metrics count and how often the hosts and the queue are read.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct MetricsArgs {
    /// The most topics with labels of their own; traces of others count under `_other`.
    #[arg(long, default_value_t = metrics::DEFAULT_MAX_TOPICS)]
    pub max_topics: usize,
    /// Seconds between reads of the error queue's length and pings of the known hosts
    /// (0: never).
    #[arg(long, value_name = "SECS", default_value = DEFAULT_POLL, value_parser = parse_seconds)]
    pub poll: Duration,
}

/// Seconds between polls unless told.
const DEFAULT_POLL: &str = "15";

impl Default for MetricsArgs {
    /// What the command line gives without these flags.
    fn default() -> Self {
        MetricsArgs {
            max_topics: metrics::DEFAULT_MAX_TOPICS,
            poll: parse_seconds(DEFAULT_POLL).unwrap_or(Duration::from_secs(15)),
        }
    }
}

impl MetricsArgs {
    /// Starts the server and the poller; both stop when the returned guard drops.
    pub async fn start(
        &self,
        connection: &Connection,
        listen: SocketAddr,
    ) -> anyhow::Result<(Metrics, MetricsGuard)> {
        let metrics = Metrics::new(MetricsOptions {
            max_topics: self.max_topics,
        });
        let exporter = metrics::serve(listen, metrics.clone())
            .await
            .with_context(|| format!("cannot serve metrics on {listen}"))?;
        let poller = if self.poll.is_zero() {
            None
        } else {
            let engine = connection.builder().connect().await?;
            Some(tokio::spawn(metrics::poll(
                engine,
                metrics.clone(),
                self.poll,
                PingOptions::default(),
            )))
        };
        Ok((metrics, MetricsGuard { exporter, poller }))
    }
}

/// The running `/metrics` server and its poller.
pub struct MetricsGuard {
    exporter: metrics::Exporter,
    poller: Option<tokio::task::JoinHandle<()>>,
}

impl MetricsGuard {
    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.exporter.address()
    }
}

impl Drop for MetricsGuard {
    fn drop(&mut self) {
        if let Some(poller) = &self.poller {
            poller.abort();
        }
    }
}

/// Runs `gilmour exporter` until Ctrl-C or SIGTERM.
pub async fn run(connection: &Connection, args: ExporterArgs) -> anyhow::Result<ExitCode> {
    let builder = connection.builder();
    let channels = builder.channels();
    let mut inspector = Inspector::new(args.store.options()?);
    let (capture, mut events) = Capture::start(
        builder.redis_config(),
        channels.clone(),
        capture::DEFAULT_BUFFER,
    )
    .await?;
    let (metrics, guard) = args.metrics.start(connection, args.listen).await?;
    let stop = interrupted();
    eprintln!(
        "gilmour: serving metrics on http://{}/metrics from {} on {} (Ctrl-C to stop)",
        guard.address(),
        capture.pattern(),
        gilmour::transport::redact_url(connection.url()),
    );
    let mut batch = Vec::with_capacity(1024);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            received = events.recv_many(&mut batch, 1024) => {
                if received == 0 {
                    break;
                }
                for event in batch.drain(..) {
                    let update = inspector.ingest(event);
                    metrics.apply(&inspector, update);
                }
                metrics.sync(&inspector, capture.dropped());
            }
            _ = ticker.tick() => {
                let mut updates = Vec::new();
                inspector.sweep(chrono::Utc::now(), |update| updates.push(update));
                for update in updates {
                    metrics.apply(&inspector, update);
                }
                metrics.sync(&inspector, capture.dropped());
            }
            () = &mut stop => break,
        }
    }
    capture.close().await;
    drop(guard);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        metrics: MetricsArgs,
    }

    #[test]
    fn the_default_is_what_no_flags_give() {
        let parsed = Flags::try_parse_from(["gilmour"]).expect("no flags");
        assert_eq!(parsed.metrics, MetricsArgs::default());
    }
}
